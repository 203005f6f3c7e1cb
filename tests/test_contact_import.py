"""Importing contacts from CSV: mapping, per-row errors with line numbers, create or update."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core.contact_import import import_contacts, plan_contact_import
from core.csv_import import CsvImportError
from core.models import Contact, ContactKind, ContactStatus, DispatchChannel

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
    assert [row.data["number"] for row in result.new] == ["K-1", "K-2"]
    errors = {error.line: error.message for error in result.errors}
    assert set(errors) == {4, 5, 6}
    assert "postcode: '5066' is not 5 digits (a leading zero lost in Excel?)" in errors[4]
    assert "email: 'kein-at-zeichen' is not an e-mail address" in errors[4]
    assert "preferred_channel: 'Fax' is not one of email, post, web" in errors[4]
    assert "dispatch_block: 'vielleicht' is not yes or no" in errors[4]
    assert "birth_date: '31.02.1990' is not a date" in errors[4]
    assert errors[5] == "number: 'K-1' appears already on line 2"
    assert errors[6] == "number: every row needs a contact number"


def test_the_import_creates_contacts_with_typed_values(database):
    with database.session() as session:
        report = import_contacts(session, plan(session))
    assert (report.created, report.updated, len(report.errors)) == (2, 0, 3)
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
        import_contacts(session, plan(session))
    change = b"Kundennummer;Ort;E-Mail\nK-1;Bonn;\nK-9;Aachen;neu@example.de\n"
    with database.session() as session:
        refused = plan(session, change)
    assert [row.data["number"] for row in refused.new] == ["K-9"]
    assert (
        refused.errors[0].line == 2 and "contact 'K-1' exists already" in refused.errors[0].message
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
        (b"Vorname;Nachname\nAnna;Schmidt\n", "a column must hold the contact number"),
        (b"Foo;Bar\n1;2\n", "line 1: no column could be mapped"),
        (b'Kundennummer;Nachname\nK-1;"offen\n', "line 2: .*quote left open"),
    ],
)
def test_a_fatal_problem_imports_nothing(database, raw, message):
    with database.session() as session, pytest.raises(CsvImportError, match=message):
        plan(session, raw)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_chosen_mapping_replaces_the_detected_one(database):
    raw = b"Nr;Name;Stadt\nK-7;Meier;Hamm\n"
    with database.session() as session:
        result = plan(session, raw, mapping={"Nr": "number", "Name": "last_name", "Stadt": "city"})
        assert result.new[0].data == {"number": "K-7", "last_name": "Meier", "city": "Hamm"}
        with pytest.raises(CsvImportError, match="unknown field 'shoe_size'"):
            plan(session, raw, mapping={"Nr": "number", "Name": "shoe_size"})
