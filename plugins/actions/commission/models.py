"""Commission bookings ("Maklerbuchungen"): what a sales partner earns, and its reversals.

A booking is an accounting record: it is never changed or deleted. Taking one back adds a
counter-booking (``kind`` reversal, the negative amount, ``reverses_id`` pointing at the
original). A campaign run books at most once per ledger row: ``(run_id, ledger_key, kind)``
is unique, and so is ``reverses_id``, so no booking is reversed twice.

The table is declared on the core's ``Base`` and comes from the action's own Alembic branch
(``migrations``), which took it over from the core's revisions.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, enum_column

AMOUNT_DIGITS, AMOUNT_PLACES = 14, 2


class BookingKind(enum.StrEnum):
    BOOKING = "booking"
    REVERSAL = "reversal"


class CommissionBooking(Base):
    """One broker booking: key (commission type), text, date, amount, currency, paying
    company and VAT flag, with the campaign run and the record it was made for."""

    __tablename__ = "commission_bookings"
    __table_args__ = (UniqueConstraint("run_id", "ledger_key", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BookingKind] = mapped_column(
        enum_column(BookingKind, "booking_kind"), default=BookingKind.BOOKING
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    ledger_key: Mapped[str] = mapped_column(String(200))
    """The key of the run's ledger row the booking was made for (e.g. "contracts:17")."""
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_partners.id", ondelete="SET NULL"), index=True
    )
    partner_number: Mapped[str | None] = mapped_column(String(20))
    """Kept beside the id, so the booking still names its partner if the partner is deleted."""
    booking_key: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    booking_date: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(AMOUNT_DIGITS, AMOUNT_PLACES))
    currency: Mapped[str] = mapped_column(String(3))
    basis: Mapped[Decimal | None] = mapped_column(Numeric(AMOUNT_DIGITS, AMOUNT_PLACES))
    """The record's value a rate was applied to (empty for a fixed amount)."""
    rate_percent: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    paying_company: Mapped[str] = mapped_column(String(200))
    vat: Mapped[bool]
    """True when the commission is subject to VAT."""
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("commission_bookings.id"), unique=True
    )
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
