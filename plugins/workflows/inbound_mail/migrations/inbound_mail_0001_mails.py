"""inbound mails: created, or adopted from the core's revisions

The first revision of the inboundMail workflow's own branch. On a database whose handover
(``0031_owner_tables_handover``) dropped ``inbound_mails``, or that never had it, it creates
the table; on one that kept it because it held mail, it takes it over as it is. Going down
gives it back to the core the same way: dropped where empty, kept with its rows otherwise.

Revision ID: inbound_mail_0001_mails
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from core.migrations.owner_tables import give_up, take_over

revision: str = "inbound_mail_0001_mails"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("inbound_mail",)
depends_on: str | Sequence[str] | None = "0031_owner_tables_handover"

TABLE = "inbound_mails"


def upgrade() -> None:
    take_over(TABLE)


def downgrade() -> None:
    give_up(TABLE)
