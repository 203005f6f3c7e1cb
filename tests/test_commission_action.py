"""The "commission" action: settings, amounts and reasons, whole campaigns through the engine with
real workers (one of them killed mid-batch), and the plugin's ``campaign commission`` commands."""

from __future__ import annotations

import collections
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

import plugins.actions.commission as commission
from core import Recipient, SettingsError
from core.cli import CliState
from core.clock import Clock, FrozenClock
from core.engine.dispatch import Dispatcher, load_recipients, process_chunk, recover_runs
from core.engine.runs import retry_failed, start_run
from core.engine.targeting import target_run
from core.jobs.queue import BULK, get_queue
from core.models import (
    Contact,
    Contract,
    ItemStatus,
    Product,
    Run,
    RunState,
    SalesPartner,
)
from core.validation import problem_text
from plugins.actions import TRANSLATIONS
from plugins.actions.commission import Commission, RunFacts
from plugins.actions.commission.bookings import reverse_run
from plugins.actions.commission.models import CommissionBooking
from plugins.demo.address_book import load_demo
from webapp.i18n import render_stored

from panel_helpers import shown_details
from waiting import stop_group, wait_for

BASE = {"booking_key": "AP", "paying_company": "Rheintal Versicherung AG"}
TEXT = "Abschlussprovision {{ number }} {{ product.name }} ({{ contact.last_name }})"
RUN_STARTED = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
"""00:30 on 1 April in Germany: the run's booking date is the German day."""


# --- settings, amounts and reasons, without a database ---------------------------------


def action(**settings) -> Commission:
    return Commission({"text": TEXT, "field": "amount", "rate_percent": "25"} | BASE | settings)


def contract(**data) -> Recipient:
    record = {
        "number": "V-1",
        "amount": Decimal("10.10"),
        "partner.id": 7,
        "partner.number": "VP-7",
        "product.name": "Kfz-Versicherung",
        "contact.last_name": "Weiß",
    }
    return Recipient("contracts:1", "contracts", 1, record | data)


FACTS = RunFacts(day=date(2026, 4, 1), started_by="anna", reversed=False)


def test_a_contract_books_its_premium_times_the_rate_for_its_partner():
    booking = action().compose(contract(), FACTS)
    assert (booking.partner_id, booking.partner_number) == (7, "VP-7")
    assert (booking.amount, booking.basis, booking.rate_percent) == (
        Decimal("2.53"),  # 2.525 rounds half up; a float would have made it 2.52
        Decimal("10.10"),
        Decimal("25"),
    )
    assert booking.text == "Abschlussprovision V-1 Kfz-Versicherung (Weiß)"
    assert (booking.booking_key, booking.booking_date, booking.currency) == (
        "AP",
        date(2026, 4, 1),
        "EUR",
    )
    assert (booking.paying_company, booking.vat, booking.created_by) == (
        "Rheintal Versicherung AG",
        False,
        "anna",
    )
    assert (booking.entity, booking.entity_id, booking.ledger_key) == (
        "contracts",
        1,
        "contracts:1",
    )


@pytest.mark.parametrize(
    ("settings", "data", "amount"),
    [
        ({}, {"amount": Decimal("0.05"), "partner.commission_rate": None}, "0.01"),  # 0.0125
        ({"rate_percent": "50"}, {"amount": Decimal("0.05")}, "0.03"),  # 0.025 half up
        ({"rate_percent": "12.5"}, {"amount": 10.1}, "1.26"),  # a float read as written
        ({"rate_percent": "33.3333"}, {"amount": "300"}, "100.00"),
        ({"rate_field": "partner.commission_rate", "rate_percent": None}, {}, "3.03"),
        ({"currency": "JPY", "rate_percent": "10"}, {"amount": Decimal("1235")}, "124"),
        ({"currency": "JPY", "rate_percent": "10"}, {"amount": Decimal("1234")}, "123"),
        ({"amount": "50", "field": None, "rate_percent": None}, {"amount": None}, "50.00"),
    ],
)
def test_amounts_are_rounded_half_up_to_the_currencys_minor_unit(settings, data, amount):
    recipient = contract(**{"partner.commission_rate": Decimal("30.00")} | data)
    booking = action(**settings).compose(recipient, FACTS)
    assert str(booking.amount) == amount


