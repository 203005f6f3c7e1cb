from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from test_filters_common import (
    CONTACT_TARGETS,
    FilterContext,
    add_contacts,
    add_contracts,
    add_filter_plugins,
    imported,
    passed,
    recipients_of,
    same_in_sql_and_stream,
    sql_ids,
    streamed_ids,
)

from core import SettingsError
from core.engine.runs import start_run
from core.models import Contact, RunState, SalesPartner
from core.query import QueryError
from plugins.filters.dedupe import Dedupe


def day(n: int) -> datetime:
    return datetime(2024, 1, n, tzinfo=UTC)


CONTACTS = [
    {"email": "Max@Web.de ", "created_at": day(3), "city": "Bonn"},
    {"email": "max@web.de", "created_at": day(1), "city": "Köln"},
    {"email": " MAX@WEB.DE", "created_at": day(2), "city": "Köln"},
    {"email": "anna@example.de", "created_at": day(1), "city": "Köln"},
    {"email": "", "created_at": day(1), "city": "Köln"},
    {"email": "", "created_at": day(1), "city": "Köln"},
    {"email": None, "created_at": day(1), "city": "Köln"},
    {"email": "jürgen@müller.de", "created_at": day(5), "city": "Köln"},
    {"email": "JÜRGEN@MÜLLER.DE", "created_at": day(4), "city": "Köln"},
]


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        ("lowest_id", [1, 4, 5, 6, 7, 8]),
        ("newest", [1, 4, 5, 6, 7, 8]),
        ("oldest", [2, 4, 5, 6, 7, 9]),
    ],
)
def test_one_per_email_ignoring_case_and_spaces(database, keep, expected):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session)
        dedupe = Dedupe({"key": "email", "keep": keep})
        assert same_in_sql_and_stream(dedupe, context) == {ids[n - 1] for n in expected}


def test_duplicates_are_judged_within_the_population(database):
    """The table's preferred record may be filtered out earlier: the next one stays."""
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session)
        dedupe = Dedupe({"key": "email"})
        in_cologne = CONTACT_TARGETS.where(Contact.city == "Köln")
        expected = {ids[n - 1] for n in (2, 4, 5, 6, 7, 8)}
        assert sql_ids(dedupe, context, in_cologne) == expected
        recipients = [r for r in recipients_of(session, "contacts") if r.data["city"] == "Köln"]
        for stream in (recipients, recipients[::-1]):
            assert {r.id for r in passed(dedupe, stream, context)} == expected


def test_mobile_numbers_ignore_separators(database):
    with database.session() as session:
        ids = add_contacts(
            session,
            {"mobile": "+49 171 1234567"},
            {"mobile": "+49-171-123 45 67"},
            {"mobile": "(+49) 171/1234567"},
            {"mobile": "0171 1234567"},
            {"mobile": " "},
            {"mobile": " "},
        )
        context = FilterContext(session)
        dedupe = Dedupe({"key": "mobile"})
        assert same_in_sql_and_stream(dedupe, context) == {ids[0], ids[3], ids[4], ids[5]}


def test_name_and_address_needs_a_complete_address_to_be_a_duplicate(database):
    with database.session() as session:
        ids = add_contacts(
            session,
            {"first_name": "Max", "last_name": "Müller", "street": "Hauptstr. 1",
             "postcode": "50667", "city": "Köln"},
            {"first_name": " max", "last_name": "MÜLLER ", "street": "hauptstr. 1",
             "postcode": "50667", "city": "KÖLN"},
            {"first_name": "Erika", "last_name": "Müller", "street": "Hauptstr. 1",
             "postcode": "50667", "city": "Köln"},
            {"company_name": "Bäckerei Öz", "street": "Markt 3", "postcode": "10115",
             "city": "Berlin"},
            {"company_name": "bäckerei öz", "street": "markt 3", "postcode": "10115",
             "city": "berlin"},
            {"last_name": "Schulz", "postcode": "80331"},
            {"last_name": "Schulz", "postcode": "80331"},
        )  # fmt: skip
        context = FilterContext(session)
        dedupe = Dedupe({"key": "name_and_address"})
        expected = {ids[0], ids[2], ids[3], ids[5], ids[6]}
        assert same_in_sql_and_stream(dedupe, context) == expected


