"""commission bookings of campaign runs and their reversals

Revision ID: 0005
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commission_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "booking",
                "reversal",
                name="booking_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("ledger_key", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("partner_number", sa.String(length=20), nullable=True),
        sa.Column("booking_key", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("basis", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("rate_percent", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("paying_company", sa.String(length=200), nullable=False),
        sa.Column("vat", sa.Boolean(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_commission_bookings_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["sales_partners.id"],
            name=op.f("fk_commission_bookings_partner_id_sales_partners"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["commission_bookings.id"],
            name=op.f("fk_commission_bookings_reverses_id_commission_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_commission_bookings_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_bookings")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_commission_bookings_reverses_id")),
        sa.UniqueConstraint(
            "run_id",
            "ledger_key",
            "kind",
            name=op.f("uq_commission_bookings_run_id_ledger_key_kind"),
        ),
    )
    with op.batch_alter_table("commission_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_bookings_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_commission_bookings_partner_id"), ["partner_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commission_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_bookings_partner_id"))
        batch_op.drop_index(batch_op.f("ix_commission_bookings_campaign_id"))
    op.drop_table("commission_bookings")
