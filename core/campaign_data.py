"""A campaign's own records: references added by hand or frozen from a query ("static data"),
and rows imported from a CSV file ("file import").

Every function works in the caller's session and transaction, so what it changes commits or
rolls back together with the rest of the caller's unit of work.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from core.models import Campaign, CampaignRecord
from core.query import (
    ENTITIES,
    EntitySpec,
    QueryDefinition,
    compile_query,
    compile_saved_query,
    load_records,
)

BATCH = 500
"""Ids per IN list and rows per INSERT: well below every driver's parameter limit."""

MANUAL, FROZEN, IMPORTED = "manual", "frozen", "import"
IMPORT_ENTITY = "import"
"""``CampaignRecord.entity`` of imported rows, which reference no record."""


class CampaignDataError(ValueError):
    """Records cannot be added as asked; the message says which and why."""


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _require_campaign(session: Session, campaign_id: int) -> None:
    if session.get(Campaign, campaign_id) is None:
        raise CampaignDataError(f"no campaign with id {campaign_id}")


def _entity(entity: str) -> EntitySpec:
    if entity not in ENTITIES:
        raise CampaignDataError(f"unknown entity {entity!r}; known: {', '.join(ENTITIES)}")
    return ENTITIES[entity]


def _listing(ids: Sequence[int], shown: int = 5) -> str:
    listed = ", ".join(str(record_id) for record_id in ids[:shown])
    return listed + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


# ---------------------------------------------------------------------------------------------
# Static data: references to records


def add_records(session: Session, campaign_id: int, entity: str, ids: Iterable[int]) -> int:
    """Add records by hand ("add to campaign"); return how many were new.

    Records already in the campaign are left as they are. If any id does not exist, nothing
    is added and the error lists some of them.
    """
    spec = _entity(entity)
    _require_campaign(session, campaign_id)
    wanted = list(dict.fromkeys(ids))
    existing: set[int] = set()
    present: set[int] = set()
    for batch in _batches(wanted):
        existing.update(session.scalars(select(spec.id_column).where(spec.id_column.in_(batch))))
        present.update(
            session.scalars(
                select(CampaignRecord.entity_id).where(
                    CampaignRecord.campaign_id == campaign_id,
                    CampaignRecord.entity == entity,
                    CampaignRecord.entity_id.in_(batch),
                )
            )
        )
    missing = [record_id for record_id in wanted if record_id not in existing]
    if missing:
        raise CampaignDataError(f"{len(missing)} {entity} do not exist: ids {_listing(missing)}")
    new = [record_id for record_id in wanted if record_id not in present]
    for batch in _batches(new):
        session.execute(
            insert(CampaignRecord),
            [
                {
                    "campaign_id": campaign_id,
                    "entity": entity,
                    "entity_id": record_id,
                    "source": MANUAL,
                }
                for record_id in batch
            ],
        )
    return len(new)


def remove_records(session: Session, campaign_id: int, entity: str, ids: Iterable[int]) -> int:
    """Remove records from the campaign's static data; return how many were there."""
    removed = 0
    for batch in _batches(list(dict.fromkeys(ids))):
        removed += session.execute(
            delete(CampaignRecord).where(
                CampaignRecord.campaign_id == campaign_id,
                CampaignRecord.entity == entity,
                CampaignRecord.entity_id.in_(batch),
            )
        ).rowcount
    return removed


def freeze_query(
    session: Session,
    campaign_id: int,
    query: QueryDefinition | Mapping[str, Any] | int,
) -> int:
    """Store the current list: the query's result now, as the campaign's frozen records.

    ``query`` is a definition or a saved query's id. Earlier frozen records are replaced;
    records added by hand stay. One INSERT ... SELECT, so the result never passes through
    Python however large it is. Returns how many records were stored.
    """
    compiled = (
        compile_saved_query(session, query) if isinstance(query, int) else compile_query(query)
    )
    _require_campaign(session, campaign_id)
    session.execute(
        delete(CampaignRecord).where(
            CampaignRecord.campaign_id == campaign_id, CampaignRecord.source == FROZEN
        )
    )
    root = compiled.root
    added_by_hand = select(CampaignRecord.entity_id).where(
        CampaignRecord.campaign_id == campaign_id, CampaignRecord.entity == root.name
    )
    result = select(
        literal(campaign_id), literal(root.name), root.id_column, literal(FROZEN)
    ).where(compiled.where, root.id_column.not_in(added_by_hand))
    statement = insert(CampaignRecord).from_select(
        ["campaign_id", "entity", "entity_id", "source"], result
    )
    # SQLAlchemy keeps the row count of UPDATE and DELETE only, unless asked
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount


@dataclass(frozen=True)
class ListedRecord:
    """One of a campaign's records; ``data`` is the imported row or the referenced record's
    fields (None when that record no longer exists)."""

    id: int
    entity: str
    entity_id: int | None
    source: str
    line_number: int | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class RecordPage:
    total: int
    records: list[ListedRecord]