def test_a_sales_partner_books_for_itself_and_a_contact_for_its_partner():
    partner = Recipient("partners:3", "partners", 3, {"number": "VP-3", "name": "Anna Berger"})
    bonus = action(field=None, rate_percent=None, amount="100", text="Bonus {{ name }}")
    booking = bonus.compose(partner, FACTS)
    assert (booking.partner_id, booking.partner_number, booking.text) == (
        3,
        "VP-3",
        "Bonus Anna Berger",
    )
    person = Recipient("contacts:4", "contacts", 4, {"last_name": "Kaya", "partner.id": 9})
    booking = action(field=None, rate_percent=None, amount="100", text="{{ last_name }}").compose(
        person, FACTS
    )
    assert (booking.partner_id, booking.partner_number, booking.text) == (9, None, "Kaya")


@pytest.mark.parametrize(
    ("recipient", "settings", "reason"),
    [
        (contract(**{"partner.id": None}), {}, "no sales partner"),
        (
            Recipient("products:1", "products", 1, {"monthly_price": 5}),
            {"field": "monthly_price"},
            "records without a sales partner (partner.id): products",
        ),
        (
            Recipient("contacts:4", "contacts", 4, {"last_name": "Kaya", "partner.id": 9}),
            {},
            "the record has no field: amount",
        ),
        (contract(amount=None), {}, "empty field: amount"),
        (contract(amount="zehn"), {}, "not a number: amount; value: 'zehn'"),
        (contract(amount="NaN"), {}, "not a number: amount; value: 'NaN'"),
        (contract(amount=True), {}, "not a number: amount; value: True"),
        (contract(amount=Decimal("-8")), {}, "the commission would be negative: -2.00 EUR"),
        (
            contract(amount=Decimal("999999999999")),
            {"rate_percent": "200"},
            "the commission is too large: 1999999999998.00 EUR",
        ),
        (
            contract(**{"partner.commission_rate": None}),
            {"rate_field": "partner.commission_rate", "rate_percent": None},
            "empty field: partner.commission_rate",
        ),
        (contract(), {"text": "{{ contact.frist_name }}"}, "unknown placeholder"),
        (contract(**{"contact.last_name": None}), {"text": "{{ contact.last_name }}"}, "empty"),
    ],
)
def test_a_recipient_that_cannot_be_booked_fails_with_the_reason(recipient, settings, reason):
    with pytest.raises(ValueError) as caught:
        action(**settings).compose(recipient, FACTS)
    assert reason in str(caught.value)


def test_why_a_recipient_cannot_be_booked_is_shown_in_the_readers_language(panel_app):
    reasons = []
    for recipient, settings in [
        (contract(amount=None), {}),
        (contract(amount="zehn"), {}),
        (contract(amount=Decimal("-8")), {}),
        (Recipient("products:1", "products", 1, {"monthly_price": 5}), {"field": "monthly_price"}),
        (contract(**{"contact.last_name": None}), {"text": "{{ contact.last_name }}"}),
        (contract(amount=Decimal("0.01")), {}),
    ]:
        with pytest.raises((ValueError, commission.NothingToBook)) as caught:
            action(**settings).compose(recipient, FACTS)
        reasons.append(str(caught.value))
    assert shown_details(panel_app, "de", reasons) == [
        "leeres Feld: amount",
        "keine Zahl: amount; Wert: „zehn“",
        "die Provision wäre negativ: -2,00 EUR",
        "Datensätze ohne Vertriebspartner (partner.id): products",
        "der Buchungstext ist leer",
        "nichts zu buchen: Provision: 0,00 EUR",
    ]
    assert shown_details(panel_app, "en", reasons) == reasons


