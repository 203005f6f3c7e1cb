"""A campaign's own records: added by hand, frozen from a query, imported from CSV files."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from core.db.database import Database
from core.models import Campaign, CampaignRecord, Contact, SavedQuery
from webapp.campaigns import records as campaign_records
from webapp.campaigns.records import (
    CampaignDataError,
    CsvImportError,
    RowsRefused,
    add_records,
    freeze_query,
    import_csv,
    list_records,
    preview_csv,
    remove_records,
)
from webapp.i18n import render_stored


@pytest.fixture
def campaign(database: Database) -> int:
    with database.session() as session:
        campaign = Campaign(name="Kampagne", datasource="static", action="none")
        session.add(campaign)
        session.flush()
        return campaign.id


@pytest.fixture
def contacts(database: Database) -> list[int]:
    """Five contacts; the first three live in Köln."""
    with database.session() as session:
        added = [
            Contact(number=f"K{n}", last_name=f"Name{n}", city="Köln" if n < 3 else "Bonn")
            for n in range(5)
        ]
        session.add_all(added)
        session.flush()
        return [contact.id for contact in added]


def stored(database: Database, campaign: int) -> list[tuple]:
    with database.session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    CampaignRecord.entity,
                    CampaignRecord.entity_id,
                    CampaignRecord.source,
                    CampaignRecord.line_number,
                    CampaignRecord.data,
                )
                .where(CampaignRecord.campaign_id == campaign)
                .order_by(CampaignRecord.id)
            )
        ]


def references(database: Database, campaign: int) -> set[tuple[int, str]]:
    return {(entity_id, source) for _, entity_id, source, _, _ in stored(database, campaign)}


# ---------------------------------------------------------------------------------------------
# records added by hand and frozen from a query

COLOGNE = {
    "root": "contacts",
    "where": {"conditions": [{"field": "city", "type": "equals", "values": ["Köln"]}]},
}


def test_add_records_ignores_duplicates(database, campaign, contacts):
    with database.session() as session:
        assert (
            add_records(session, campaign, "contacts", [contacts[0], contacts[1], contacts[0]]) == 2
        )
        assert add_records(session, campaign, "contacts", [contacts[1], contacts[2]]) == 1
    assert references(database, campaign) == {(c, "manual") for c in contacts[:3]}


def test_add_records_refuses_ids_that_do_not_exist(database, campaign, contacts):
    missing = list(range(9001, 9008))
    with (
        database.session() as session,
        pytest.raises(
            CampaignDataError,
            match=r"^7 records of contacts do not exist: ids 9001, 9002, .*, 9005 and 2 more$",
        ) as refused,
    ):
        add_records(session, campaign, "contacts", [contacts[3], *missing])
    assert render_stored(refused.value.text, "de", {}) == (
        "7 Datensätze aus contacts gibt es nicht: IDs 9001, 9002, 9003, 9004, 9005 und 2 weitere"
    )
    assert stored(database, campaign) == []
    with database.session() as session:
        with pytest.raises(CampaignDataError, match=r"unknown entity 'people'; known: contacts"):
            add_records(session, campaign, "people", [contacts[0]])
        with pytest.raises(CampaignDataError, match=r"no campaign with id 404"):
            add_records(session, 404, "contacts", [contacts[0]])


def test_remove_records(database, campaign, contacts):
    with database.session() as session:
        add_records(session, campaign, "contacts", contacts[:3])
        assert remove_records(session, campaign, "contacts", [contacts[0], contacts[4]]) == 1
    assert references(database, campaign) == {(c, "manual") for c in contacts[1:3]}


def test_freeze_query_replaces_the_frozen_records_and_keeps_the_manual_ones(
    database, campaign, contacts
):
    with database.session() as session:
        add_records(session, campaign, "contacts", [contacts[0], contacts[4]])
        assert freeze_query(session, campaign, COLOGNE) == 2  # the first is already there
    assert references(database, campaign) == {
        (contacts[0], "manual"),
        (contacts[4], "manual"),
        (contacts[1], "frozen"),
        (contacts[2], "frozen"),
    }
    bonn = {
        **COLOGNE,
        "where": {"conditions": [{"field": "city", "type": "equals", "values": ["Bonn"]}]},
    }
    with database.session() as session:
        saved = SavedQuery(name="Bonn", definition=bonn)
        session.add(saved)
        session.flush()
        assert freeze_query(session, campaign, saved.id) == 1
    assert references(database, campaign) == {
        (contacts[0], "manual"),
        (contacts[4], "manual"),
        (contacts[3], "frozen"),
    }
    with database.session() as session, pytest.raises(LookupError, match="saved query 99 does"):
        freeze_query(session, campaign, 99)


def test_list_records_pages_with_the_fields_of_each_record(database, campaign, contacts):
    with database.session() as session:
        add_records(session, campaign, "contacts", contacts[:3])
        import_csv(session, campaign, b"Nachname;E-Mail\nImport;i@example.de\n", replace=False)
        session.execute(delete(Contact).where(Contact.id == contacts[1]))
    with database.session() as session:
        page = list_records(session, campaign, offset=1, limit=10)
    assert page.total == 4
    assert [(r.entity, r.entity_id, r.source) for r in page.records] == [
        ("contacts", contacts[1], "manual"),
        ("contacts", contacts[2], "manual"),
        ("import", None, "import"),
    ]
    assert page.records[0].data is None  # the contact was deleted meanwhile
    assert page.records[1].data["last_name"] == "Name2"
    assert page.records[2].data["email"] == "i@example.de"
    assert page.records[2].line_number == 2


# ---------------------------------------------------------------------------------------------
# CSV import


def imported(database: Database, campaign: int) -> list[tuple[int, dict]]:
    return [
        (line, data)
        for entity, _, _, line, data in stored(database, campaign)
        if entity == "import"
    ]


def test_excel_file_from_german_windows(database, campaign):
    raw = (
        "Anrede;Vorname;Nachname;Straße;PLZ;Ort;E-Mail;Bemerkung\r\n"
        "Herr;Jürgen;Müller;Hauptstraße 1;50667;Köln;jm@example.de;Stammkunde\r\n"
        "Frau;Änne;Weiß;Gartenweg 2;01067;Dresden;;\r\n"
    ).encode("cp1252")
    with database.session() as session:
        report = import_csv(session, campaign, raw)
    assert (report.imported, report.errors, report.encoding, report.delimiter) == (
        2,
        [],
        "cp1252",
        ";",
    )
    assert report.mapping == {
        "Anrede": "salutation",
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Straße": "street",
        "PLZ": "postcode",
        "Ort": "city",
        "E-Mail": "email",
    }
    assert report.ignored_columns == ["Bemerkung"]
    assert imported(database, campaign) == [
        (
            2,
            {
                "salutation": "Herr",
                "first_name": "Jürgen",
                "last_name": "Müller",
                "street": "Hauptstraße 1",
                "postcode": "50667",
                "city": "Köln",
                "email": "jm@example.de",
            },
        ),
        (
            3,
            {
                "salutation": "Frau",
                "first_name": "Änne",
                "last_name": "Weiß",
                "street": "Gartenweg 2",
                "postcode": "01067",
                "city": "Dresden",
                "email": None,
            },
        ),
    ]


def test_utf8_with_bom_and_commas(database, campaign):
    raw = "\ufeffFirst Name,Last Name,Email,Zip,City\nZoë,Ångström,zoe@example.com,80331,München\n"
    with database.session() as session:
        report = import_csv(session, campaign, raw.encode("utf-8"))
    assert (report.imported, report.encoding, report.delimiter) == (1, "utf-8-sig", ",")
    assert imported(database, campaign)[0][1] == {
        "first_name": "Zoë",
        "last_name": "Ångström",
        "email": "zoe@example.com",
        "postcode": "80331",
        "city": "München",
    }


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_tab_delimited(database, campaign, encoding):
    raw = "Firma\tE-Mail-Adresse\tTelefon\nMüller GmbH\tinfo@mueller.de\t0221 123\n"
    with database.session() as session:
        report = import_csv(session, campaign, raw.encode(encoding))
    assert (report.imported, report.encoding, report.delimiter) == (1, encoding, "\t")
    assert imported(database, campaign)[0][1] == {
        "company_name": "Müller GmbH",
        "email": "info@mueller.de",
        "phone": "0221 123",
    }


ROWS_WITH_ERRORS = (
    "Vorname;Nachname;E-Mail;PLZ\n"  # 1
    "Anna;Alt;anna@example.de;12345\n"  # 2
    'Bernd;"Bau\n'  # 3: a quoted field with a line break ...
    'er";bernd@example.de;1234\n'  # 4: ... ends here
    "Carl;Clever;kein-mail;54321\n"  # 5
    "\n"  # 6: blank
    "Dora;Dorn;dora@example.de\n"  # 7
    'Emil;"Ecke\n'  # 8
    'Kante";emil@example.de;99999\n'  # 9
    ";;;\n"  # 10: an empty row as Excel writes it
    "Fritz;Frei;fritz@;0815x\n"  # 11
)


def test_rows_with_errors_stop_the_import_and_are_reported_by_physical_line(database, campaign):
    with database.session() as session:
        import_csv(session, campaign, GOOD_FILE)
    with database.session() as session, pytest.raises(RowsRefused) as refused:
        import_csv(session, campaign, ROWS_WITH_ERRORS.encode())
    assert [(error.line, error.message) for error in refused.value.errors] == [
        (3, "PLZ: '1234' is not 5 digits (a leading zero lost in Excel?)"),
        (5, "E-Mail: 'kein-mail' is not an e-mail address"),
        (7, "expected 4 fields, found 3"),
        (11, "E-Mail: 'fritz@' is not an e-mail address; PLZ: '0815x' is not 5 digits"),
    ]
    assert len(imported(database, campaign)) == 2  # the earlier import, untouched
    with database.session() as session:
        report = import_csv(session, campaign, ROWS_WITH_ERRORS.encode(), only_valid_rows=True)
    assert report.imported == 2
    assert [error.line for error in report.errors] == [3, 5, 7, 11]
    assert [(line, data["last_name"]) for line, data in imported(database, campaign)] == [
        (2, "Alt"),
        (8, "Ecke\nKante"),
    ]


def test_countries_are_normalised_and_postcodes_checked_for_germany(database, campaign):
    raw = (
        "Name;PLZ;Land\n"
        "Wien;1010;Österreich\n"
        "Basel;4051;CH\n"
        "Köln;50667;Deutschland\n"
        "Bonn;5311;D\n"
        "Nirgendwo;12345;Atlantis\n"
    ).encode()
    with database.session() as session:
        report = import_csv(session, campaign, raw, only_valid_rows=True)
    assert [(error.line, error.message) for error in report.errors] == [
        (5, "PLZ: '5311' is not 5 digits (a leading zero lost in Excel?)"),
        (6, "Land: 'Atlantis' is not a country code such as DE, AT, CH"),
    ]
    assert [data["country"] for _, data in imported(database, campaign)] == ["AT", "CH", "DE"]


def test_an_explicit_mapping(database, campaign):
    raw = b"Kennung;Mail;Kunde\n7;k@example.de;Krause\n"
    with database.session() as session:
        report = import_csv(session, campaign, raw, mapping={"Mail": "email", "Kunde": "last_name"})
    assert (report.mapping, report.ignored_columns) == (
        {"Mail": "email", "Kunde": "last_name"},
        ["Kennung"],
    )
    assert imported(database, campaign) == [(2, {"email": "k@example.de", "last_name": "Krause"})]


GOOD_FILE = b"Nachname;E-Mail\nAlt;alt@example.de\nBau;bau@example.de\n"


@pytest.mark.parametrize(
    ("raw", "options", "message"),
    [
        (
            "Nachname;Ort\nMüller;Köln\n".encode("cp1252"),
            {"encoding": "utf-8"},
            r"^line 2: byte 0xfc cannot be read as utf-8",
        ),
        (b"", {}, r"^the file is empty$"),
        (b"\r\n \r\n", {}, r"^the file is empty$"),
        (b"\nNachname\nAlt\n", {}, r"^line 1: no header"),
        (b"Anna;Alt;anna@example.de\n", {}, r"^line 1: no column could be mapped"),
        (b"Name;Name\nA;B\n", {}, r"^line 1: columns named twice: Name$"),
        (GOOD_FILE, {"mapping": {"E-Mail": "mail"}}, r"^mapping: unknown field 'mail' for"),
        (GOOD_FILE, {"mapping": {"Email": "email"}}, r"^mapping: the file has no column 'Email'"),
        (
            GOOD_FILE,
            {"mapping": {"E-Mail": "email", "Nachname": "email"}},
            r"^mapping: columns 'E-Mail' and 'Nachname' both map to email$",
        ),
        (GOOD_FILE, {"encoding": "klingonisch"}, r"^unknown encoding 'klingonisch'$"),
        (GOOD_FILE, {"delimiter": ";;"}, r"^delimiter ';;' must be one character"),
        (b'Nachname;Ort\nAlt;"K\xc3\xb6ln\n', {}, r"^line 2: unexpected end of data"),
    ],
)
def test_a_fatal_error_imports_nothing(database, campaign, raw, options, message):
    with database.session() as session:
        import_csv(session, campaign, GOOD_FILE)
    before = stored(database, campaign)
    with database.session() as session, pytest.raises(CsvImportError, match=message):
        import_csv(session, campaign, raw, **options)
    assert stored(database, campaign) == before
    assert len(before) == 2


def test_limits_on_rows_and_size(database, campaign, monkeypatch):
    monkeypatch.setattr(campaign_records, "MAX_ROWS", 2)
    with database.session() as session:
        import_csv(session, campaign, GOOD_FILE)  # exactly the limit
        with pytest.raises(CsvImportError, match=r"^the file has more than 2 rows$"):
            import_csv(session, campaign, GOOD_FILE + b"Cut;cut@example.de\n")
    monkeypatch.setattr(campaign_records, "MAX_BYTES", len(GOOD_FILE) - 1)
    with database.session() as session, pytest.raises(CsvImportError, match=r"larger than"):
        import_csv(session, campaign, GOOD_FILE)
    assert len(imported(database, campaign)) == 2


def test_replace_or_append(database, campaign, contacts):
    with database.session() as session:
        add_records(session, campaign, "contacts", [contacts[0]])
        import_csv(session, campaign, GOOD_FILE)
        import_csv(session, campaign, b"Nachname\nNeu\n", replace=False)
    assert [data["last_name"] for _, data in imported(database, campaign)] == ["Alt", "Bau", "Neu"]
    with database.session() as session:
        assert import_csv(session, campaign, b"Nachname\nNur\n").imported == 1
    assert [data["last_name"] for _, data in imported(database, campaign)] == ["Nur"]
    assert references(database, campaign) == {(contacts[0], "manual"), (None, "import")}


def test_preview_stores_nothing():
    preview = preview_csv(ROWS_WITH_ERRORS.encode("cp1252"), rows=1)
    assert (preview.encoding, preview.delimiter, preview.row_count) == ("utf-8", ";", 6)
    assert preview.header == ["Vorname", "Nachname", "E-Mail", "PLZ"]
    assert [(row.line, row.data["first_name"]) for row in preview.rows] == [(2, "Anna")]
    assert [error.line for error in preview.errors] == [3, 5, 7, 11]