def list_records(
    session: Session, campaign_id: int, offset: int = 0, limit: int = 50
) -> RecordPage:
    """One page of the campaign's records in the order they were added, with their fields."""
    if offset < 0 or limit < 1:
        raise CampaignDataError("offset must be at least 0 and limit at least 1")
    of_campaign = CampaignRecord.campaign_id == campaign_id
    total = session.scalar(select(func.count()).select_from(CampaignRecord).where(of_campaign))
    page = session.scalars(
        select(CampaignRecord)
        .where(of_campaign)
        .order_by(CampaignRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    referenced: dict[str, list[int]] = {}
    for record in page:
        if record.entity_id is not None:
            referenced.setdefault(record.entity, []).append(record.entity_id)
    loaded = {
        entity: load_records(session, entity, ids)
        for entity, ids in referenced.items()
        if entity in ENTITIES
    }
    records = [
        ListedRecord(
            id=record.id,
            entity=record.entity,
            entity_id=record.entity_id,
            source=record.source,
            line_number=record.line_number,
            data=(
                record.data
                if record.entity_id is None
                else loaded.get(record.entity, {}).get(record.entity_id)
            ),
        )
        for record in page
    ]
    return RecordPage(total, records)


# ---------------------------------------------------------------------------------------------
# File import

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
DELIMITERS = ";,\t|"
SNIFF_SAMPLE = 64 * 1024

IMPORT_FIELDS = (
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
"""The standard fields imported rows are stored under: the contact fields of the same name,
so actions read an imported row like a contact."""

_ALIASES = {
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
HEADER_ALIASES = {alias: name for name, words in _ALIASES.items() for alias in words.split()}
"""Header names (as ``header_key`` normalises them) the default mapping recognises."""

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
class ImportReport:
    imported: int
    errors: list[RowError]
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    ignored_columns: list[str]


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


def _mapping(header: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    if mapping is None:
        found: dict[str, str] = {}
        for column in header:
            name = HEADER_ALIASES.get(header_key(column))
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
        if name not in IMPORT_FIELDS:
            raise CsvImportError(
                f"mapping: unknown field {name!r} for column {column!r}; "
                f"known: {', '.join(IMPORT_FIELDS)}"
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


def _check_row(data: dict[str, str | None]) -> list[str]:
    """The row's problems; normalises the country to its ISO code on the way."""
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


def parse_csv(
    raw: bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ParsedCsv:
    """Read and check a whole file without storing it; CsvImportError if it is unusable."""
    if len(raw) > MAX_BYTES:
        raise CsvImportError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
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
        columns = _mapping(header, mapping)
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
            if parsed.row_count > MAX_ROWS:
                raise CsvImportError(f"the file has more than {MAX_ROWS} rows")
            if len(record) != len(header):
                parsed.errors.append(
                    RowError(start, f"expected {len(header)} fields, found {len(record)}")
                )
                continue
            data = {name: record[position].strip() or None for name, position in positions.items()}
            problems = _check_row(data)
            if problems:
                parsed.errors.append(RowError(start, "; ".join(problems)))
            else:
                parsed.rows.append(ParsedRow(start, data))
    except csv.Error as exc:
        raise CsvImportError(f"line {line}: {exc} (is a quote left open?)") from None
    return parsed


def preview_csv(
    raw: bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    rows: int = 20,
) -> ParsedCsv:
    """What an import would do, for the upload form: the first ``rows`` rows, every error."""
    parsed = parse_csv(raw, encoding, delimiter, mapping)
    return dataclasses.replace(parsed, rows=parsed.rows[:rows])


def import_csv(
    session: Session,
    campaign_id: int,
    raw: bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    replace: bool = True,
) -> ImportReport:
    """Import a CSV upload as the campaign's imported rows; rows with errors are left out.

    The whole file is read and checked before anything is written, so a fatal problem
    (CsvImportError) leaves earlier imports untouched. ``replace`` drops the rows of
    earlier imports first.
    """
    parsed = parse_csv(raw, encoding, delimiter, mapping)
    _require_campaign(session, campaign_id)
    if replace:
        session.execute(
            delete(CampaignRecord).where(
                CampaignRecord.campaign_id == campaign_id,
                CampaignRecord.entity == IMPORT_ENTITY,
            )
        )
    for batch in _batches(parsed.rows):
        session.execute(
            insert(CampaignRecord),
            [
                {
                    "campaign_id": campaign_id,
                    "entity": IMPORT_ENTITY,
                    "data": row.data,
                    "source": IMPORTED,
                    "line_number": row.line,
                }
                for row in batch
            ],
        )
    return ImportReport(
        imported=len(parsed.rows),
        errors=parsed.errors,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        mapping=parsed.mapping,
        ignored_columns=parsed.ignored_columns,
    )
