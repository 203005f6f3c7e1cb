"""deliveries.confirmed_count: how many recipients a person confirmed a delivery's start for

A start confirmed before the planned start lets the delivery start by itself at that time
for at most this many; its run waits for a new confirmation if it would reach more.

Revision ID: processes_0002_confirmed_count
Revises: processes_0001_tables
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "processes_0002_confirmed_count"
down_revision: str | None = "processes_0001_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("confirmed_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("confirmed_count")
