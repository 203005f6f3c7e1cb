"""Files in and out: the provider's "raw values for machines" switch on the extraction file,
and the number sequence new contact numbers come from

Revision ID: 0018_files_hardening
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_files_hardening"
down_revision: str | None = "0017_books"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_processes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("raw_values", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "number_sequences",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_number_sequences")),
    )


def downgrade() -> None:
    op.drop_table("number_sequences")
    with op.batch_alter_table("service_processes", schema=None) as batch_op:
        batch_op.drop_column("raw_values")
