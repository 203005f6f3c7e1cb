"""The demo (``campaign demo``): an address book realistic and reproducible from its seed, the
ready campaign, every plugin's demo data, and all of it safe to load again."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core import hookimpl
from core.cli import CliState, cli
from core.db.database import Database
from core.models import (
    Contact,
    ContactKind,
    ContactStatus,
    Contract,
    ContractStatus,
    DispatchChannel,
    Product,
    SalesPartner,
)
from core.plugins import load_plugins
from plugins.demo.address_book import REFERENCE_DATE, DemoSummary, load_demo
from plugins.demo.campaign import DEMO_CAMPAIGN, DEMO_QUERY, install_demo_campaign

WELL_FORMED_EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")
MOBILE = re.compile(r"01[5-7]\d \d{7,8}")
LANDLINE = re.compile(r"0[2-9]\d{1,3} [2-9]\d{4,7}")


def load(database: Database, **options) -> DemoSummary:
    with database.session() as session:
        return load_demo(session, **options)


def count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def all_contacts(database: Database) -> list[Contact]:
    with database.session() as session:
        return list(session.scalars(select(Contact).order_by(Contact.number)))


def fingerprint(database: Database) -> str:
    """A checksum over what a user sees of every record, independent of ids and backend."""
    partner = aliased(SalesPartner)
    queries = (
        select(
            Contact.number, Contact.kind, Contact.salutation, Contact.title, Contact.first_name,
            Contact.last_name, Contact.company_name, Contact.street, Contact.address_extra,
            Contact.postcode, Contact.city, Contact.email, Contact.phone, Contact.mobile,
            Contact.language, Contact.birth_date, Contact.status, Contact.preferred_channel,
            Contact.dispatch_block, Contact.opt_out_email, Contact.attributes, partner.number,
        ).outerjoin(partner, Contact.partner).order_by(Contact.number),
        select(
            Contract.number, Contact.number, Product.code, partner.number, Contract.signed_on,
            Contract.amount, Contract.status, Contract.cancelled_on,
        ).join(Contract.contact).join(Contract.product).outerjoin(partner, Contract.partner)
        .order_by(Contract.number),
        select(
            SalesPartner.number, SalesPartner.name, SalesPartner.company, SalesPartner.email,
            SalesPartner.city, SalesPartner.commission_rate, SalesPartner.active,
        ).order_by(SalesPartner.number),
        select(Product.code, Product.name, Product.category, Product.monthly_price)
        .order_by(Product.code),
    )  # fmt: skip
    digest = hashlib.sha256()
    with database.session() as session:
        for query in queries:
            for row in session.execute(query):
                digest.update(json.dumps(list(row), default=str, sort_keys=True).encode())
    return digest.hexdigest()


@pytest.fixture
def other_database(sqlite_template: Path, tmp_path: Path):
    """A second, independent database to compare loads against."""
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    other = Database(f"sqlite:///{path}")
    yield other
    other.dispose()


def test_loads_an_address_book_of_realistic_size(database: Database):
    summary = load(database)

    contacts = all_contacts(database)
    customers = [contact for contact in contacts if contact.status is ContactStatus.CUSTOMER]
    companies = [contact for contact in contacts if contact.kind is ContactKind.COMPANY]
    assert len(contacts) == summary.contacts_created == 2000
    assert 35 <= count(database, SalesPartner) == summary.partners_created <= 45
    assert 10 <= count(database, Product) == summary.products_created <= 15
    assert count(database, Contract) == summary.contracts_created
    assert 1.4 <= summary.contracts_created / len(customers) <= 1.8
    assert 0.3 <= len(customers) / len(contacts) <= 0.7
    assert 0.05 <= len(companies) / len(contacts) <= 0.11
    assert "2000 created" in summary.describe()


def test_persons_and_companies_are_addressed_properly(database: Database):
    load(database)

    contacts = all_contacts(database)
    for contact in contacts:
        if contact.kind is ContactKind.COMPANY:
            assert contact.salutation == "Firma"
            assert re.search(r" (GmbH|AG|KG|OHG|e\.K\.)$", contact.company_name)
            assert contact.birth_date is None
        else:
            assert contact.salutation in ("Herr", "Frau")
            assert contact.first_name and contact.last_name
    persons = [contact for contact in contacts if contact.kind is ContactKind.PERSON]
    assert {"Herr", "Frau"} == {contact.salutation for contact in persons}
    assert 0.01 < sum(contact.title == "Dr." for contact in persons) / len(persons) < 0.1
    assert len({contact.company_name for contact in contacts if contact.company_name}) > 5
    born = [contact.birth_date for contact in persons if contact.birth_date]
    assert len(born) > 0.8 * len(persons)
    assert all(date(1930, 1, 1) < birth <= date(2008, 1, 1) for birth in born)


def test_names_and_streets_are_german_with_umlauts_and_eszett(database: Database):
    load(database)

    contacts = all_contacts(database)
    text = " ".join(
        f"{contact.first_name} {contact.last_name} {contact.street}" for contact in contacts
    )
    assert {"ä", "ö", "ü", "ß"} <= set(text)
    assert any(contact.last_name == "Müller" for contact in contacts)
    assert any(contact.street and contact.street.startswith("Schloßstraße") for contact in contacts)
    assert Counter(contact.language for contact in contacts).most_common(1)[0][0] == "de"
    assert 0 < sum(contact.language == "en" for contact in contacts) < 0.1 * len(contacts)


def test_complete_addresses_have_five_digit_postcodes_of_their_city(database: Database):
    load(database)

    contacts = all_contacts(database)
    with_postcode = [contact for contact in contacts if contact.postcode]
    assert all(re.fullmatch(r"\d{5}", contact.postcode) for contact in with_postcode)
    assert all(contact.city for contact in contacts)
    first_digits = {"Berlin": "1", "Hamburg": "2", "München": "8", "Köln": "5", "Leipzig": "0"}
    for contact in with_postcode:
        if contact.city in first_digits:
            assert contact.postcode.startswith(first_digits[contact.city]), contact.number
    incomplete = [contact for contact in contacts if not (contact.postcode and contact.street)]
    assert 0 < len(incomplete) < 0.05 * len(contacts)


def test_some_contacts_have_email_and_phone_numbers_and_some_do_not(database: Database):
    load(database)

    contacts = all_contacts(database)
    emails = [contact.email for contact in contacts if contact.email]
    assert 0.6 <= len(emails) / len(contacts) <= 0.8
    malformed = [email for email in emails if not WELL_FORMED_EMAIL.fullmatch(email)]
    assert 0 < len(malformed) < 0.05 * len(emails)
    mobiles = [contact.mobile for contact in contacts if contact.mobile]
    phones = [contact.phone for contact in contacts if contact.phone]
    assert 0.3 < len(mobiles) / len(contacts) < 0.9
    assert 0.3 < len(phones) / len(contacts) < 0.9
    assert all(MOBILE.fullmatch(mobile) for mobile in mobiles)
    assert all(LANDLINE.fullmatch(phone) for phone in phones)


def test_dispatch_preferences_are_mostly_post_with_a_few_blocks(database: Database):
    load(database)

    contacts = all_contacts(database)
    channels = Counter(contact.preferred_channel for contact in contacts)
    assert channels[DispatchChannel.POST] > 0.6 * len(contacts)
    assert channels[DispatchChannel.EMAIL] > channels[DispatchChannel.WEB] > 0
    assert all(contact.email for contact in contacts if contact.preferred_channel != "post")
    assert 0 < sum(contact.dispatch_block for contact in contacts) < 0.05 * len(contacts)
    assert 0 < sum(contact.opt_out_email for contact in contacts) < 0.1 * len(contacts)
    assert all(
        {"source", "newsletter", "segment"} <= contact.attributes.keys() for contact in contacts
    )


def test_customers_have_contracts_and_prospects_have_none(database: Database):
    load(database)

    with database.session() as session:
        rows = session.execute(
            select(Contact.status, func.count(Contract.id))
            .outerjoin(Contact.contracts)
            .group_by(Contact.id, Contact.status)
        ).all()
    assert len(rows) == 2000
    assert all(contracts > 0 for status, contracts in rows if status is ContactStatus.CUSTOMER)
    assert all(contracts == 0 for status, contracts in rows if status is ContactStatus.PROSPECT)
    assert {status for status, _ in rows} == {ContactStatus.CUSTOMER, ContactStatus.PROSPECT}


def test_contracts_belong_to_existing_partners_mostly_the_contacts_own(database: Database):
    load(database)

    with database.session() as session:
        partner_ids = set(session.scalars(select(SalesPartner.id)))
        rows = session.execute(select(Contract, Contact.partner_id).join(Contract.contact)).all()
    assert rows
    assert all(contract.partner_id in partner_ids for contract, _ in rows)
    same = sum(contract.partner_id == contact_partner for contract, contact_partner in rows)
    assert same > 0.8 * len(rows)
    assert len({contract.partner_id for contract, _ in rows}) > 30


def test_contracts_span_the_last_eight_years_and_some_are_cancelled(database: Database):
    load(database)

    with database.session() as session:
        contracts = list(session.scalars(select(Contract)))
    signed = [contract.signed_on for contract in contracts]
    assert date(2018, 1, 1) <= min(signed) < date(2019, 1, 1)
    assert date(2025, 1, 1) <= max(signed) < REFERENCE_DATE
    cancelled = [contract for contract in contracts if contract.status is ContractStatus.CANCELLED]
    assert 0.05 < len(cancelled) / len(contracts) < 0.25
    assert all(c.signed_on < c.cancelled_on < REFERENCE_DATE for c in cancelled)
    assert all(c.cancelled_on is None for c in contracts if c.status is ContractStatus.ACTIVE)
    assert all(contract.amount > 0 for contract in contracts)


def test_loading_again_creates_and_changes_nothing(database: Database):
    first = load(database)
    before = fingerprint(database)
    with database.session() as session:
        last_change = session.scalar(select(func.max(Contact.updated_at)))

    second = load(database)

    assert second.created == 0
    assert second.contacts_present == first.contacts_created
    assert second.contracts_present == first.contracts_created
    assert second.partners_present == first.partners_created
    assert second.products_present == first.products_created
    assert count(database, Contact) == first.contacts_created
    assert fingerprint(database) == before
    with database.session() as session:
        assert session.scalar(select(func.max(Contact.updated_at))) == last_change


def test_the_same_seed_gives_the_same_data_in_another_database(
    database: Database, other_database: Database
):
    random.seed(1)
    load(database, contacts=500)
    random.seed(2)  # the global random generator must not matter
    load(other_database, contacts=500)

    assert fingerprint(database) == fingerprint(other_database)


def test_a_different_seed_gives_different_data(database: Database, other_database: Database):
    load(database, seed=1, contacts=500)
    load(other_database, seed=2, contacts=500)

    assert fingerprint(database) != fingerprint(other_database)
    names = [(contact.first_name, contact.last_name) for contact in all_contacts(database)]
    other_names = [(c.first_name, c.last_name) for c in all_contacts(other_database)]
    assert sum(a == b for a, b in zip(names, other_names, strict=True)) < 50


def test_loading_more_contacts_later_extends_the_first_load(
    database: Database, other_database: Database
):
    load(database, contacts=300)
    summary = load(database, contacts=500)
    load(other_database, contacts=500)

    assert (summary.contacts_created, summary.contacts_present) == (200, 300)
    assert summary.contracts_created > 0
    assert fingerprint(database) == fingerprint(other_database)


def test_existing_records_with_the_same_number_are_left_alone(database: Database):
    # K-000003 is a demo customer for seed 2026; here the number belongs to someone else.
    with database.session() as session:
        session.add(Contact(number="K-000003", last_name="Eigene Daten"))
        session.add(SalesPartner(number="VP-1001", name="Eigener Vermittler"))

    summary = load(database, contacts=100)

    assert (summary.contacts_created, summary.contacts_present) == (99, 1)
    assert (summary.partners_created, summary.partners_present) == (39, 1)
    with database.session() as session:
        own = session.scalars(select(Contact).where(Contact.number == "K-000003")).one()
        assert (own.last_name, own.first_name, own.status) == ("Eigene Daten", None, "prospect")
        assert own.contracts == []
        partner = session.scalars(select(SalesPartner).where(SalesPartner.number == "VP-1001"))
        assert partner.one().name == "Eigener Vermittler"
    assert summary.contracts_created == count(database, Contract) > 0


def test_the_caller_decides_whether_the_data_is_kept(database: Database):
    with database.sessions() as session:
        summary = load_demo(session, contacts=50)
        assert session.scalar(select(func.count()).select_from(Contact)) == 50
        session.rollback()

    assert summary.contacts_created == 50
    assert count(database, Contact) == 0
    assert count(database, SalesPartner) == 0


def test_a_negative_number_of_contacts_is_refused(database: Database):
    with database.session() as session, pytest.raises(ValueError):
        load_demo(session, contacts=-1)


def test_the_ready_campaign_is_installed_once_and_selects_prospects_with_email(database):
    from datetime import UTC, datetime

    from core.engine.campaigns import CampaignConfig, build_plugins
    from core.models import Campaign, SavedQuery
    from core.query import compile_saved_query
    from plugins.demo.default_reports import install_default_reports

    plugins = load_plugins(entry_points=False)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    load(database, contacts=200)
    with database.session() as session:
        install_default_reports(session)
        installed, added = install_demo_campaign(session, plugins, now)
        assert added == [DEMO_QUERY, DEMO_CAMPAIGN]
        installed_id = installed.id
    with database.session() as session:
        campaign, added = install_demo_campaign(session, plugins, now)
        assert (campaign.id, added) == (installed_id, [])
        saved = session.scalar(select(SavedQuery))
        assert (session.scalar(select(func.count()).select_from(Campaign)), campaign.name) == (
            1,
            "Informationskampagne",
        )
        assert (saved.name, saved.is_distribution_list) == ("Interessenten mit E-Mail", True)
        assert campaign.datasource_settings["saved_query_id"] == saved.id
        assert (campaign.action, campaign.action_settings["report"]) == (
            "print_reports",
            "Informationsschreiben",
        )
        assert campaign.action_settings["archive"] is True
        build_plugins(plugins, CampaignConfig.of(campaign))  # it can start as it is
        selected = set(session.scalars(compile_saved_query(session, saved.id).select_targets()))
        expected = set(
            session.scalars(
                select(Contact.id).where(
                    Contact.status == ContactStatus.PROSPECT,
                    Contact.email.is_not(None),
                    Contact.email != "",
                )
            )
        )
        assert selected == expected and len(selected) > 10


def test_the_ready_campaign_is_left_out_when_its_plugins_are_disabled(database):
    from datetime import UTC, datetime

    plugins = load_plugins(disabled=["plugins.actions.print_reports"], entry_points=False)
    with database.session() as session:
        installed = install_demo_campaign(session, plugins, datetime(2026, 1, 2, tzinfo=UTC))
    assert installed == (None, [DEMO_QUERY])


def run_demo(settings, plugins, *options: str):
    """``campaign demo`` as the command line has it: added by the demo plugin's hook."""
    group = click.Group(commands=dict(cli.commands))
    plugins.add_commands(group)
    return CliRunner().invoke(group, ["demo", *options], obj=CliState(settings, plugins))


