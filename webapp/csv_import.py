"""Reading uploaded CSV files of address data: encoding, delimiter, header mapping, row checks.

Shared by the campaign file import (``webapp.campaigns.records``) and the address book import
(``webapp.contact_import``). A file is read and checked whole before anything is stored: a
problem with the file as such raises ``CsvImportError`` (nothing is imported), a problem
with one row becomes a ``RowError`` with the row's line number. An import stores every row
or none: rows with errors stop it unless the user explicitly chose to import only the valid
rows (``refuse_row_errors``).

The file is read from a binary stream (an upload spooled to a temporary file) and never held
whole in memory. A row's problems are ``Problem`` values naming the column as the file's
header names it, so the panel can show them in the user's language.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from core.messages import english_plural

DELIMITERS = ";,\t|"
SNIFF_SAMPLE = 64 * 1024
DECODE_CHUNK = 1024 * 1024
"""Bytes decoded at a time while the encoding is checked."""

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
    """The file cannot be imported at all; nothing was imported.

    ``code`` and ``params`` say what is wrong for a translated message (the panel's
    ``import.fatal.<code>``); the exception's text is the English one."""

    def __init__(self, message: str, code: str = "", **params: object):
        super().__init__(message)
        self.code, self.params = code, params


PROBLEM_TEXTS = {
    "fields": "expected {expected} fields, found {found}",
    "empty": "no value in any mapped column",
    "email": "{value!r} is not an e-mail address",
    "country": "{value!r} is not a country code such as DE, AT, CH",
    "postcode": "{value!r} is not 5 digits",
    "postcode_zero": "{value!r} is not 5 digits (a leading zero lost in Excel?)",
    "choice": "{value!r} is not one of {allowed}",
    "flag": "{value!r} is not yes or no (ja/nein, 1/0, x)",
    "date": "{value!r} is not a date such as 31.12.1980",
    "duplicate": "{value!r} appears already on line {line}",
    "exists": "contact {value!r} exists already",
    "ambiguous": "{value!r} matches {count} contacts",
    "nul": "holds a NUL character, which cannot be stored",
}
"""The English text of each problem code (the panel shows its own translations)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row: a code of ``PROBLEM_TEXTS``, the field and the column the
    file names it by (None for the row as a whole), the value and further parameters."""

    code: str
    field: str | None = None
    value: str | None = None
    params: tuple[tuple[str, object], ...] = ()
    column: str | None = None

    @property
    def text(self) -> str:
        return PROBLEM_TEXTS[self.code].format(value=self.value, **dict(self.params))

    def __str__(self) -> str:
        name = self.column or self.field
        return f"{name}: {self.text}" if name else self.text


