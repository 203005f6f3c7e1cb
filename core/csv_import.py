"""Reading uploaded CSV files of address data: encoding, delimiter, header mapping, row checks.

Shared by the campaign file import (``core.campaign_data``) and the address book import
(``core.contact_import``). A file is read and checked whole before anything is stored: a
problem with the file as such raises ``CsvImportError`` (nothing is imported), a problem
with one row becomes a ``RowError`` with the row's line number and the row is left out.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

DELIMITERS = ";,\t|"
SNIFF_SAMPLE = 64 * 1024

ADDRESS_FIELDS = (
    "number",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "company_name",
    "street",
    "address_extra",
    "postcode",
    "city",
    "country",
    "email",
    "phone",
    "mobile",
    "language",
)
"""A contact's name, address and channels: the fields every address import knows."""

ADDRESS_ALIASES = {
    "number": "kundennummer kundennr kdnr nummer number customernumber customerno",
    "salutation": "anrede salutation",
    "title": "titel title",
    "first_name": "vorname firstname givenname forename",
    "last_name": "nachname name lastname surname familyname familienname",
    "company_name": "firma firmenname company companyname unternehmen organisation organization",
    "street": "strasse strassehausnummer strasseundhausnummer strassenr street streetaddress "
    "address adresse anschrift",
    "address_extra": "adresszusatz zusatz addressextra address2 addressline2",
    "postcode": "plz postleitzahl postcode postalcode zip zipcode",
    "city": "ort stadt wohnort city town",
    "country": "land country laendercode countrycode",
    "email": "email emailadresse mail emailaddress",
    "phone": "telefon telefonnummer tel phone telephone phonenumber",
    "mobile": "mobil mobilnummer mobiltelefon handy handynummer mobile mobilephone cell cellphone",
    "language": "sprache language",
}
"""Header names (as ``header_key`` normalises them) per field, separated by spaces."""

