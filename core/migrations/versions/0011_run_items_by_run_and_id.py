"""run items by run and id, for the panel's per-recipient results

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_run_items_run_id_id", "run_items", ["run_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_run_items_run_id_id", table_name="run_items")
