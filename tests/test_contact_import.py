"""Importing contacts from CSV: mapping, per-row errors with line numbers named by the file's
columns, all rows or none, new numbers from the sequence, matching on number, e-mail or name
and address, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import func, select

from core.models import Contact, ContactKind, ContactStatus, DispatchChannel
from webapp.contact_import import import_contacts, plan_contact_import
from webapp.contact_numbers import new_contact_numbers
from webapp.csv_import import CsvImportError, RowsRefused

FILE = (
    "Kundennummer;Vorname;Nachname;PLZ;Ort;E-Mail;Art;Status;Versandweg;Versandsperre;"
    "Geburtsdatum\n"
    "K-1;Anna;Schmidt;50667;Köln;anna@example.de;Person;Kunde;E-Mail;nein;01.02.1980\n"
    "K-2;;Beispiel GmbH;10115;Berlin;;Firma;Interessent;Post;ja;\n"
    "K-3;Bernd;Fehler;5066;Köln;kein-at-zeichen;Person;Kunde;Fax;vielleicht;31.02.1990\n"
    "K-1;Anna;Doppelt;50667;Köln;;;;;;\n"
    ";Ohne;Nummer;50667;Köln;;;;;;\n"
).encode("cp1252")


def plan(session, raw=FILE, **options):
    return plan_contact_import(session, raw, **options)


def test_a_file_is_checked_row_by_row_with_line_numbers(database):
    with database.session() as session:
        result = plan(session)
    assert result.parsed.encoding == "cp1252" and result.parsed.delimiter == ";"
    assert [row.data["number"] for row in result.new] == ["K-1", "K-2", None]
    assert result.numbers_to_assign == 1
    errors = {error.line: error.message for error in result.errors}
    assert set(errors) == {4, 5}
    assert "PLZ: '5066' is not 5 digits (a leading zero lost in Excel?)" in errors[4]
    assert "E-Mail: 'kein-at-zeichen' is not an e-mail address" in errors[4]
    assert "Versandweg: 'Fax' is not one of email, post, web" in errors[4]
    assert "Versandsperre: 'vielleicht' is not yes or no" in errors[4]
    assert "Geburtsdatum: '31.02.1990' is not a date" in errors[4]
    assert errors[5] == "Kundennummer: 'K-1' appears already on line 2"


def test_rows_with_problems_stop_the_import_unless_only_the_valid_rows_are_chosen(database):
    with database.session() as session, pytest.raises(RowsRefused) as refused:
        import_contacts(session, plan(session))
    assert [error.line for error in refused.value.errors] == [4, 5]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
    with database.session() as session:
        report = import_contacts(session, plan(session), only_valid_rows=True)
    assert (report.created, report.updated) == (3, 0)
    assert [error.line for error in report.errors] == [4, 5]  # what was left out


def test_the_import_creates_contacts_with_typed_values(database):
    with database.session() as session:
        report = import_contacts(session, plan(session), only_valid_rows=True)
    assert (report.created, report.updated, len(report.errors)) == (3, 0, 2)
    with database.session() as session:
        anna = session.scalar(select(Contact).where(Contact.number == "K-1"))
        company = session.scalar(select(Contact).where(Contact.number == "K-2"))
        assert anna.birth_date == date(1980, 2, 1)
        assert anna.preferred_channel is DispatchChannel.EMAIL
        assert anna.status is ContactStatus.CUSTOMER and anna.country == "DE"
        assert company.kind is ContactKind.COMPANY and company.dispatch_block is True
        assert company.first_name is None and company.email is None


def test_existing_numbers_are_errors_unless_updating(database):
    with database.session() as session:
        import_contacts(session, plan(session), only_valid_rows=True)
    change = b"Kundennummer;Ort;E-Mail\nK-1;Bonn;\nK-9;Aachen;neu@example.de\n"
    with database.session() as session:
        refused = plan(session, change)
    assert [row.data["number"] for row in refused.new] == ["K-9"]
    assert (
        refused.errors[0].line == 2
        and refused.errors[0].message == "Kundennummer: contact 'K-1' exists already"
    )
    with database.session() as session:
        report = import_contacts(session, plan(session, change, update_existing=True))
    assert (report.created, report.updated) == (1, 1)
    with database.session() as session:
        anna = session.scalar(select(Contact).where(Contact.number == "K-1"))
        assert anna.city == "Bonn"
        assert anna.email == "anna@example.de"  # an empty cell changes nothing


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the file is empty"),
        (b"Vorname;E-Mail\nAnna;a@example.de\n", "match_on: the file has no column with"),
        (b"Foo;Bar\n1;2\n", "line 1: no column could be mapped"),
        (b'Kundennummer;Nachname\nK-1;"offen\n', "line 2: .*quote left open"),
        (b"\xff\xfeK\x00-\x001", "line 1: byte 0x.. cannot be read as utf-16"),  # a BOM, no UTF-16
    ],
)
def test_a_fatal_problem_imports_nothing(database, raw, message):
    options = {"match_on": "number"} if b"Vorname;E-Mail" in raw else {}
    with database.session() as session, pytest.raises(CsvImportError, match=message):
        plan(session, raw, **options)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_chosen_mapping_replaces_the_detected_one(database):
    raw = b"Nr;Name;Stadt\nK-7;Meier;Hamm\n"
    with database.session() as session:
        result = plan(session, raw, mapping={"Nr": "number", "Name": "last_name", "Stadt": "city"})
        assert result.new[0].data == {"number": "K-7", "last_name": "Meier", "city": "Hamm"}
        with pytest.raises(CsvImportError, match="unknown field 'shoe_size'"):
            plan(session, raw, mapping={"Nr": "number", "Name": "shoe_size"})


ADDRESS_FILES = {
    "utf-8 with BOM and commas": (
        "\ufeffAnrede,Vorname,Nachname,Straße,PLZ,Ort,E-Mail\r\n"
        'Frau,Jördis,Müller,"Hauptstraße 1",50667,Köln,joerdis@example.de\r\n'
        'Herr,Björn,Groß,"Am Markt 2\r\nHinterhaus",10115,Berlin,bjoern@example.de\r\n'
    ).encode("utf-8"),
    "cp1252 with semicolons": (
        "Anrede;Vorname;Nachname;Straße;PLZ;Ort;E-Mail\r\n"
        "Frau;Jördis;Müller;Hauptstraße 1;50667;Köln;joerdis@example.de\r\n"
        'Herr;Björn;Groß;"Am Markt 2\r\nHinterhaus";10115;Berlin;bjoern@example.de\r\n'
    ).encode("cp1252"),
}


@pytest.mark.parametrize("name", ADDRESS_FILES)
def test_an_address_file_without_numbers_gets_numbers_from_the_sequence(database, name):
    with database.session() as session:
        session.add(Contact(number="K-000041", last_name="Vorhanden", attributes={}))
    with database.session() as session:
        result = plan(session, ADDRESS_FILES[name])
        assert (result.match_on, result.numbers_to_assign, result.errors) == ("email", 2, [])
        report = import_contacts(session, result)
    assert (report.created, report.updated) == (2, 0)
    with database.session() as session:
        imported = session.scalars(
            select(Contact).where(Contact.city.is_not(None)).order_by(Contact.number)
        ).all()
        assert [(contact.number, contact.last_name) for contact in imported] == [
            ("K-000042", "Müller"),
            ("K-000043", "Groß"),
        ]
        assert imported[1].street == "Am Markt 2\r\nHinterhaus"
        session.add(Contact(number="K-000045", last_name="Von Hand", attributes={}))
    with database.session() as session:  # the sequence goes on, past a number given by hand
        assert new_contact_numbers(session, 2) == ["K-000044", "K-000046"]


def test_a_second_import_matches_on_email_or_on_name_and_address(database):
    with database.session() as session:
        import_contacts(session, plan(session, ADDRESS_FILES["cp1252 with semicolons"]))
    again = (
        "Vorname;Nachname;Straße;PLZ;Ort;E-Mail\n"
        "Jördis;Müller;Hauptstr. 1;50667;Bonn;JOERDIS@example.de\n"
        'Björn;Groß;"Am Markt 2\nHinterhaus";10115;Potsdam;neu@example.de\n'
    ).encode()
    with database.session() as session:
        by_email = plan(session, again)
        assert [error.message for error in by_email.errors] == [
            "E-Mail: contact 'JOERDIS@example.de' exists already"
        ]
        by_email = plan(session, again, update_existing=True)
        assert [row.line for _id, row in by_email.updates] == [2]
        assert [row.line for row in by_email.new] == [3]
        by_address = plan(session, again, update_existing=True, match_on="name_address")
        assert [row.line for _id, row in by_address.updates] == [2, 3]
        report = import_contacts(session, by_address)
    assert (report.created, report.updated) == (0, 2)
    with database.session() as session:
        contacts = session.scalars(select(Contact).order_by(Contact.number)).all()
        assert [(c.number, c.city, c.email) for c in contacts] == [
            ("K-000001", "Bonn", "JOERDIS@example.de"),
            ("K-000002", "Potsdam", "neu@example.de"),
        ]


def test_imports_at_once_never_get_the_same_numbers(database):
    with database.session() as session:
        new_contact_numbers(session, 1)  # the sequence exists; now four imports race for it

    def reserve(_: int) -> list[str]:
        with database.session() as session:
            return new_contact_numbers(session, 50)

    with ThreadPoolExecutor(4) as pool:
        blocks = list(pool.map(reserve, range(4)))
    numbers = sorted(number for block in blocks for number in block)
    assert numbers == [f"K-{n:06d}" for n in range(2, 202)]
