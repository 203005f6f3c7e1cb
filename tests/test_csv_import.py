"""The shared CSV reader: header aliases, the address checks every import applies, problems
named by the file's own column headers, and files read as streams."""

from __future__ import annotations

import io
import os
import time

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage

from core.models import ADDRESS_FIELDS
from webapp.csv_import import (
    ADDRESS_ALIASES,
    CsvFormat,
    CsvImportError,
    Problem,
    RowError,
    RowsRefused,
    check_address,
    header_aliases,
    read_csv,
    refuse_row_errors,
)
from webapp.i18n import use_language
from webapp.imports import describe_import_error, drop_stale_uploads, save_upload

ADDRESSES = CsvFormat(ADDRESS_FIELDS, ADDRESS_ALIASES, check_address)


def test_headers_are_matched_in_german_and_english():
    aliases = header_aliases(ADDRESS_ALIASES)
    assert aliases["plz"] == aliases["zipcode"] == "postcode"
    assert aliases["emailadresse"] == "email"


def test_address_checks_normalise_the_country():
    row = {"email": "a@b.de", "country": "Frankreich", "postcode": "75001"}
    assert [str(problem) for problem in check_address(row)] == [
        "country: 'Frankreich' is not a country code such as DE, AT, CH"
    ]
    row = {"country": "Österreich", "postcode": "1010"}
    assert check_address(row) == [] and row["country"] == "AT"
    assert check_address({"postcode": None}) == [Problem("empty")]


def test_a_format_brings_its_own_fields_and_checks():
    csv_format = CsvFormat(("code",), {"code": "code kennung"}, lambda row: [])
    parsed = read_csv(b"Kennung\nA\n\nB\n", csv_format, max_bytes=1000, max_rows=10)
    assert [(row.line, row.data) for row in parsed.rows] == [(2, {"code": "A"}), (4, {"code": "B"})]


def test_problems_name_the_column_as_the_file_names_it():
    raw = b"Postleitzahl;E-Mail-Adresse\n5066;kein-mail\n"
    [error] = read_csv(raw, ADDRESSES, max_bytes=1000, max_rows=10).errors
    assert error.line == 2
    assert error.message == (
        "E-Mail-Adresse: 'kein-mail' is not an e-mail address; "
        "Postleitzahl: '5066' is not 5 digits (a leading zero lost in Excel?)"
    )
    assert [(problem.code, problem.field) for problem in error.problems] == [
        ("email", "email"),
        ("postcode_zero", "postcode"),
    ]


def test_ragged_rows_are_errors_with_their_line_and_refuse_the_import():
    raw = b"Name;PLZ;Ort\nA;50667;K\xc3\xb6ln\nB;50667\nC;50667;Bonn;zu viel\nD;10115;Berlin\n"
    parsed = read_csv(raw, ADDRESSES, max_bytes=1000, max_rows=10)
    assert [row.line for row in parsed.rows] == [2, 5]
    assert [(error.line, error.message) for error in parsed.errors] == [
        (3, "expected 3 fields, found 2"),
        (4, "expected 3 fields, found 4"),
    ]
    with pytest.raises(RowsRefused) as refused:
        refuse_row_errors(parsed.errors, only_valid_rows=False)
    assert [error.line for error in refused.value.errors] == [3, 4]
    refuse_row_errors(parsed.errors, only_valid_rows=True)  # the user's explicit choice


