"""indexes for the panel's long lists: contacts by name and searched by the start of their
names, number, postcode, city and e-mail; the archive newest first and by report

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

SEARCH_PREFIX_FIELDS = (
    "number",
    "last_name",
    "first_name",
    "company_name",
    "postcode",
    "city",
    "email",
)

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_last_name")
        batch_op.create_index(
            "ix_contacts_last_name_first_name_id", ["last_name", "first_name", "id"], unique=False
        )
    pattern_ops = " text_pattern_ops" if op.get_bind().dialect.name == "postgresql" else ""
    for name in SEARCH_PREFIX_FIELDS:
        op.execute(
            f"CREATE INDEX ix_contacts_lower_{name} ON contacts (lower({name}){pattern_ops})"
        )
    with op.batch_alter_table("archived_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_archived_documents_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_archived_documents_report_id"), ["report_id"], unique=False
        )


def downgrade() -> None:
    for name in SEARCH_PREFIX_FIELDS:
        op.execute(f"DROP INDEX ix_contacts_lower_{name}")
    with op.batch_alter_table("archived_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archived_documents_report_id"))
        batch_op.drop_index("ix_archived_documents_created_at_id")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_last_name_first_name_id")
        batch_op.create_index("ix_contacts_last_name", ["last_name"], unique=False)
