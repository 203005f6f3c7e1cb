"""webhook tables handover: the outgoing webhooks' tables go to the webhooks plugin's branch

The core's revision 0027 created the tables of the outgoing webhooks (webhooks, their
deliveries and attempts, the allowed internal hosts); from here on the plugin's branch
(``plugins/webhooks/migrations``) owns them, and with the plugin disabled a new database has
none of them. Where all of them are empty they are dropped and the plugin's first revision
creates them again; where any holds a row they stay as they are, and the plugin's first
revision adopts them (``core.migrations.webhook_tables``).

Revision ID: 0032_webhook_tables_handover
Revises: 0031_owner_tables_handover
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from core.migrations.webhook_tables import give_up, take_over

revision: str = "0032_webhook_tables_handover"
down_revision: str | None = "0031_owner_tables_handover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    give_up()


def downgrade() -> None:
    take_over()
