"""contact events remember the run they came from (an unsubscribe link names its run)

Revision ID: 0022_contact_event_run
Revises: 0021_run_confirmation
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_contact_event_run"
down_revision: str | None = "0021_run_confirmation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_contact_events_run_id_runs"),
            "runs",
            ["run_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_contact_events_run_id", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_events", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_events_run_id")
        batch_op.drop_constraint(batch_op.f("fk_contact_events_run_id_runs"), type_="foreignkey")
        batch_op.drop_column("run_id")