def test_a_commission_of_zero_is_skipped():
    with pytest.raises(commission.NothingToBook, match=r"^nothing to book: commission: 0\.00 EUR$"):
        action().compose(contract(amount=Decimal("0.01")), FACTS)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"field": None}, "field: a rate needs field, the number it applies to"),
        ({"field": None, "rate_percent": None}, "field: give a fixed amount, or a"),
        ({"amount": "5"}, "field: give a fixed amount or a field a rate applies to"),
        ({"rate_percent": None}, "field: field needs a rate"),
        (
            {"rate_field": "partner.commission_rate"},
            "field: give rate_percent or rate_field, not both",
        ),
        (
            {"field": "premium"},
            "field: unknown numeric field 'premium'; known: amount, commission_rate,"
            " monthly_price, partner.commission_rate, product.monthly_price",
        ),
        (
            {"rate_field": "partner.name", "rate_percent": None},
            "rate_field: unknown numeric field 'partner.name'",
        ),
        (
            {"amount": "-5", "field": None, "rate_percent": None},
            "amount: Input should be greater than 0",
        ),
        ({"rate_percent": "0"}, "rate_percent: Input should be greater than 0"),
        (
            {"amount": "9.999", "field": None, "rate_percent": None},
            "amount: EUR amounts have at most 2 decimal places",
        ),
        (
            {"amount": "9.5", "field": None, "rate_percent": None, "currency": "JPY"},
            "amount: JPY amounts have at most 0 decimal places",
        ),
        ({"currency": "EURO"}, "currency: unknown currency 'EURO'; use an ISO 4217"),
        ({"currency": "DEM"}, "currency: unknown currency 'DEM'"),
        ({"currency": "KWD"}, "currency: KWD has 3 decimal places"),
        ({"booking_key": "A P"}, "booking_key: 'A P' is not a booking key"),
        ({"text": "{{ number }"}, "text: line 1: syntax error: unexpected '}'"),
        ({"paying_company": ""}, "paying_company: String should have at least 1 character"),
        ({"booking_date": "31.12.2026"}, "booking_date: Input should be a valid date"),
        ({"vat": "vielleicht"}, "vat: Input should be a valid boolean"),
        ({"rate": "5"}, "rate: Extra inputs are not permitted"),
    ],
)
def test_settings_are_checked_with_messages_naming_the_field(settings, problem):
    with pytest.raises(SettingsError) as caught:
        action(**settings)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "german", "english"),
    [
        (
            {"rate_field": "partner.commission_rate"},
            "field: bitte rate_percent oder rate_field angeben, nicht beides",
            "field: give rate_percent or rate_field, not both",
        ),
        (
            {"amount": "9.999", "field": None, "rate_percent": None},
            "amount: Beträge in EUR haben höchstens 2 Nachkommastellen",
            "amount: EUR amounts have at most 2 decimal places",
        ),
    ],
)
def test_a_refused_setting_is_said_in_the_readers_language(settings, german, english):
    catalogs = {Commission.__module__: [TRANSLATIONS]}
    with pytest.raises(SettingsError) as caught:
        action(**settings)
    ((field, message),) = caught.value.problems
    text = problem_text(field, message, Commission.__module__)
    assert (render_stored(text, "de", catalogs), render_stored(text, "en", catalogs)) == (
        german,
        english,
    )


def test_currencies_are_iso_codes_in_any_case():
    assert action(currency=" chf ").params.currency == "CHF"


def test_the_action_describes_itself():
    assert Commission.describe() | {"description": ""} == {
        "kind": "action",
        "name": "commission",
        "title": "Insert commission",
        "description": "",
        "scope": "recipient",
        "channel": "none",
        "cost_unit": "bookings",
        "stock_items": [],
        "external_effects": False,
    }


# --- whole campaigns through the engine -------------------------------------------------


@pytest.fixture
def booking_engine(engine):
    engine.runtime.plugins.add(commission, "plugins.actions.commission", "test")
    assert engine.runtime.plugins.errors == []
    engine.runtime.clock = FrozenClock(RUN_STARTED)
    return engine


