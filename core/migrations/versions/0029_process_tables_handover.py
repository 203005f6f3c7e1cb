"""process tables handover: the campaign-process bundle's tables go to its own branch

The core's revisions 0008 to 0028 created the bundle's tables (plans, programs, tasks,
budgets, providers, stocks, deliveries, approvals, templates, ...); from here on the bundle's
branch (``plugins/processes/migrations``) owns them, and with the bundle disabled a new
database has none of them. Where all of them are empty they are dropped, with the core's
foreign keys to them, and the bundle's first revision creates them again; where any holds
a row they stay as they are, and the bundle's first revision adopts them
(``core.migrations.process_tables``).

Revision ID: 0029_process_tables_handover
Revises: 0028_workflow_settings
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from core.migrations.process_tables import give_up, take_over

revision: str = "0029_process_tables_handover"
down_revision: str | None = "0028_workflow_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    give_up()


def downgrade() -> None:
    take_over()