class ReadOnce(io.BytesIO):
    """A spooled upload that fails the test if it is read whole in one call."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size >= 0, "the upload was read whole"
        return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        assert size >= 0, "the upload was read whole"
        return super().read1(size)


def test_a_file_is_read_as_a_stream_and_refused_by_its_size_first():
    lines = "".join(f"Name{n};50667;Köln\n" for n in range(20_000))
    raw = ("\ufeffName;PLZ;Ort\n" + lines).encode()
    parsed = read_csv(ReadOnce(raw), ADDRESSES, max_bytes=len(raw), max_rows=50_000)
    assert (parsed.encoding, parsed.row_count, parsed.errors) == ("utf-8-sig", 20_000, [])
    assert parsed.header == ["Name", "PLZ", "Ort"]

    class Unreadable(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise AssertionError("a file over the limit was read")

    with pytest.raises(CsvImportError, match="larger than 1 MB"):
        read_csv(Unreadable(b"x" * (1024 * 1024 + 1)), ADDRESSES, max_bytes=1024**2, max_rows=1)


def test_a_byte_the_chosen_encoding_cannot_read_is_named_with_its_line():
    raw = b"Name;Ort\nA;K\xf6ln\n"
    with pytest.raises(CsvImportError, match="line 2: byte 0xf6 cannot be read as utf-8"):
        read_csv(raw, ADDRESSES, encoding="utf-8", max_bytes=1000, max_rows=10)
    assert read_csv(raw, ADDRESSES, max_bytes=1000, max_rows=10).encoding == "cp1252"


def refusal_in(language: str, raw: bytes, **options) -> str:
    """Why the import page refuses the file, in ``language``."""
    with pytest.raises(CsvImportError) as refused:
        read_csv(raw, ADDRESSES, max_bytes=1000, max_rows=10, **options)
    with Flask(__name__).test_request_context():
        use_language(language)
        return describe_import_error(refused.value)


def test_a_mapping_the_file_does_not_fit_is_refused_in_the_readers_language():
    raw = "Name;Straße;Ort\nA;Ring 1;Köln\n".encode()
    lost = {"Strasse": "street", "Name": "last_name"}
    twice = {"Name": "last_name", "Ort": "last_name"}

    assert refusal_in("de", raw, mapping=lost) == (
        "Zuordnung: die Datei hat keine Spalte „Strasse“; ihre Spalten: Name, Straße, Ort"
    )
    assert refusal_in("de", raw, mapping=twice) == (
        "Zuordnung: die Spalten „Name“ und „Ort“ sind demselben Feld zugeordnet"
    )
    assert refusal_in("en", raw, mapping=lost) == (
        "mapping: the file has no column 'Strasse'; columns: Name, Straße, Ort"
    )
    assert refusal_in("de", b"Name;Ort\nA;K\xf6ln\n", encoding="utf-8") == (
        "Zeile 2: das Byte 0xf6 ist kein gültiges Zeichen in utf-8; bitte den Zeichensatz der "
        "Datei wählen (z. B. cp1252 für Excel-Dateien aus Windows)"
    )


def test_a_header_of_100000_columns_is_read_and_named_in_short():
    header = ";".join(["Name", *(f"Spalte {n}" for n in range(100_000)), "Name"])
    with pytest.raises(CsvImportError, match=r"columns named twice: Name$"):
        read_csv(header.encode() + b"\n", ADDRESSES, max_bytes=10**7, max_rows=10)
    unmapped = header.replace("Name", "Nom", 1).replace(";Name", "").encode() + b"\n"
    with pytest.raises(CsvImportError) as refused:
        read_csv(unmapped, ADDRESSES, max_bytes=10**7, max_rows=10)
    assert str(refused.value).endswith(
        "found: Nom, Spalte 0, Spalte 1, Spalte 2, Spalte 3, "
        "Spalte 4, Spalte 5, Spalte 6, Spalte 7, Spalte 8, Spalte 9, Spalte 10, Spalte 11, "
        "Spalte 12, Spalte 13, Spalte 14, Spalte 15, Spalte 16, Spalte 17, Spalte 18, …"
    )
    parsed = read_csv(header.encode()[:-5] + b"\nA\n", ADDRESSES, max_bytes=10**7, max_rows=10)
    assert len(parsed.ignored_columns) == 100_000


def test_a_nul_in_a_cell_is_a_row_error_named_by_its_column():
    raw = b"Name;PLZ;Ort\nA\x00B;50667;K\xc3\xb6ln\nC;50667;Bonn\n"
    parsed = read_csv(raw, ADDRESSES, max_bytes=1000, max_rows=10)
    assert [row.line for row in parsed.rows] == [3]
    assert [(error.line, error.message) for error in parsed.errors] == [
        (2, "Name: holds a NUL character, which cannot be stored")
    ]
    with pytest.raises(RowsRefused):
        refuse_row_errors(parsed.errors, only_valid_rows=False)


def test_a_cell_longer_than_the_csv_limit_is_named_not_called_an_open_quote():
    raw = b"Name;Ort\n" + b"x" * 200_000 + b";Bonn\n"
    with pytest.raises(CsvImportError, match="line 2: a field is longer than 131072") as refused:
        read_csv(raw, ADDRESSES, max_bytes=len(raw), max_rows=10)
    with Flask(__name__).test_request_context():
        use_language("de")
        assert describe_import_error(refused.value) == (
            "Zeile 2: ein Feld ist länger als 131072 Zeichen"
        )


def test_an_upload_that_cannot_be_copied_whole_leaves_no_half_file(tmp_path):
    class DiskFull(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 4:
                raise OSError(28, "No space left on device")
            return super().read(4)

    with pytest.raises(OSError, match="No space"):
        save_upload(FileStorage(DiskFull(b"Name;Ort\nA;Bonn\n"), "a.csv"), tmp_path / "t.csv")
    assert list(tmp_path.iterdir()) == []
    save_upload(FileStorage(io.BytesIO(b"Name\nA\n"), "a.csv"), tmp_path / "t.csv")
    assert [path.name for path in tmp_path.iterdir()] == ["t.csv"]


def test_stale_uploads_and_half_copies_are_dropped_and_fresh_ones_kept(tmp_path):
    old = time.time() - 3600
    for name in ("old.csv", ".old.csv.part", "fresh.csv"):
        (tmp_path / name).write_text("x")
    for name in ("old.csv", ".old.csv.part"):
        os.utime(tmp_path / name, (old, old))
    drop_stale_uploads(tmp_path, 60)
    assert [path.name for path in tmp_path.iterdir()] == ["fresh.csv"]


def test_refused_rows_are_counted_in_the_form_of_their_count():
    """The command line's refusal: "1 row has a problem", "3 rows have problems"."""
    rows = [RowError(line, (Problem("empty"),)) for line in (2, 5, 9)]
    assert [str(RowsRefused(rows[:count])) for count in (1, 3)] == [
        "1 row has a problem (line 2: no value in any mapped column); nothing was imported",
        "3 rows have problems (first: line 2: no value in any mapped column); nothing was imported",
    ]
