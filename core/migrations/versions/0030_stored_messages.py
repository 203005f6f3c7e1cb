"""stored messages: notifications, workflow log lines and audit summaries as message ids
with parameters, rendered in the reader's language (core.messages.StoredText)

Revision ID: 0030_stored_messages
Revises: 0029_process_tables_handover
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030_stored_messages"
down_revision: str | None = "0029_process_tables_handover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
COLUMNS = {
    "notifications": ("subject_message", "body_message"),
    "workflow_runs": ("log_messages",),
    "audit_log": ("summary_message",),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, JSON, nullable=True))


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