@dataclass(frozen=True)
class RowError:
    """A row that cannot be imported; ``line`` is its first physical line (the header is 1)."""

    line: int
    problems: tuple[Problem, ...]

    @property
    def message(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


class RowsRefused(CsvImportError):
    """Rows have problems and the user did not choose to import only the valid ones."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(
            english_plural(
                "{0} row has a problem (line {1}: {2}); nothing was imported",
                "{0} rows have problems (first: line {1}: {2}); nothing was imported",
                len(self.errors),
                first.line,
                first.message,
            )
        )


def refuse_row_errors(errors: Sequence[RowError], only_valid_rows: bool) -> None:
    """All or nothing: raise ``RowsRefused`` if any row has a problem, unless the user chose
    to import only the valid rows."""
    if errors and not only_valid_rows:
        raise RowsRefused(errors)


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

    def column_of(self, name: str) -> str | None:
        """The file's header of the column mapped to field ``name``."""
        return next((column for column, field in self.mapping.items() if field == name), None)

    def row_error(self, line: int, problems: Sequence[Problem]) -> RowError:
        """A row's problems with the columns named as the file names them."""
        named = tuple(
            problem
            if problem.field is None
            else Problem(
                problem.code,
                problem.field,
                problem.value,
                problem.params,
                self.column_of(problem.field) or problem.field,
            )
            for problem in problems
        )
        return RowError(line, named)


@dataclass(frozen=True)
class CsvFormat:
    """What one kind of import reads: its fields, their header aliases and the row check.

    ``check_row`` returns the row's problems and may normalise its values in place.
    """

    fields: Sequence[str]
    aliases: Mapping[str, str]
    check_row: Callable[[dict[str, str | None]], list[Problem]]


def _undecodable(file: BinaryIO, encoding: str) -> tuple[int, int] | None:
    """(line, byte) of the first byte ``encoding`` cannot read, or None; a chunk at a time."""
    file.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    while True:
        chunk = file.read(DECODE_CHUNK)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            position = max(exc.start - len(exc.object) + len(chunk), 0)
            return lines + chunk[:position].count(b"\n") + 1, chunk[position] if chunk else 0
        if not chunk:
            return None
        lines += chunk.count(b"\n")


def _encoding(file: BinaryIO, encoding: str | None) -> str:
    """The encoding to read the file with: BOM, then UTF-8, else cp1252 (what Excel writes on
    German Windows), else latin-1, which reads any byte. A file starting with a UTF-16 BOM
    is read as UTF-16 and refused like a chosen encoding where it is none (an odd number of
    bytes, a lone surrogate)."""
    file.seek(0)
    start = file.read(4)
    has_bom = start.startswith(codecs.BOM_UTF8)
    if encoding is None:
        if has_bom:
            return "utf-8-sig"
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            for candidate in ("utf-8", "cp1252"):
                if _undecodable(file, candidate) is None:
                    return candidate
            return "latin-1"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise CsvImportError(f"unknown encoding {encoding!r}") from None
    failure = _undecodable(file, encoding)
    if failure is not None:
        line, byte = failure
        raise CsvImportError(
            f"line {line}: byte 0x{byte:02x} cannot be read as {encoding}; "
            "choose the file's encoding (e.g. cp1252 for Excel files from Windows)",
            "undecodable",
            line=line,
            byte=f"0x{byte:02x}",
            encoding=encoding,
        )
    return "utf-8-sig" if has_bom and name == "utf-8" else encoding


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


LISTED_COLUMNS = 20


def _listed(columns: list[str]) -> str:
    """Columns named in an error: the first few, so that a header of thousands of columns
    does not become a page-long message."""
    shown = ", ".join(columns[:LISTED_COLUMNS])
    return shown + ", …" if len(columns) > LISTED_COLUMNS else shown


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
                f"(e.g. Vorname, Nachname, E-Mail), found: {_listed(header)}",
                "not_mapped",
                found=_listed(header),
            )
        return found
    if not mapping:
        raise CsvImportError("mapping: map at least one column", "nothing_mapped")
    fields_seen: dict[str, str] = {}
    for column, name in mapping.items():
        if name not in csv_format.fields:
            raise CsvImportError(
                f"mapping: unknown field {name!r} for column {column!r}; "
                f"known: {', '.join(csv_format.fields)}"
            )
        if column not in header:
            raise CsvImportError(
                f"mapping: the file has no column {column!r}; columns: {_listed(header)}",
                "no_column",
                column=column,
                columns=_listed(header),
            )
        if name in fields_seen:
            raise CsvImportError(
                f"mapping: columns {fields_seen[name]!r} and {column!r} both map to {name}",
                "mapped_twice",
                first=fields_seen[name],
                second=column,
            )
        fields_seen[name] = column
    # in the file's order, however the mapping came (a form's fields come in any order)
    return {column: mapping[column] for column in header if column in mapping}


def _country(value: str) -> str | None:
    code = _COUNTRY_NAMES.get(header_key(value))
    if code is None and len(value) == 2 and value.isalpha():
        code = value.upper()
    return code


