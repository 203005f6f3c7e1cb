"""database_store_chunks: the bytes of the database document store, in chunks

Revision ID: database_store_0001_chunks
Revises:
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "database_store_0001_chunks"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("database_store",)
depends_on: str | Sequence[str] | None = "0021_run_confirmation"


def upgrade() -> None:
    op.create_table(
        "database_store_chunks",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("reference", "number", name="pk_database_store_chunks"),
    )


def downgrade() -> None:
    op.drop_table("database_store_chunks")
