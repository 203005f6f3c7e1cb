"""A run's commission bookings: listing, exact totals, reversal once only, and the keys that make
a booking exactly-once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from core.models import Campaign, Run, RunState, SalesPartner
from plugins.actions.commission.bookings import (
    CurrencyTotal,
    Reversal,
    ReversalError,
    reverse_run,
    run_bookings,
    run_reversal,
    run_totals,
)
from plugins.actions.commission.models import CommissionBooking

from waiting import DEADLINE

BOOKED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REVERSED_AT = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
"""Half past midnight on New Year's Day in Germany."""


@pytest.fixture
def booked(database):
    """A finished run of a commission campaign with three bookings for one partner."""
    with database.session() as session:
        partner = SalesPartner(number="VP-1001", name="Anna Berger")
        campaign = Campaign(name="Provision Q4", datasource="query", action="commission")
        session.add_all([partner, campaign])
        session.flush()
        run = Run(campaign_id=campaign.id, number=1, state=RunState.COMPLETED, config={})
        session.add(run)
        session.flush()
        add_bookings(
            session,
            run,
            partner,
            [("EUR", "12.53"), ("EUR", "0.10"), ("CHF", "19.99")],
        )
        return run.id


def add_bookings(session, run, partner, amounts, text="Abschlussprovision {}", start=1) -> None:
    session.execute(
        insert(CommissionBooking),
        [
            {
                "campaign_id": run.campaign_id,
                "run_id": run.id,
                "entity": "contracts",
                "entity_id": index,
                "ledger_key": f"contracts:{index}",
                "partner_id": partner.id,
                "partner_number": partner.number,
                "booking_key": "AP",
                "text": text.format(index),
                "booking_date": date(2026, 11, 2),
                "amount": Decimal(amount),
                "currency": currency,
                "paying_company": "Rheintal Versicherung AG",
                "vat": False,
                "created_by": "anna",
                "created_at": BOOKED_AT,
            }
            for index, (currency, amount) in enumerate(amounts, start=start)
        ],
    )


def test_a_runs_bookings_are_listed_in_order_and_page_by_page(database, booked):
    with database.session() as session:
        everything = run_bookings(session, booked)
        assert [(b.ledger_key, b.amount, b.currency) for b in everything] == [
            ("contracts:1", Decimal("12.53"), "EUR"),
            ("contracts:2", Decimal("0.10"), "EUR"),
            ("contracts:3", Decimal("19.99"), "CHF"),
        ]
        first_page = run_bookings(session, booked, limit=2)
        rest = run_bookings(session, booked, after_id=first_page[-1].id, limit=2)
        assert [b.id for b in [*first_page, *rest]] == [b.id for b in everything]
        assert run_bookings(session, booked + 1) == []


def test_totals_per_currency_add_up_to_the_cent(database, booked):
    with database.session() as session:
        run = session.get(Run, booked)
        partner = session.scalar(select(SalesPartner))
        many = [("EUR", "0.10")] * 997 + [("EUR", "0.01")]
        add_bookings(session, run, partner, many, start=4)
        totals = run_totals(session, booked)
    assert totals == [
        CurrencyTotal("CHF", 1, Decimal("19.99"), 0, Decimal("0.00")),
        CurrencyTotal("EUR", 1000, Decimal("112.34"), 0, Decimal("0.00")),
    ]
    assert [str(total.net) for total in totals] == ["19.99", "112.34"]


def test_a_reversal_counter_books_every_booking_and_keeps_the_originals(database, booked):
    with database.session() as session:
        reversal = reverse_run(session, booked, by="jörg", now=REVERSED_AT)
    assert reversal == Reversal(booked, 3, "jörg", REVERSED_AT, date(2027, 1, 1))
    with database.session() as session:
        bookings = run_bookings(session, booked)
        originals, counter = bookings[:3], bookings[3:]
        assert [(b.kind, b.amount, b.reverses_id) for b in originals] == [
            ("booking", Decimal("12.53"), None),
            ("booking", Decimal("0.10"), None),
            ("booking", Decimal("19.99"), None),
        ]
        assert [(b.kind, b.amount, b.currency, b.reverses_id) for b in counter] == [
            ("reversal", Decimal("-12.53"), "EUR", originals[0].id),
            ("reversal", Decimal("-0.10"), "EUR", originals[1].id),
            ("reversal", Decimal("-19.99"), "CHF", originals[2].id),
        ]
        first = counter[0]
        assert first.text == "Storno: Abschlussprovision 1"
        assert (first.booking_date, first.created_by, first.created_at) == (
            date(2027, 1, 1),
            "jörg",
            REVERSED_AT,
        )
        assert (first.partner_id, first.partner_number, first.booking_key) == (
            originals[0].partner_id,
            "VP-1001",
            "AP",
        )
        assert (first.campaign_id, first.run_id, first.entity, first.entity_id) == (
            originals[0].campaign_id,
            booked,
            "contracts",
            1,
        )
        assert (first.ledger_key, first.paying_company, first.vat) == (
            "contracts:1",
            "Rheintal Versicherung AG",
            False,
        )
        assert run_reversal(session, booked) == reversal
        assert [
            (t.currency, t.reversals, t.reversed, t.net) for t in run_totals(session, booked)
        ] == [
            ("CHF", 1, Decimal("-19.99"), Decimal("0.00")),
            ("EUR", 2, Decimal("-12.63"), Decimal("0.00")),
        ]