def address_book(engine) -> dict[str, int]:
    """Three partners (one without a rate), contacts with and without a partner, and
    contracts that book, fail for want of a partner, and come to nothing."""
    with engine.runtime.database.session() as session:
        partners = [
            SalesPartner(number="VP-1", name="Anna Berger", commission_rate=Decimal("25.00")),
            SalesPartner(number="VP-2", name="Jörg Weiß", commission_rate=Decimal("30.00")),
            SalesPartner(number="VP-3", name="Ohne Satz", commission_rate=None),
        ]
        product = Product(code="KFZ", name="Kfz-Versicherung", monthly_price=Decimal("48.50"))
        contacts = [
            Contact(number="K-1", last_name="Mustermann", partner=partners[0], attributes={}),
            Contact(number="K-2", last_name="Müller", partner=partners[1], attributes={}),
            Contact(number="K-3", last_name="Ohnepartner", attributes={}),
        ]
        contracts = [
            Contract(number=number, contact=contact, partner=partner, amount=Decimal(amount))
            for number, contact, partner, amount in [
                ("V-1", contacts[0], partners[0], "10.10"),
                ("V-2", contacts[1], partners[1], "48.50"),
                ("V-3", contacts[2], None, "100.00"),
                ("V-4", contacts[0], partners[2], "20.00"),
                ("V-5", contacts[1], partners[0], "0.01"),
            ]
        ]
        for item in contracts:
            item.product, item.signed_on = product, date(2025, 6, 1)
        session.add_all([*partners, *contacts, *contracts])
        session.flush()
        return {record.number: record.id for record in [*partners, *contacts, *contracts]}


def commission_campaign(engine, entity="contracts", name="Provision Q1", **settings) -> int:
    return engine.campaign(
        action="commission",
        action_settings={"text": TEXT, "field": "amount", "rate_percent": "25"} | BASE | settings,
        datasource="test_records",
        datasource_settings={"entity": entity},
        name=name,
    )


def bookings(engine, run_id) -> list[CommissionBooking]:
    with engine.runtime.database.session() as session:
        return session.scalars(
            select(CommissionBooking)
            .where(CommissionBooking.run_id == run_id)
            .order_by(CommissionBooking.id)
        ).all()


def test_a_commission_run_books_once_for_the_partner_of_every_contract(booking_engine):
    engine = booking_engine
    ids = address_book(engine)
    campaign = commission_campaign(engine)
    run = start_run(engine.runtime, campaign, started_by="anna", confirmed_by="test")
    engine.work()

    finished = engine.run(run.id)
    assert (finished.state, finished.done, finished.failed, finished.skipped) == (
        RunState.COMPLETED_WITH_ERRORS,
        3,
        1,
        1,
    )
    items = {item.key.split(":")[1]: item for item in engine.items(run.id)}
    by_number = {ids[number]: number for number in ids if number.startswith("V-")}
    outcomes = {
        by_number[int(key)]: (item.status, item.detail, item.units) for key, item in items.items()
    }
    assert outcomes == {
        "V-1": (
            ItemStatus.DONE,
            "booked: 2.53 EUR; partner: VP-1; booking key: AP; booking date: 01.04.2026",
            1,
        ),
        "V-2": (
            ItemStatus.DONE,
            "booked: 12.13 EUR; partner: VP-2; booking key: AP; booking date: 01.04.2026",
            1,
        ),
        "V-3": (ItemStatus.FAILED, "no sales partner", 0),
        "V-4": (
            ItemStatus.DONE,
            "booked: 5.00 EUR; partner: VP-3; booking key: AP; booking date: 01.04.2026",
            1,
        ),
        "V-5": (ItemStatus.SKIPPED, "nothing to book: commission: 0.00 EUR", 0),
    }
    booked = bookings(engine, run.id)
    assert [
        (b.entity_id, b.ledger_key, b.partner_id, b.partner_number, b.amount, b.basis, b.text)
        for b in booked
    ] == [
        (
            ids["V-1"],
            f"contracts:{ids['V-1']}",
            ids["VP-1"],
            "VP-1",
            Decimal("2.53"),
            Decimal("10.10"),
            "Abschlussprovision V-1 Kfz-Versicherung (Mustermann)",
        ),
        (
            ids["V-2"],
            f"contracts:{ids['V-2']}",
            ids["VP-2"],
            "VP-2",
            Decimal("12.13"),
            Decimal("48.50"),
            "Abschlussprovision V-2 Kfz-Versicherung (Müller)",
        ),
        (
            ids["V-4"],
            f"contracts:{ids['V-4']}",
            ids["VP-3"],
            "VP-3",
            Decimal("5.00"),
            Decimal("20.00"),
            "Abschlussprovision V-4 Kfz-Versicherung (Mustermann)",
        ),
    ]
    first = booked[0]
    assert (first.kind, first.campaign_id, first.run_id, first.entity) == (
        "booking",
        campaign,
        run.id,
        "contracts",
    )
    assert (first.booking_key, first.booking_date, first.currency, first.rate_percent) == (
        "AP",
        date(2026, 4, 1),
        "EUR",
        Decimal("25"),
    )
    assert (first.paying_company, first.vat, first.reverses_id) == (
        "Rheintal Versicherung AG",
        False,
        None,
    )
    assert (first.created_by, first.created_at) == ("anna", RUN_STARTED)

    assert process_chunk(run.id, 0).endswith("skipped, run is completed_with_errors")
    with engine.runtime.database.session() as session:  # even a run put back to work
        session.execute(update(Run).where(Run.id == run.id).values(state=RunState.RUNNING))
    assert process_chunk(run.id, 0).endswith(" 0 processed")
    assert len(bookings(engine, run.id)) == 3


