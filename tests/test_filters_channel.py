import pytest
from sqlalchemy import select
from test_filters_common import (
    FilterContext,
    add_contacts,
    add_contracts,
    imported,
    passed,
    same_in_sql_and_stream,
    sql_ids,
    streamed_ids,
)

from core import Channel, SettingsError
from core.models import SalesPartner
from core.query import QueryError
from core.reach import valid_email, valid_mobile
from plugins.filters.channel import HasChannel

CONTACTS = [
    # e-mail, mobile, postal address
    {"email": "max@web.de", "mobile": "+49 171 1234567", "last_name": "Müller",
     "street": "Hauptstr. 1", "postcode": "50667", "city": "Köln"},
    {"email": "max@", "mobile": "030 1234567", "company_name": "Bäckerei Öz GmbH",
     "address_extra": "Postfach 12 34", "postcode": "10115", "city": "Berlin"},
    {"email": "max mustermann@web.de", "mobile": "0171 7654321", "last_name": "Mustermann",
     "postcode": "80331"},
    {"email": "jürgen.müller@müller.de", "mobile": "12345", "last_name": "  ",
     "postcode": "50667", "city": "Köln"},
    {"email": " anna@example.com ", "mobile": "+43 664 1234567", "last_name": "Schmidt",
     "postcode": "", "city": "Wien"},
    {"email": "a..b@web.de", "mobile": "", "last_name": "Weiß", "postcode": "20095",
     "city": "  "},
    {"email": None, "mobile": None, "last_name": None, "company_name": None},
    {"email": "", "mobile": "0151-12345678", "last_name": "Groß", "street": "Markt 3a",
     "postcode": "01067", "city": "Dresden", "country": "DE"},
]  # fmt: skip


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("max@web.de", True),
        ("Info@Firma.DE", True),
        ("jürgen.müller@müller.de", True),
        ("o'brien+newsletter@mail.example.co.uk", True),
        (" anna@example.com ", True),
        ("max@", False),
        ("max mustermann@web.de", False),
        ("@web.de", False),
        ("a..b@web.de", False),
        ("max@web", False),
        ("max@-web.de", False),
        ("max@web.de.", False),
        ("max@@web.de", False),
        ("", False),
        (None, False),
    ],
)
def test_email_syntax(address, valid):
    assert valid_email(address) is valid


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("+49 171 1234567", True),
        ("0171 1234567", True),
        ("0151-12345678", True),
        ("+43 664 1234567", True),
        ("030 1234567", False),  # a Berlin landline
        ("+49 30 1234567", False),
        ("12345", False),
        ("mobil", False),
        ("", False),
        (None, False),
    ],
)
def test_mobile_numbers(number, valid):
    assert valid_mobile(number, "DE") is valid


def test_the_default_region_reads_numbers_without_country_code():
    assert valid_mobile("0664 1234567", "AT")
    assert not valid_mobile("0664 1234567", "DE")
    assert HasChannel({"region": "at"}).params.region == "AT"
    with pytest.raises(SettingsError, match="region: 'XX' is not a region"):
        HasChannel({"region": "xx"})


def test_postal_addresses_in_sql_and_streaming(database):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session, channel=Channel.POSTAL)
        assert same_in_sql_and_stream(HasChannel(), context) == {ids[0], ids[1], ids[7]}


ADDRESSES = [
    # a letter needs a street with a house number or a PO box, and a country code if any
    ({"street": "Hauptstr. 5"}, True),
    ({"street": "Hauptstraße"}, False),
    ({"street": None, "address_extra": "Postfach 100"}, True),
    ({"street": None, "address_extra": "PO Box 7"}, True),
    ({"street": None, "address_extra": "Postfach"}, False),
    ({"street": None, "address_extra": "Hinterhaus 2"}, False),
    ({"street": "10 Downing Street", "country": "GB"}, True),
    ({"street": "Rue 9", "country": "F"}, False),
    ({"street": "Hauptstr. 5", "last_name": None, "company_name": "Öz GmbH"}, True),
    ({"street": "Hauptstr. 5", "postcode": " "}, False),
]


def test_a_letter_needs_a_street_and_number_or_a_po_box(database):
    base = {"last_name": "Kurz", "postcode": "50667", "city": "Köln"}
    rows = [base | fields for fields, _ in ADDRESSES]
    expected = {n + 1 for n, (_, complete) in enumerate(ADDRESSES) if complete}
    with database.session() as session:
        ids = add_contacts(session, *rows)
        context = FilterContext(session, channel=Channel.POSTAL)
        assert same_in_sql_and_stream(HasChannel(), context) == {ids[n - 1] for n in expected}
        context.entity = "import"
        assert {r.id for r in passed(HasChannel(), imported(*rows), context)} == expected


@pytest.mark.parametrize(("channel", "expected"), [("email", [1, 4, 5]), ("mobile", [1, 3, 5, 8])])
def test_email_and_mobile_stream_in_any_order(database, channel, expected):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session, channel=Channel(channel))
        assert HasChannel().narrow(object(), context) is None
        wanted = {ids[n - 1] for n in expected}
        assert streamed_ids(HasChannel(), context) == wanted
        assert streamed_ids(HasChannel(), context, reverse=True) == wanted


def test_a_chosen_channel_overrides_the_actions(database):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session, channel=Channel.EMAIL)
        assert same_in_sql_and_stream(HasChannel({"channel": "postal"}), context) == {
            ids[0],
            ids[1],
            ids[7],
        }


def test_an_action_without_channel_passes_everyone(database):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session, channel=Channel.NONE)
        assert same_in_sql_and_stream(HasChannel(), context) == set(ids)


def test_contracts_are_checked_through_their_contact(database):
    with database.session() as session:
        contact_ids = add_contacts(session, *CONTACTS)
        # contract n belongs to contact n; the last two contracts both to the first contact
        contract_ids = add_contracts(session, *contact_ids, contact_ids[0], contact_ids[0])
        expected = {0, 1, 7, 8, 9}  # positions whose contact has a complete address
        context = FilterContext(session, entity="contracts", channel=Channel.POSTAL)
        assert same_in_sql_and_stream(HasChannel(), context) == {contract_ids[n] for n in expected}
        context.channel = Channel.EMAIL
        assert streamed_ids(HasChannel(), context) == {contract_ids[n] for n in (0, 3, 4, 8, 9)}


def test_roots_without_a_contact_are_refused_clearly(database):
    with database.session() as session:
        context = FilterContext(session, entity="partners", channel=Channel.POSTAL)
        query = select(SalesPartner.id.label("id"), SalesPartner.city.label("group_key"))
        with pytest.raises(QueryError, match="the channel filter needs records that have a "):
            sql_ids(HasChannel(), context, query)


def test_imported_rows_are_checked_on_their_data(database):
    rows = imported(*CONTACTS)
    with database.session() as session:
        context = FilterContext(session, entity="import")
        for channel, expected in [
            (Channel.EMAIL, [1, 4, 5]),
            (Channel.MOBILE, [1, 3, 5, 8]),
            (Channel.POSTAL, [1, 2, 8]),
        ]:
            context.channel = channel
            assert [r.id for r in passed(HasChannel(), rows, context)] == expected
