"""The commission bookings of a campaign run: listing them with totals, and reversing them.

The "commission" action books one amount per recipient of a run (``CommissionBooking``).
Accounting records are never changed or deleted, so taking a run's bookings back adds one
counter-booking per booking: the negative amount, the same partner, key, currency and
company, dated the day of the reversal and pointing at its original. A run is reversed as
a whole and once only; the unique ``reverses_id`` makes a second reversal impossible even
when two users start one at the same moment. The web panel and ``campaign commission``
call these functions; the caller's transaction commits what they add.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, cast, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.documents.templating import LOCAL_TIME, format_date
from core.models import ACTIVE_RUN_STATES, Run
from core.models.base import UTCDateTime
from plugins.actions.commission.models import AMOUNT_PLACES, BookingKind, CommissionBooking

REVERSAL_PREFIX = "Storno: "
"""Put before the original text of a counter-booking, as accountants label reversals."""
TEXT_LENGTH = CommissionBooking.__table__.c.text.type.length


class ReversalError(ValueError):
    """A run's bookings cannot be reversed; the message says why."""


@dataclass(frozen=True)
class CurrencyTotal:
    """What a run booked and reversed in one currency."""

    currency: str
    bookings: int
    booked: Decimal
    reversals: int
    reversed: Decimal

    @property
    def net(self) -> Decimal:
        return self.booked + self.reversed


@dataclass(frozen=True)
class Reversal:
    """Who reversed a run's bookings, when, with how many counter-bookings on which date."""

    run_id: int
    count: int
    reversed_by: str | None
    reversed_at: datetime
    booking_date: date


def run_bookings(
    session: Session, run_id: int, *, after_id: int = 0, limit: int | None = None
) -> Sequence[CommissionBooking]:
    """A run's bookings and counter-bookings in the order they were made; ``after_id`` and
    ``limit`` page through a large run."""
    query = (
        select(CommissionBooking)
        .where(CommissionBooking.run_id == run_id, CommissionBooking.id > after_id)
        .order_by(CommissionBooking.id)
    )
    return session.scalars(query.limit(limit) if limit else query).all()


def run_totals(session: Session, run_id: int) -> list[CurrencyTotal]:
    """Count and sum per currency of a run's bookings and of their reversals.

    The sums are taken in whole cents, so SQLite, which keeps ``NUMERIC`` as floating
    point, adds as exactly as PostgreSQL.
    """
    cents = cast(func.round(CommissionBooking.amount * 10**AMOUNT_PLACES), BigInteger)
    rows = session.execute(
        select(
            CommissionBooking.currency,
            CommissionBooking.kind,
            func.count(),
            func.sum(cents),
        )
        .where(CommissionBooking.run_id == run_id)
        .group_by(CommissionBooking.currency, CommissionBooking.kind)
        .order_by(CommissionBooking.currency)
    ).all()
    per_currency: dict[str, dict[BookingKind, tuple[int, Decimal]]] = {}
    for currency, kind, count, total in rows:
        amount = Decimal(int(total)).scaleb(-AMOUNT_PLACES)
        per_currency.setdefault(currency, {})[BookingKind(kind)] = (count, amount)
    nothing = (0, Decimal(0).scaleb(-AMOUNT_PLACES))
    return [
        CurrencyTotal(
            currency,
            *kinds.get(BookingKind.BOOKING, nothing),
            *kinds.get(BookingKind.REVERSAL, nothing),
        )
        for currency, kinds in per_currency.items()
    ]


def run_reversal(session: Session, run_id: int) -> Reversal | None:
    """The reversal of a run's bookings, or None while they stand."""
    row = session.execute(
        select(
            CommissionBooking.created_by,
            CommissionBooking.created_at,
            CommissionBooking.booking_date,
            func.count(),
        )
        .where(
            CommissionBooking.run_id == run_id,
            CommissionBooking.kind == BookingKind.REVERSAL,
        )
        .group_by(
            CommissionBooking.created_by,
            CommissionBooking.created_at,
            CommissionBooking.booking_date,
        )
    ).first()
    if row is None:
        return None
    reversed_by, reversed_at, booking_date, count = row
    return Reversal(run_id, count, reversed_by, reversed_at, booking_date)


def reverse_run(
    session: Session,
    run_id: int,
    *,
    by: str,
    now: datetime | None = None,
    booking_date: date | None = None,
) -> Reversal:
    """Counter-book every booking of a run, in one statement; refused for a run still in
    progress, a run without bookings and a run reversed before.

    ``booking_date`` defaults to the day of ``now`` in German time.
    """
    now = now or utcnow()
    booking_date = booking_date or now.astimezone(LOCAL_TIME).date()
    run = session.get(Run, run_id)
    if run is None:
        raise ReversalError(f"no run with id {run_id}")
    if run.state in ACTIVE_RUN_STATES:
        raise ReversalError(
            f"run #{run.number} is {run.state}; its bookings can be reversed once it has ended"
        )
    earlier = run_reversal(session, run_id)
    if earlier is not None:
        raise ReversalError(_reversed_before(run, earlier))
    count = session.scalar(
        select(func.count()).where(
            CommissionBooking.run_id == run_id, CommissionBooking.kind == BookingKind.BOOKING
        )
    )
    if not count:
        raise ReversalError(f"run #{run.number} has no commission bookings to reverse")
    original = CommissionBooking.__table__.c
    columns = [
        "kind",
        "campaign_id",
        "run_id",
        "entity",
        "entity_id",
        "ledger_key",
        "partner_id",
        "partner_number",
        "booking_key",
        "text",
        "booking_date",
        "amount",
        "currency",
        "basis",
        "rate_percent",
        "paying_company",
        "vat",
        "reverses_id",
        "created_by",
        "created_at",
    ]
    counter_bookings = select(
        literal(BookingKind.REVERSAL.value),
        original.campaign_id,
        original.run_id,
        original.entity,
        original.entity_id,
        original.ledger_key,
        original.partner_id,
        original.partner_number,
        original.booking_key,
        func.substr(literal(REVERSAL_PREFIX) + original.text, 1, TEXT_LENGTH),
        literal(booking_date, Date()),
        -original.amount,
        original.currency,
        original.basis,
        original.rate_percent,
        original.paying_company,
        original.vat,
        original.id,
        literal(by),
        literal(now, UTCDateTime()),
    ).where(original.run_id == run_id, original.kind == BookingKind.BOOKING.value)
    try:
        with session.begin_nested():
            session.execute(
                insert(CommissionBooking.__table__).from_select(columns, counter_bookings)
            )
    except IntegrityError:  # another reversal of the same bookings committed first
        raise ReversalError(_reversed_before(run, run_reversal(session, run_id))) from None
    return Reversal(run_id, count, by, now, booking_date)


def _reversed_before(run: Run, reversal: Reversal | None) -> str:
    when = (
        f" on {format_date(reversal.reversed_at)} by {reversal.reversed_by or 'unknown'}"
        if reversal
        else ""
    )
    return f"the bookings of run #{run.number} were reversed{when}; a run is reversed once only"
