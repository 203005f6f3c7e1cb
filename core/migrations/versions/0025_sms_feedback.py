"""delivery receipts on the ledger rows, and channel events (replies, bounces)

Revision ID: 0025_sms_feedback
Revises: 0024_api_tokens
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_sms_feedback"
down_revision: str | None = "0024_api_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("delivery_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("billed_on_delivery", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_run_items_reference", ["reference"], unique=False)
    op.create_table(
        "channel_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_channel_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_channel_events_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_events")),
    )
    op.create_index("ix_channel_events_contact_id_at", "channel_events", ["contact_id", "at"])
    op.create_index("ix_channel_events_run_id", "channel_events", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_events_run_id", table_name="channel_events")
    op.drop_index("ix_channel_events_contact_id_at", table_name="channel_events")
    op.drop_table("channel_events")
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.drop_index("ix_run_items_reference")
        batch_op.drop_column("billed_on_delivery")
        batch_op.drop_column("delivery_at")
        batch_op.drop_column("delivery")
