"""Extraction files: field columns of records read a page at a time, cells, and CSV files
that appear whole or not at all; on SQLite and PostgreSQL where records are read."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert

from core.documents.csv_export import CsvDialect
from core.documents.extraction import RecordColumns, cell, file_slug, write_csv
from core.models import Contact


def test_file_slugs_spell_out_umlauts_and_drop_the_unusual():
    assert file_slug("Frühjahr in Köln / Straße #2") == "Fruehjahr-in-Koeln-Strasse-2"
    assert file_slug("..") == ""


def test_cells_are_plain_text():
    assert [cell(None), cell(True), cell(date(2026, 3, 2)), cell(3)] == [
        "",
        "true",
        "2026-03-02",
        "3",
    ]
    assert cell(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) == "2026-03-02 09:00:00"


def test_record_columns_read_the_fields_of_a_page_of_records(database):
    with database.session() as session:
        ids = list(
            session.scalars(
                insert(Contact).returning(Contact.id),
                [
                    {"number": "K-1", "last_name": "Weiß", "city": "Köln", "attributes": {}},
                    {"number": "K-2", "last_name": "Ali", "city": None, "attributes": {}},
                ],
            )
        )
        columns = RecordColumns("contacts", ["city", "last_name", "city"])
        assert columns.cells(session, [*ids, 999]) == {
            ids[0]: ["Köln", "Weiß", "Köln"],
            ids[1]: ["", "Ali", ""],
        }
        assert columns.cells(session, []) == {}


def test_an_unknown_field_is_named_with_its_position_in_the_callers_columns():
    with pytest.raises(ValueError) as error:
        RecordColumns("contacts", ["city", "nickname"], where="export_columns", numbers=[1, 4])
    assert str(error.value).startswith(
        "export_columns[4].field: unknown field 'nickname' on contacts"
    )
    with pytest.raises(ValueError, match="'imports' records have no fields to extract"):
        RecordColumns("imports", ["city"])


def test_a_csv_file_is_written_whole(tmp_path):
    path = tmp_path / "out.csv"
    rows = [("contacts:1", ["Weiß", "Köln"]), ("contacts:2", ["Ali; Sohn", ""])]
    assert write_csv(path, ["Name", "Ort"], rows, CsvDialect(";", "cp1252")) == 2
    assert path.read_bytes() == 'Name;Ort\r\nWeiß;Köln\r\n"Ali; Sohn";\r\n'.encode("cp1252")


def test_a_value_the_encoding_cannot_hold_names_row_and_column_and_leaves_no_file(tmp_path):
    path = tmp_path / "out.csv"
    rows = [("contacts:1", ["Weiß", "Köln"]), ("contacts:7", ["Łukasiewicz", "Kraków"])]
    with pytest.raises(ValueError) as error:
        write_csv(path, ["Name", "Ort"], rows, CsvDialect(";", "iso-8859-15"))
    assert str(error.value) == (
        "row 2 (contacts:7), column 'Name': 'Łukasiewicz' cannot be written in iso-8859-15"
    )
    assert list(tmp_path.iterdir()) == []
