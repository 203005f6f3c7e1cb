"""indexes for the panel's process lists: deliveries by state, a user's notifications,
pending approvals

Revision ID: 0013
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_state_id", "deliveries", ["state", "id"], unique=False)
    op.create_index("ix_notifications_user_id_id", "notifications", ["user_id", "id"], unique=False)
    op.create_index("ix_approvals_state", "approvals", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_approvals_state", table_name="approvals")
    op.drop_index("ix_notifications_user_id_id", table_name="notifications")
    op.drop_index("ix_deliveries_state_id", table_name="deliveries")
