"""run files: a run's collection PDF, manifest, extraction files and previews in a document store

Revision ID: 0023_run_files
Revises: 0022_contact_event_run
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_run_files"
down_revision: str | None = "0022_contact_event_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("store_ref", sa.String(length=400), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_files_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_files")),
        sa.UniqueConstraint("run_id", "name", name=op.f("uq_run_files_run_id_name")),
    )
    op.create_index(op.f("ix_run_files_run_id"), "run_files", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_run_files_run_id"), table_name="run_files")
    op.drop_table("run_files")
