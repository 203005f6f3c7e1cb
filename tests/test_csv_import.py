"""The shared CSV reader: header aliases and the address checks every import applies."""

from __future__ import annotations

from core.csv_import import ADDRESS_ALIASES, CsvFormat, check_address, header_aliases, read_csv


def test_headers_are_matched_in_german_and_english():
    aliases = header_aliases(ADDRESS_ALIASES)
    assert aliases["plz"] == aliases["zipcode"] == "postcode"
    assert aliases["emailadresse"] == "email"


def test_address_checks_normalise_the_country():
    row = {"email": "a@b.de", "country": "Frankreich", "postcode": "75001"}
    assert check_address(row) == ["country: 'Frankreich' is not a country code such as DE, AT, CH"]
    row = {"country": "Österreich", "postcode": "1010"}
    assert check_address(row) == [] and row["country"] == "AT"
    assert check_address({"postcode": None}) == ["no value in any mapped column"]


def test_a_format_brings_its_own_fields_and_checks():
    csv_format = CsvFormat(("code",), {"code": "code kennung"}, lambda row: [])
    parsed = read_csv(b"Kennung\nA\n\nB\n", csv_format, max_bytes=1000, max_rows=10)
    assert [(row.line, row.data) for row in parsed.rows] == [(2, {"code": "A"}), (4, {"code": "B"})]