def test_rates_of_the_partner_a_fixed_date_currency_and_vat(booking_engine):
    engine = booking_engine
    ids = address_book(engine)
    campaign = commission_campaign(
        engine,
        rate_percent=None,
        rate_field="partner.commission_rate",
        booking_date="2026-12-31",
        currency="CHF",
        vat=True,
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    booked = {b.entity_id: b for b in bookings(engine, run.id)}
    assert {entity_id: (b.amount, b.rate_percent) for entity_id, b in booked.items()} == {
        ids["V-1"]: (Decimal("2.53"), Decimal("25.00")),
        ids["V-2"]: (Decimal("14.55"), Decimal("30.00")),
    }
    assert {(b.booking_date, b.currency, b.vat) for b in booked.values()} == {
        (date(2026, 12, 31), "CHF", True)
    }
    details = {item.entity_id: item.detail for item in engine.items(run.id)}
    assert details[ids["V-4"]] == "empty field: partner.commission_rate"


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        ("contacts", "Bestandsprovision {{ last_name }}", {"K-1": "VP-1", "K-2": "VP-2"}),
        ("partners", "Bonus {{ name }}", {"VP-1": "VP-1", "VP-2": "VP-2", "VP-3": "VP-3"}),
    ],
)
def test_contacts_book_for_their_partner_and_partners_for_themselves(
    booking_engine, entity, text, expected
):
    engine = booking_engine
    ids = address_book(engine)
    campaign = commission_campaign(
        engine, entity=entity, text=text, amount="50", field=None, rate_percent=None
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    booked = {b.entity_id: b.partner_id for b in bookings(engine, run.id)}
    assert booked == {ids[record]: ids[partner] for record, partner in expected.items()}
    assert {b.amount for b in bookings(engine, run.id)} == {Decimal("50.00")}
    if entity == "contacts":
        failed = [item for item in engine.items(run.id) if item.status == ItemStatus.FAILED]
        assert [(item.entity_id, item.detail) for item in failed] == [
            (ids["K-3"], "no sales partner")
        ]


def test_a_dry_run_shows_the_bookings_without_making_them(booking_engine, panel_app):
    engine = booking_engine
    address_book(engine)
    run = start_run(engine.runtime, commission_campaign(engine), dry_run=True, preview_count=3)
    engine.work()
    details = [item.detail for item in engine.items(run.id)]
    assert details == [
        "preview: would book: 2.53 EUR; partner: VP-1; booking key: AP; booking date: "
        "01.04.2026; text: Abschlussprovision V-1 Kfz-Versicherung (Mustermann)",
        "preview: would book: 12.13 EUR; partner: VP-2; booking key: AP; booking date: "
        "01.04.2026; text: Abschlussprovision V-2 Kfz-Versicherung (Müller)",
        "preview: no booking: no sales partner",
        "dry run",
        "dry run",
    ]
    assert shown_details(panel_app, "de", details[1:4]) == [
        "Vorschau: würde buchen: 12,13 EUR; Vertriebspartner: VP-2; Buchungsschlüssel: AP; "
        "Buchungsdatum: 01.04.2026; Text: Abschlussprovision V-2 Kfz-Versicherung (Müller)",
        "Vorschau: keine Buchung: kein Vertriebspartner",
        "Probelauf",
    ]
    assert shown_details(panel_app, "en", details) == [
        detail.replace("01.04.2026", "1 Apr 2026") for detail in details
    ]
    assert bookings(engine, run.id) == []


def test_a_chunk_done_again_after_a_lost_transaction_books_nothing_twice(booking_engine):
    engine = booking_engine
    address_book(engine)
    run = start_run(engine.runtime, commission_campaign(engine), confirmed_by="test")
    target_run(run.id)
    # a worker that booked and died before its commit: the transaction is rolled back
    with engine.runtime.database.sessions() as session, session.begin():
        from core.engine.campaigns import CampaignConfig, build_plugins

        stored = session.get(Run, run.id)
        built = build_plugins(engine.runtime.plugins, CampaignConfig.from_snapshot(stored.config))
        context = Dispatcher(engine.runtime, stored, "Provision Q1", built, False).context(session)
        first = engine.items(run.id)[0]
        recipient = load_recipients(context, built, [first])[first.id]
        assert built.action.process(recipient, context).status == "done"
        session.flush()
        session.rollback()
    assert bookings(engine, run.id) == []

    assert process_chunk(run.id, 0).endswith(" 5 processed")
    with engine.runtime.database.session() as session:  # the job again, as RQ may retry it
        session.execute(update(Run).where(Run.id == run.id).values(state=RunState.RUNNING))
    assert process_chunk(run.id, 0).endswith(" 0 processed")
    engine.work()  # the finishing step
    assert engine.run(run.id).state == RunState.COMPLETED_WITH_ERRORS
    assert len(bookings(engine, run.id)) == 3


def test_a_reversed_run_books_nothing_more_when_its_failures_are_retried(booking_engine, panel_app):
    engine = booking_engine
    ids = address_book(engine)
    run = start_run(engine.runtime, commission_campaign(engine), confirmed_by="test")
    engine.work()
    with engine.runtime.database.session() as session:
        reverse_run(session, run.id, by="anna")
        session.execute(
            update(Contract).where(Contract.id == ids["V-3"]).values(partner_id=ids["VP-1"])
        )
    assert retry_failed(engine.runtime, run.id) == 1
    engine.work()
    (retried,) = [item for item in engine.items(run.id) if item.entity_id == ids["V-3"]]
    assert (retried.status, retried.detail) == (
        ItemStatus.FAILED,
        "the bookings of this run were reversed; it books nothing more",
    )
    assert shown_details(panel_app, "de", [retried.detail]) == [
        "die Buchungen dieses Laufs wurden storniert; er bucht nichts mehr"
    ]
    assert shown_details(panel_app, "en", [retried.detail]) == [retried.detail]
    assert len(bookings(engine, run.id)) == 6  # three bookings, three counter-bookings


def test_the_demo_address_book_supports_a_commission_campaign(booking_engine):
    engine = booking_engine
    with engine.runtime.database.session() as session:
        load_demo(session, seed=11, contacts=150)
        expected = {
            contract_id: (amount * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            for contract_id, amount, rate in session.execute(
                select(Contract.id, Contract.amount, SalesPartner.commission_rate).join(
                    SalesPartner, Contract.partner_id == SalesPartner.id
                )
            )
        }
    campaign = commission_campaign(engine, rate_percent=None, rate_field="partner.commission_rate")
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    assert engine.run(run.id).state == RunState.COMPLETED
    assert {b.entity_id: b.amount for b in bookings(engine, run.id)} == expected
    assert len(expected) > 50


def test_a_worker_killed_mid_batch_leaves_every_contract_booked_once(booking_engine, tmp_path):
    engine = booking_engine
    contracts = 1500  # three chunks of one batch each (dispatch.BATCH rows)
    with engine.runtime.database.session() as session:
        partner = SalesPartner(number="VP-9", name="Grete Nowak")
        product = Product(code="BUV", name="Berufsunfähigkeitsversicherung")
        person = Contact(number="K-9", last_name="Jäger", partner=partner, attributes={})
        session.add_all([partner, product, person])
        session.flush()
        session.execute(
            insert(Contract),
            [
                {
                    "number": f"V-{n:05d}",
                    "contact_id": person.id,
                    "product_id": product.id,
                    "partner_id": partner.id,
                    "signed_on": date(2025, 1, 1),
                    "amount": Decimal(n),
                }
                for n in range(1, contracts + 1)
            ],
        )
    campaign = engine.campaign(
        action="commission",
        action_settings={"text": "Provision {{ number }}", "amount": "12.50"} | BASE,
        datasource="test_records",
        datasource_settings={"entity": "contracts", "delay_ms": 500},
    )
    engine.runtime.clock = Clock()  # the worker processes keep real time
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    log = tmp_path / "worker.log"
    first = engine.start_worker_process(log)
    wait_for(lambda: engine.run(run.id).done >= 100, "the first batch", log=log)
    engine.kill_worker(first)  # worker and work horse, inside the next batch
    assert engine.run(run.id).done < contracts

    second = engine.start_worker_process(log)
    try:
        queue = get_queue(engine.runtime.redis, BULK)
        wait_for(lambda: queue.count == 0, "the queue to empty", log=log)
        # Two minutes later the scheduler's recovery finds the run stalled.
        engine.runtime.clock = FrozenClock(datetime.now(UTC) + timedelta(minutes=3))
        recover_runs(engine.runtime)
        final = wait_for(
            lambda: (now := engine.run(run.id)).state == RunState.COMPLETED and now,
            "the run to finish",
            log=log,
        )
    finally:
        stop_group(second)

    assert (final.done, final.failed, final.unclear) == (contracts, 0, 0)
    booked = collections.Counter(b.ledger_key for b in bookings(engine, run.id))
    assert len(booked) == contracts and set(booked.values()) == {1}


# --- campaign commission list | reverse -------------------------------------------------


@pytest.fixture
def invoke(settings, booking_engine, monkeypatch):
    """The plugin's commands on a group of their own; the process clock stands still too."""
    monkeypatch.setattr("core.clock.clock", FrozenClock(RUN_STARTED))
    group = click.Group()
    commission.register_commands(group)

    def run(*args, input=None):
        state = CliState(settings, booking_engine.runtime.plugins)
        return CliRunner().invoke(group, ["commission", *args], obj=state, input=input)

    return run


def test_the_command_line_lists_and_reverses_a_runs_bookings_once(booking_engine, invoke):
    engine = booking_engine
    address_book(engine)
    run = start_run(engine.runtime, commission_campaign(engine), confirmed_by="test")
    engine.work()

    listed = invoke("list", str(run.id))
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 4
    assert "booking   01.04.2026  VP-1" in lines[0] and "2.53 EUR" in lines[0]
    assert lines[0].endswith("Abschlussprovision V-1 Kfz-Versicherung (Mustermann)")
    assert lines[3] == "EUR: 3 bookings 19.66, 0 reversals 0.00, net 19.66"

    declined = invoke("reverse", str(run.id), "--by", "anna", input="n\n")
    assert declined.exit_code == 1
    assert "Reverse 3 bookings of run #1 (19.66 EUR)?" in declined.output
    assert len(bookings(engine, run.id)) == 3

    reversed_ = invoke("reverse", str(run.id), "--by", "anna", "--date", "2026-04-30", "--yes")
    assert reversed_.exit_code == 0, reversed_.output
    assert reversed_.output == "3 counter-bookings dated 30.04.2026 by anna\n"
    totals = invoke("list", str(run.id), "--totals")
    assert totals.output.splitlines() == [
        "EUR: 3 bookings 19.66, 3 reversals -19.66, net 0.00",
        "reversed on 01.04.2026 by anna (counter-bookings dated 30.04.2026)",
    ]

    again = invoke("reverse", str(run.id), "--yes")
    assert again.exit_code == 1
    assert (
        "Error: the bookings of run #1 were reversed on 01.04.2026 by anna; "
        "a run is reversed once only"
    ) in again.output
    assert len(bookings(engine, run.id)) == 6
    assert "Error: no run with id 999" in invoke("list", "999").output
