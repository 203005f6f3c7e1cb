"""owner tables handover: the commission bookings and the inbound mails go to the branches of
the plugins that use them

The core's revisions 0005 and 0026 created ``commission_bookings`` (the commission action's)
and ``inbound_mails`` (the inboundMail workflow's); from here on each plugin's own branch
owns its table, and with the plugin disabled a new database does not have it. Each table is
decided on its own: dropped where it is empty, and its owner's first revision creates it
again; kept as it is where it holds a row, and its owner's first revision adopts it
(``core.migrations.owner_tables``).

Revision ID: 0031_owner_tables_handover
Revises: 0030_stored_messages
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from core.migrations.owner_tables import TABLES, give_up, take_over

revision: str = "0031_owner_tables_handover"
down_revision: str | None = "0030_stored_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name in TABLES:
        give_up(name)


def downgrade() -> None:
    for name in TABLES:
        take_over(name)
