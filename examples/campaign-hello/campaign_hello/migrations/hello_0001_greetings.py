"""hello_greetings: one row per greeting the greeting_file action wrote

Revision ID: hello_0001_greetings
Revises:
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hello_0001_greetings"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("hello",)
depends_on: str | Sequence[str] | None = "0021_run_confirmation"


def upgrade() -> None:
    op.create_table(
        "hello_greetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("line", sa.String(length=500), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_hello_greetings_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hello_greetings"),
    )
    op.create_index("ix_hello_greetings_run_id", "hello_greetings", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_hello_greetings_run_id", table_name="hello_greetings")
    op.drop_table("hello_greetings")