def test_a_counter_bookings_text_is_cut_to_the_column(database, booked):
    with database.session() as session:
        run = session.get(Run, booked)
        session.execute(delete(CommissionBooking))
        add_bookings(session, run, session.scalar(select(SalesPartner)), [("EUR", "5")], "x" * 500)
        reverse_run(session, booked, by="anna", booking_date=date(2027, 2, 1))
    with database.session() as session:
        counter = run_bookings(session, booked)[1]
    assert counter.text == "Storno: " + "x" * 492
    assert counter.booking_date == date(2027, 2, 1)


def test_a_run_is_reversed_once_only(database, booked):
    with database.session() as session:
        reverse_run(session, booked, by="jörg", now=REVERSED_AT)
    with database.session() as session, pytest.raises(ReversalError) as caught:
        reverse_run(session, booked, by="anna")
    assert str(caught.value) == (
        "the bookings of run #1 were reversed on 01.01.2027 by jörg; a run is reversed once only"
    )
    with database.session() as session:
        assert len(run_bookings(session, booked)) == 6


def test_two_reversals_at_the_same_moment_make_one(database, booked):
    """The first holds its transaction open while the second starts; the second waits for the
    unique key (or finds the first's reversal) and is refused with the same message."""
    inserted, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        with database.session() as session:
            outcomes["first"] = reverse_run(session, booked, by="jörg", now=REVERSED_AT)
            inserted.set()
            release.wait(DEADLINE)

    def second() -> None:
        inserted.wait(DEADLINE)
        try:
            with database.session() as session:
                outcomes["second"] = reverse_run(session, booked, by="anna")
        except ReversalError as exc:
            outcomes["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inserted.wait(DEADLINE)
    threading.Timer(0.5, release.set).start()  # the second is waiting by then, or refused
    for thread in threads:
        thread.join(DEADLINE)
    assert isinstance(outcomes["first"], Reversal)
    assert isinstance(outcomes["second"], ReversalError)
    assert "a run is reversed once only" in str(outcomes["second"])
    with database.session() as session:
        assert run_reversal(session, booked).count == 3
        assert len(run_bookings(session, booked)) == 6


@pytest.mark.parametrize(
    ("state", "bookings", "message"),
    [
        (
            RunState.RUNNING,
            True,
            "run #1 is running; its bookings can be reversed once it has ended",
        ),
        (RunState.FINISHING, True, "run #1 is finishing; its bookings can be reversed once"),
        (RunState.COMPLETED, False, "run #1 has no commission bookings to reverse"),
    ],
)
def test_a_run_in_progress_or_without_bookings_is_not_reversed(
    database, booked, state, bookings, message
):
    with database.session() as session:
        session.get(Run, booked).state = state
        if not bookings:
            session.execute(delete(CommissionBooking))
    with database.session() as session, pytest.raises(ReversalError, match=message):
        reverse_run(session, booked, by="anna")
    with database.session() as session:
        assert run_reversal(session, booked) is None
        with pytest.raises(ReversalError, match="no run with id 999"):
            reverse_run(session, 999, by="anna")


def test_the_keys_refuse_a_second_booking_for_a_ledger_row_and_a_second_reversal(database, booked):
    with database.session() as session:
        reverse_run(session, booked, by="anna")
    with database.session() as session:
        original = run_bookings(session, booked)[0]
        values = {
            column.key: getattr(original, column.key)
            for column in CommissionBooking.__table__.columns
            if column.key != "id"
        }
    for duplicate in (
        {},  # the same ledger row of the same run
        {"ledger_key": "contracts:99", "kind": "reversal", "reverses_id": original.id},
    ):
        with pytest.raises(IntegrityError), database.session() as session:
            session.execute(insert(CommissionBooking), [values | duplicate])
    with database.session() as session:
        assert len(run_bookings(session, booked)) == 6


def test_bookings_outlive_their_campaign_and_their_partner(database, booked):
    with database.session() as session:
        session.execute(delete(Campaign))
        session.execute(delete(SalesPartner))
    with database.session() as session:
        kept = session.scalars(select(CommissionBooking).order_by(CommissionBooking.id)).all()
    assert [(b.run_id, b.campaign_id, b.partner_id, b.partner_number) for b in kept] == [
        (None, None, None, "VP-1001")
    ] * 3
