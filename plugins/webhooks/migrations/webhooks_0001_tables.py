"""the webhook tables: created, or adopted from the core's revisions

The first revision of the webhooks plugin's own branch. On a database whose handover
(``0032_webhook_tables_handover``) dropped the tables, or that never had them, it creates
them; on one that kept them because they held data, it takes them over as they are. Going
down gives them back to the core the same way: dropped where all are empty, kept with their
rows otherwise.

Revision ID: webhooks_0001_tables
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from core.migrations.webhook_tables import give_up, take_over

revision: str = "webhooks_0001_tables"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("webhooks",)
depends_on: str | Sequence[str] | None = "0032_webhook_tables_handover"


def upgrade() -> None:
    take_over()


def downgrade() -> None:
    give_up()
