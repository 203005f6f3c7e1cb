"""hourly limit: at most so many sends of a campaign in any hour

Revision ID: 0034_hourly_limit
Revises: 0033_sending_window
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034_hourly_limit"
down_revision: str | None = "0033_sending_window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hourly_limit", sa.Integer(), nullable=True))
    op.create_table(
        "hourly_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_hourly_claims_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hourly_claims")),
    )
    op.create_index(
        "ix_hourly_claims_campaign_id_claimed_at",
        "hourly_claims",
        ["campaign_id", "claimed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_hourly_claims_campaign_id_claimed_at", table_name="hourly_claims")
    op.drop_table("hourly_claims")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("hourly_limit")