def test_any_field_path_can_be_the_key(database):
    with database.session() as session:
        partners = session.scalars(
            insert(SalesPartner).returning(SalesPartner.id),
            [{"number": "SP1", "name": "Vogel"}, {"number": "sp2", "name": "Vogel "}],
        ).all()
        ids = add_contacts(
            session,
            {"partner_id": partners[0]},
            {"partner_id": partners[1]},
            {"partner_id": partners[0]},
            {"partner_id": None},
            {"partner_id": None},
        )
        context = FilterContext(session)
        by_partner = Dedupe({"key": "partner.name"})
        assert same_in_sql_and_stream(by_partner, context) == {ids[0], ids[3], ids[4]}
        by_partner_id = Dedupe({"key": "partner.id"})
        assert same_in_sql_and_stream(by_partner_id, context) == {ids[0], ids[1], ids[3], ids[4]}


def test_contracts_are_deduplicated_by_their_contacts_email(database):
    with database.session() as session:
        first, second = add_contacts(session, {"email": "a@example.de"}, {"email": "A@example.de"})
        contracts = add_contracts(session, first, second, first)
        context = FilterContext(session, entity="contracts")
        assert same_in_sql_and_stream(Dedupe(), context) == {contracts[0]}
        by_contact = Dedupe({"key": "contact.id", "keep": "oldest"})
        assert same_in_sql_and_stream(by_contact, context) == {contracts[0], contracts[1]}


def test_unknown_keys_are_named(database):
    with database.session() as session:
        add_contacts(session, *CONTACTS)
        context = FilterContext(session)
        wrong = Dedupe({"key": "partner.mail"})
        with pytest.raises(QueryError, match="key: unknown field 'mail' on partners"):
            sql_ids(wrong, context)
        with pytest.raises(QueryError, match="key: unknown field 'mail' on partners"):
            streamed_ids(wrong, context)
        with pytest.raises(QueryError, match=r"'contracts\.number' has many values per contacts"):
            sql_ids(Dedupe({"key": "contracts.number"}), context)
        context.entity = "partners"
        query = select(SalesPartner.id.label("id"), SalesPartner.city.label("group_key"))
        with pytest.raises(QueryError, match="name_and_address needs records that have a contact"):
            sql_ids(Dedupe({"key": "name_and_address"}), context, query)
    with pytest.raises(SettingsError, match="keep: Input should be 'lowest_id'"):
        Dedupe({"keep": "first"})


def test_imported_rows_keep_the_first_row_of_each_key(database):
    rows = imported(
        {"email": "max@web.de"},
        {"email": " MAX@web.de"},
        {"email": ""},
        {"email": ""},
        {"mobile": "0171 1234567"},
        {"email": "anna@example.de"},
    )
    with database.session() as session:
        context = FilterContext(session, entity="import")
        assert [r.id for r in passed(Dedupe(), rows, context)] == [1, 3, 4, 5, 6]
        with pytest.raises(ValueError, match="keep='newest' needs created_at"):
            passed(Dedupe({"keep": "newest"}), rows, context)


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_a_campaign_mails_each_valid_address_once(engine, tmp_path, datasource):
    """The e-mail check streams, so deduplication streams after it in a real run."""
    add_filter_plugins(engine, "channel", "dedupe")
    with engine.runtime.database.session() as session:
        ids = add_contacts(
            session,
            {"email": "max@", "last_name": "A"},
            {"email": "Max@Web.de", "last_name": "B"},
            {"email": "max@web.de ", "last_name": "C"},
            {"email": "anna@example.de", "last_name": "D"},
        )
    out = tmp_path / "sent.txt"
    campaign = engine.campaign(
        datasource=datasource,
        action="test_notify",
        action_settings={"path": str(out)},
        filters=[{"name": "channel"}, {"name": "dedupe", "settings": {"key": "email"}}],
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    assert engine.run(run.id).state == RunState.COMPLETED
    assert sorted(out.read_text().split()) == [f"contacts:{ids[1]}", f"contacts:{ids[3]}"]