def check_address(data: dict[str, str | None]) -> list[Problem]:
    """The problems of a row's address fields; normalises the country to its ISO code."""
    if not any(data.values()):
        return [Problem("empty")]
    problems = []
    email = data.get("email")
    if email and not _EMAIL.fullmatch(email):
        problems.append(Problem("email", "email", email))
    country = data.get("country")
    if country:
        code = _country(country)
        if code is None:
            problems.append(Problem("country", "country", country))
        data["country"] = code or country
    postcode = data.get("postcode")
    if postcode and (data.get("country") or "DE") == "DE" and not _POSTCODE_DE.fullmatch(postcode):
        lost_zero = re.fullmatch(r"\d{4}", postcode) is not None
        problems.append(Problem("postcode_zero" if lost_zero else "postcode", "postcode", postcode))
    return problems


def read_csv(
    source: bytes | BinaryIO,
    csv_format: CsvFormat,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    max_bytes: int,
    max_rows: int,
) -> ParsedCsv:
    """Read and check a whole file without storing it; CsvImportError if it is unusable.

    ``source`` is a seekable binary file (or bytes): it is refused by its size before it is
    read, and then read as a stream."""
    file = io.BytesIO(source) if isinstance(source, bytes) else source
    size = file.seek(0, io.SEEK_END)
    if size > max_bytes:
        megabytes = max_bytes // (1024 * 1024)
        raise CsvImportError(
            f"the file is larger than {megabytes} MB", "too_large", megabytes=megabytes
        )
    encoding = _encoding(file, encoding)
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    try:
        return _read_rows(text, csv_format, encoding, delimiter, mapping, max_rows)
    finally:
        text.detach()  # the caller's file stays open


def _read_rows(
    text: io.TextIOWrapper,
    csv_format: CsvFormat,
    encoding: str,
    delimiter: str | None,
    mapping: Mapping[str, str] | None,
    max_rows: int,
) -> ParsedCsv:
    sample = text.read(SNIFF_SAMPLE + 1)
    if not sample.strip():
        raise CsvImportError("the file is empty", "empty")
    header_line = _LINE_BREAK.split(sample, maxsplit=1)[0]
    if not header_line.strip():
        raise CsvImportError("line 1: no header; the first line must name the columns", "no_header")
    whole_lines = sample[:SNIFF_SAMPLE]
    if len(sample) > SNIFF_SAMPLE:
        whole_lines = whole_lines[: max(whole_lines.rfind("\n"), 0)] or whole_lines
    delimiter = _delimiter(whole_lines, header_line, delimiter)
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    line = 1  # the physical line the next record starts on
    try:
        header = [column.strip() for column in next(reader)]
        line = reader.line_num + 1
        counts = Counter(header)
        duplicates = sorted(column for column, count in counts.items() if column and count > 1)
        if duplicates:
            named = _listed(duplicates)
            raise CsvImportError(
                f"line 1: columns named twice: {named}", "named_twice", columns=named
            )
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
                raise CsvImportError(
                    f"the file has more than {max_rows} rows", "too_many_rows", rows=max_rows
                )
            if len(record) != len(header):
                params = (("expected", len(header)), ("found", len(record)))
                parsed.errors.append(RowError(start, (Problem("fields", params=params),)))
                continue
            data = {name: record[position].strip() or None for name, position in positions.items()}
            # a NUL would end in a database error on import (PostgreSQL stores none)
            nul = [name for name, value in data.items() if "\0" in (value or "")]
            problems = [Problem("nul", name) for name in nul] or csv_format.check_row(data)
            if problems:
                parsed.errors.append(parsed.row_error(start, problems))
            else:
                parsed.rows.append(ParsedRow(start, data))
    except csv.Error as exc:
        if "field limit" in str(exc):  # the csv module's bound on one cell
            limit = csv.field_size_limit()
            raise CsvImportError(
                f"line {line}: a field is longer than {limit} characters",
                "long_field",
                line=line,
                limit=limit,
            ) from None
        raise CsvImportError(
            f"line {line}: {exc} (is a quote left open?)", "quote", line=line
        ) from None
    return parsed
