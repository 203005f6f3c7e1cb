"""Two tables the core's revisions created for a single plugin each, as those revisions left
them, and their handover to the owner's own Alembic branch: ``commission_bookings``
(revision 0005) to the commission action (``plugins/actions/commission/migrations``),
``inbound_mails`` (revision 0026) to the inboundMail workflow
(``plugins/workflows/inbound_mail/migrations``).

Revision ``0031_owner_tables_handover`` gives each table up and its owner's first revision
takes it over; going down, each undoes the other. Each table is handed over on its own: the
two belong to different plugins and neither refers to the other, so the rows of one say
nothing about the other. Giving up drops a table only where it is empty: one that holds
rows keeps them, whether its plugin is enabled or not. Taking over creates the table where
it is missing, so one that kept its rows is adopted as it is.

Frozen like the revisions that use it: a later change to a table belongs in a new revision
of its owner's branch, never here.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op


def give_up(name: str) -> None:
    """Drop the table if it is there and empty; one with rows stays as it is."""
    if _present(name) and not _has_rows(name):
        op.drop_table(name)


def take_over(name: str) -> None:
    """Create the table where it is missing; an existing one is adopted with its rows."""
    if not _present(name):
        TABLES[name]()


def _present(name: str) -> bool:
    return name in sa.inspect(op.get_bind()).get_table_names()


def _has_rows(name: str) -> bool:
    query = sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)
    return op.get_bind().execute(query).first() is not None


def _create_commission_bookings() -> None:
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
    for column in ("campaign_id", "partner_id"):
        op.create_index(op.f(f"ix_commission_bookings_{column}"), "commission_bookings", [column])


def _create_inbound_mails() -> None:
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


TABLES: dict[str, Callable[[], None]] = {
    "commission_bookings": _create_commission_bookings,
    "inbound_mails": _create_inbound_mails,
}
"""The handed-over tables, each with what creates it as the core's revisions left it."""
