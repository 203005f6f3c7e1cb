"""The one CSV writer: formula cells neutralised (OWASP), the dialect of the reader."""

from __future__ import annotations

import csv

import pytest

from core.documents.csv_export import CsvDialect, open_csv, spreadsheet_dialect
from webapp.queries.views import csv_text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.example/")', '\'=HYPERLINK("http://evil.example/")'),
        ("+1+cmd", "'+1+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),
        ("-1.234,50", "-1.234,50"),
        ("+4930123", "+4930123"),
        ("Müller", "Müller"),
        ("a=b", "a=b"),
    ],
)
def test_cells_a_spreadsheet_would_run_get_a_leading_quote(tmp_path, value, written):
    path = tmp_path / "out.csv"
    with open_csv(path, CsvDialect(",")) as writer:
        writer.writerow([value, None, 7])
    with path.open(encoding="utf-8", newline="") as file:
        assert list(csv.reader(file)) == [[written, "", "7"]]


def test_raw_values_keep_every_cell_for_a_machine(tmp_path):
    path = tmp_path / "out.csv"
    with open_csv(path, CsvDialect(";", "cp1252", raw_values=True)) as writer:
        writer.writerow(["=1+1", "Weiß"])
    assert path.read_bytes() == "=1+1;Weiß\r\n".encode("cp1252")


def test_german_readers_get_a_bom_and_semicolons_english_readers_commas():
    german = "".join(csv_text([[["Name", "Ort"]], [["=X", "Köln"]]], spreadsheet_dialect("de")))
    assert german == "\ufeffName;Ort\r\n'=X;Köln\r\n"
    english = "".join(csv_text([[["Name", "City"]]], spreadsheet_dialect("en")))
    assert english == "Name,City\r\n"
    assert spreadsheet_dialect(None) == spreadsheet_dialect("de")


def test_a_file_for_german_excel_starts_with_the_utf8_bom(tmp_path):
    path = tmp_path / "out.csv"
    with open_csv(path, spreadsheet_dialect("de")) as writer:
        writer.writerow(["a", "b"])
    assert path.read_bytes() == b"\xef\xbb\xbfa;b\r\n"