_COUNTRY_NAMES = {
    "d": "DE",
    "deutschland": "DE",
    "germany": "DE",
    "a": "AT",
    "oesterreich": "AT",
    "austria": "AT",
    "schweiz": "CH",
    "switzerland": "CH",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_POSTCODE_DE = re.compile(r"\d{5}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def header_key(text: str) -> str:
    """A header or name reduced to lower-case letters and digits: "E-Mail" → "email",
    "Straße" → "strasse", "Länder-Code" → "laendercode"."""
    folded = text.casefold()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        folded = folded.replace(umlaut, spelled)
    return re.sub(r"[^a-z0-9]", "", folded)


def header_aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    """Normalised header name → field, from space-separated alias lists per field."""
    return {alias: name for name, words in aliases.items() for alias in words.split()}


class CsvImportError(ValueError):
    """The file cannot be imported at all; nothing was imported."""


@dataclass(frozen=True)
class RowError:
    """A row that was not imported; ``line`` is its first physical line (the header is 1)."""

    line: int
    message: str


@dataclass(frozen=True)
class ParsedRow:
    line: int
    data: dict[str, str | None]


@dataclass
class ParsedCsv:
    """A file read and checked, as the import stores it and a preview shows it."""

    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str]
    """Column → standard field."""
    ignored_columns: list[str]
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    row_count: int = 0
    """Data rows in the file, blank lines not counted."""


@dataclass(frozen=True)
class CsvFormat:
    """What one kind of import reads: its fields, their header aliases and the row check.

    ``check_row`` returns the row's problems and may normalise its values in place.
    """

    fields: Sequence[str]
    aliases: Mapping[str, str]
    check_row: Callable[[dict[str, str | None]], list[str]]


def _decode(raw: bytes, encoding: str | None) -> tuple[str, str]:
    """The text and the encoding it was read with: BOM, then UTF-8, else cp1252 (what Excel
    writes on German Windows), else latin-1, which reads any byte."""
    if encoding is None:
        if raw.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            for candidate in ("utf-8", "cp1252"):
                try:
                    return raw.decode(candidate), candidate
                except UnicodeDecodeError:
                    continue
            return raw.decode("latin-1"), "latin-1"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CsvImportError(f"unknown encoding {encoding!r}") from None
    try:
        return raw.decode(encoding).removeprefix("\ufeff"), encoding
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CsvImportError(
            f"line {line}: byte 0x{raw[exc.start]:02x} cannot be read as {encoding}; "
            "choose the file's encoding (e.g. cp1252 for Excel files from Windows)"
        ) from None


def _delimiter(text: str, header_line: str, delimiter: str | None) -> str:
    if delimiter is not None:
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise CsvImportError(f"delimiter {delimiter!r} must be one character, not a quote")
        return delimiter
    sample = text[:SNIFF_SAMPLE]
    if len(text) > SNIFF_SAMPLE:
        sample = sample[: max(sample.rfind("\n"), 0)] or sample  # whole lines only
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is not None and sniffed in header_line:
        return sniffed
    # the header rarely holds a delimiter inside a name, so the most frequent one there wins
    most = max(DELIMITERS, key=header_line.count)
    return most if most in header_line else ","


def _mapping(
    header: list[str], mapping: Mapping[str, str] | None, csv_format: CsvFormat
) -> dict[str, str]:
    if mapping is None:
        aliases = header_aliases(csv_format.aliases)
        found: dict[str, str] = {}
        for column in header:
            name = aliases.get(header_key(column))
            if name is not None and name not in found.values():
                found[column] = name
        if not found:
            raise CsvImportError(
                "line 1: no column could be mapped; the first line must name the columns "
                f"(e.g. Vorname, Nachname, E-Mail), found: {', '.join(header)}"
            )
        return found
    if not mapping:
        raise CsvImportError("mapping: map at least one column")
    fields_seen: dict[str, str] = {}
    for column, name in mapping.items():
        if name not in csv_format.fields:
            raise CsvImportError(
                f"mapping: unknown field {name!r} for column {column!r}; "
                f"known: {', '.join(csv_format.fields)}"
            )
        if column not in header:
            raise CsvImportError(
                f"mapping: the file has no column {column!r}; columns: {', '.join(header)}"
            )
        if name in fields_seen:
            raise CsvImportError(
                f"mapping: columns {fields_seen[name]!r} and {column!r} both map to {name}"
            )
        fields_seen[name] = column
    return dict(mapping)


def _country(value: str) -> str | None:
    code = _COUNTRY_NAMES.get(header_key(value))
    if code is None and len(value) == 2 and value.isalpha():
        code = value.upper()
    return code


def check_address(data: dict[str, str | None]) -> list[str]:
    """The problems of a row's address fields; normalises the country to its ISO code."""
    if not any(data.values()):
        return ["no value in any mapped column"]
    problems = []
    email = data.get("email")
    if email and not _EMAIL.fullmatch(email):
        problems.append(f"email: {email!r} is not an e-mail address")
    country = data.get("country")
    if country:
        code = _country(country)
        if code is None:
            problems.append(f"country: {country!r} is not a country code such as DE, AT, CH")
        data["country"] = code or country
    postcode = data.get("postcode")
    if postcode and (data.get("country") or "DE") == "DE" and not _POSTCODE_DE.fullmatch(postcode):
        hint = " (a leading zero lost in Excel?)" if re.fullmatch(r"\d{4}", postcode) else ""
        problems.append(f"postcode: {postcode!r} is not 5 digits{hint}")
    return problems


def read_csv(
    raw: bytes,
    csv_format: CsvFormat,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    max_bytes: int,
    max_rows: int,
) -> ParsedCsv:
    """Read and check a whole file without storing it; CsvImportError if it is unusable."""
    if len(raw) > max_bytes:
        raise CsvImportError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    text, encoding = _decode(raw, encoding)
    if not text.strip():
        raise CsvImportError("the file is empty")
    header_line = _LINE_BREAK.split(text, maxsplit=1)[0]
    if not header_line.strip():
        raise CsvImportError("line 1: no header; the first line must name the columns")
    delimiter = _delimiter(text, header_line, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1  # the physical line the next record starts on
    try:
        header = [column.strip() for column in next(reader)]
        line = reader.line_num + 1
        duplicates = sorted({column for column in header if column and header.count(column) > 1})
        if duplicates:
            raise CsvImportError(f"line 1: columns named twice: {', '.join(duplicates)}")
        columns = _mapping(header, mapping, csv_format)
        parsed = ParsedCsv(
            encoding=encoding,
            delimiter=delimiter,
            header=header,
            mapping=columns,
            ignored_columns=[column for column in header if column and column not in columns],
        )
        positions = {name: header.index(column) for column, name in columns.items()}
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue  # blank lines, and the empty rows Excel writes as ";;;;"
            parsed.row_count += 1
            if parsed.row_count > max_rows:
                raise CsvImportError(f"the file has more than {max_rows} rows")
            if len(record) != len(header):
                parsed.errors.append(
                    RowError(start, f"expected {len(header)} fields, found {len(record)}")
                )
                continue
            data = {name: record[position].strip() or None for name, position in positions.items()}
            problems = csv_format.check_row(data)
            if problems:
                parsed.errors.append(RowError(start, "; ".join(problems)))
            else:
                parsed.rows.append(ParsedRow(start, data))
    except csv.Error as exc:
        raise CsvImportError(f"line {line}: {exc} (is a quote left open?)") from None
    return parsed
