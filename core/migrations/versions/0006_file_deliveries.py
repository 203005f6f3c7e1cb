"""file_deliveries: the record of files delivered to upload targets

Revision ID: 0006
Revises: 0012
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "file_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=63), nullable=False),
        sa.Column("remote_name", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "claimed",
                "done",
                "failed",
                "unclear",
                name="file_delivery_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "manifest",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("file_location", sa.Text(), nullable=True),
        sa.Column("manifest_location", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_file_deliveries_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_file_deliveries_key")),
    )
    with op.batch_alter_table("file_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_deliveries_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("file_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_deliveries_run_id"))

    op.drop_table("file_deliveries")
