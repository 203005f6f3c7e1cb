"""workflow settings: a workflow's own settings, saved on the technical workflows page

Revision ID: 0028_workflow_settings
Revises: 0027_webhooks
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028_workflow_settings"
down_revision: str | None = "0027_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("workflow_schedules") as batch:
        batch.add_column(sa.Column("settings", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_schedules") as batch:
        batch.drop_column("settings")
