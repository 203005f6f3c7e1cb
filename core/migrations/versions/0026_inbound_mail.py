"""inbound mail: what came back to the mailbox (bounces, unsubscribe mails, replies), and the
contact's e-mail address a bounce showed undeliverable

Revision ID: 0026_inbound_mail
Revises: 0025_sms_feedback
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_inbound_mail"
down_revision: str | None = "0025_sms_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN on both backends: a batch would copy the contacts table on SQLite
    op.add_column("contacts", sa.Column("email_undeliverable", sa.String(length=254)))
    op.create_table(
        "inbound_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_inbound_mails_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_inbound_mails_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint("digest", name=op.f("uq_inbound_mails_digest")),
    )
    op.create_index("ix_inbound_mails_kind_id", "inbound_mails", ["kind", "id"])
    op.create_index("ix_inbound_mails_contact_id_kind", "inbound_mails", ["contact_id", "kind"])
    op.create_index("ix_inbound_mails_run_id", "inbound_mails", ["run_id"])


def downgrade() -> None:
    op.drop_table("inbound_mails")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch would copy the contacts table and
    # lose its expression indexes, which the older revisions' downgrades drop by name
    op.drop_column("contacts", "email_undeliverable")
