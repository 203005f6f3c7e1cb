"""consent rules: campaigns' service communication flag, contact events, a contact's runs

Revision ID: 0020_consent_rules
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_consent_rules"
down_revision: str | None = "0019_chunk_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "service_communication", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )

    op.create_table(
        "contact_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=True),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.Boolean(), nullable=True),
        sa.Column("new_value", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_events")),
    )
    with op.batch_alter_table("contact_events", schema=None) as batch_op:
        batch_op.create_index("ix_contact_events_contact_id_at", ["contact_id", "at"], unique=False)

    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_run_items_entity_entity_id", ["entity", "entity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("run_items", schema=None) as batch_op:
        batch_op.drop_index("ix_run_items_entity_entity_id")

    with op.batch_alter_table("contact_events", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_events_contact_id_at")
    op.drop_table("contact_events")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("service_communication")