def test_campaign_demo_loads_everything_once_and_says_what_it_added(settings):
    plugins = load_plugins(entry_points=False)

    first = run_demo(settings, plugins, "--contacts", "30")

    assert first.exit_code == 0, first.output
    contacts, reports, campaign, processes = first.output.splitlines()
    assert contacts.startswith("contacts: 30 created, 0 already present; partners: ")
    assert reports.startswith("default reports installed: ")
    assert campaign == f"demo campaign installed: {DEMO_QUERY}, {DEMO_CAMPAIGN}"
    assert processes.startswith("campaign processes: ") and "left out" not in processes
    again = run_demo(settings, plugins, "--contacts", "30")
    contacts, processes = again.output.splitlines()
    assert contacts.startswith("contacts: 0 created, 30 already present; ")
    assert processes == "campaign processes: 0 created"


def test_plugins_add_their_demo_data_to_the_ready_campaign_or_are_told_it_is_missing(settings):
    handed = []

    class Guestbook:
        @staticmethod
        @hookimpl
        def install_demo_data(campaign):
            handed.append(campaign.name if campaign else None)
            return "guestbook: 1 entry"

    without_print = load_plugins(disabled=["plugins.actions.print_reports"], entry_points=False)
    without_print.add(Guestbook, "guestbook", "test")
    output = run_demo(settings, without_print, "--contacts", "5").output
    assert "left out: the demo's campaign: a plugin it needs is missing" in output

    plugins = load_plugins(entry_points=False)
    plugins.add(Guestbook, "guestbook", "test")
    output = run_demo(settings, plugins, "--contacts", "5").output
    assert f"demo campaign installed: {DEMO_CAMPAIGN}\n" in output
    assert output.endswith("guestbook: 1 entry\n")
    assert handed == [None, DEMO_CAMPAIGN]


def test_a_negative_number_of_contacts_is_refused_by_the_command(settings):
    result = run_demo(settings, load_plugins(entry_points=False), "--contacts", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--contacts': -1 is not in the range x>=0." in result.output
