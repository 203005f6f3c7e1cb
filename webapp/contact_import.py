"""Importing contacts into the address book from a CSV file.

Rows are matched to existing contacts by the user's choice (``MATCH_ON``): the contact
number, the e-mail address, or name and address. A row that matches nobody creates a
contact; one without a contact number gets a new number from the product's number sequence
(``webapp.contact_numbers``), so an address file needs no number column. A row that matches a
contact is an error unless ``update_existing`` is set, in which case the row's non-empty
cells overwrite the contact's fields (an empty cell changes nothing).

The whole file is read and checked, and compared with the address book, before anything is
written (``plan_contact_import``), so the preview shows exactly what the import will do. An
import stores every row or none: a row error stops it unless the user chose to import only
the valid rows; a fatal problem (``CsvImportError``) leaves the address book untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.contact_events import record_consent_changes
from core.messages import stored
from core.models import (
    ADDRESS_FIELDS,
    CONSENT_FLAGS,
    Contact,
    ContactKind,
    ContactStatus,
    DispatchChannel,
)
from webapp.contact_numbers import new_contact_numbers
from webapp.csv_import import (
    ADDRESS_ALIASES,
    CsvFormat,
    CsvImportError,
    ParsedCsv,
    ParsedRow,
    Problem,
    RowError,
    check_address,
    header_key,
    read_csv,
    refuse_row_errors,
)

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
BATCH = 500
MATCH_ON = ("number", "email", "name_address")
"""How rows find the contact they update: contact number, e-mail, or name and address."""

IMPORT_SOURCE = "import"
"""``ContactEvent.source`` of the changes an import makes."""
FLAGS = ("dispatch_block", "opt_out_post", "opt_out_email", "opt_out_sms", "opt_out_phone")
CONTACT_FIELDS = (
    *ADDRESS_FIELDS,
    "kind",
    "status",
    "preferred_channel",
    *FLAGS,
    "birth_date",
)
CONTACT_ALIASES = {
    **ADDRESS_ALIASES,
    "kind": "art kontaktart typ kind type",
    "status": "status kundenstatus",
    "preferred_channel": "versandweg bevorzugterkanal kanal preferredchannel channel",
    "dispatch_block": "versandsperre sperre dispatchblock",
    "opt_out_post": "keinepost werbesperrepost optoutpost",
    "opt_out_email": "keineemail werbesperreemail optoutemail",
    "opt_out_sms": "keinesms werbesperresms optoutsms",
    "opt_out_phone": "keineanrufe werbesperretelefon optoutphone",
    "birth_date": "geburtsdatum geburtstag birthdate dateofbirth birthday",
}
CHOICES: dict[str, dict[str, str]] = {
    "kind": {"person": "person", "privat": "person", "firma": "company", "company": "company"},
    "status": {
        "interessent": "prospect",
        "prospect": "prospect",
        "kunde": "customer",
        "customer": "customer",
    },
    "preferred_channel": {"post": "post", "brief": "post", "email": "email", "web": "web"},
}
"""Accepted spellings (as ``header_key`` normalises them) of the choice fields."""
CHOICE_TITLES = {
    "kind": "contacts.kind.",
    "status": "contacts.status.",
    "preferred_channel": "contacts.channel.",
}
"""The catalog keys, before the value, by which the panel names a choice field's values (each
title is one of the accepted spellings)."""
TRUE = frozenset({"ja", "j", "yes", "y", "true", "wahr", "1", "x"})
FALSE = frozenset({"nein", "n", "no", "false", "falsch", "0"})
GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _check_contact(data: dict[str, Any]) -> list[Problem]:
    problems = check_address(data)
    if problems and not any(data.values()):
        return problems
    for name, spellings in CHOICES.items():
        value = data.get(name)
        if value:
            data[name] = spellings.get(header_key(value))
            if data[name] is None:
                allowed = ", ".join(sorted(set(spellings.values())))
                problems.append(Problem("choice", name, value, (("allowed", allowed),)))
    for name in FLAGS:
        value = data.get(name)
        if value:
            key = value.strip().lower()
            data[name] = True if key in TRUE else False if key in FALSE else None
            if data[name] is None:
                problems.append(Problem("flag", name, value))
    birth_date = data.get("birth_date")
    if birth_date:
        data["birth_date"] = _date(birth_date)
        if data["birth_date"] is None:
            problems.append(Problem("date", "birth_date", birth_date))
    return problems


def _date(text: str) -> date | None:
    german = GERMAN_DATE.fullmatch(text.strip())
    try:
        if german:
            day, month, year = (int(part) for part in german.groups())
            return date(year, month, day)
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


CONTACT_FORMAT = CsvFormat(CONTACT_FIELDS, CONTACT_ALIASES, _check_contact)


@dataclass
class ContactImportPlan:
    """What an import of the file would do, row by row."""

    parsed: ParsedCsv
    match_on: str
    new: list[ParsedRow] = field(default_factory=list)
    updates: list[tuple[int, ParsedRow]] = field(default_factory=list)
    """(contact id, row) for rows that match a contact, when updating is asked for."""
    errors: list[RowError] = field(default_factory=list)
    """The file's row errors and those found against the address book, by line."""

    @property
    def rows(self) -> int:
        return self.parsed.row_count

    @property
    def numbers_to_assign(self) -> int:
        """New contacts that get a number from the sequence (their row has none)."""
        return sum(1 for row in self.new if not row.data.get("number"))


def _folded(value: Any) -> str:
    return " ".join(str(value or "").casefold().split())


def _street(value: Any) -> str:
    """A street as it is compared: "Hauptstr. 5" and "Hauptstraße 5" are the same."""
    return re.sub(r"\W", "", re.sub(r"strasse|str\.", "str", _folded(value)))


def _name_address(data: Mapping[str, Any]) -> str | None:
    name = data.get("last_name") or data.get("company_name")
    if not (name and data.get("street") and data.get("postcode")):
        return None
    return "|".join(
        (_folded(data.get("first_name")), _folded(name), _street(data["street"]), data["postcode"])
    )


def _match_key(match_on: str, data: Mapping[str, Any]) -> str | None:
    if match_on == "number":
        return str(data["number"]) if data.get("number") else None
    if match_on == "email":
        return _folded(data.get("email")) or None
    return _name_address(data)


def _shown(match_on: str, row: ParsedRow) -> str:
    """The row's matching value as the user recognises it."""
    data = row.data
    if match_on == "name_address":
        name = " ".join(str(data[key]) for key in ("first_name", "last_name") if data.get(key))
        return f"{name or data.get('company_name')}, {data.get('street')}, {data.get('postcode')}"
    return str(data.get(match_on))


def _existing(session: Session, match_on: str, keys: list[str], rows: list[ParsedRow]):
    """Matching key → ids of the contacts that have it."""
    found: dict[str, list[int]] = {}
    if match_on == "name_address":
        postcodes = sorted({str(row.data["postcode"]) for row in rows if row.data.get("postcode")})
        columns = (Contact.id, Contact.first_name, Contact.last_name, Contact.company_name)
        for start in range(0, len(postcodes), BATCH):
            query = select(*columns, Contact.street, Contact.postcode).where(
                Contact.postcode.in_(postcodes[start : start + BATCH])
            )
            for contact in session.execute(query):
                key = _name_address(contact._mapping)
                if key is not None:
                    found.setdefault(key, []).append(contact.id)
        return found
    column = Contact.number if match_on == "number" else func.lower(Contact.email)
    for start in range(0, len(keys), BATCH):
        query = select(column, Contact.id).where(column.in_(keys[start : start + BATCH]))
        for key, contact_id in session.execute(query):
            found.setdefault(_folded(key) if match_on == "email" else key, []).append(contact_id)
    return found


def plan_contact_import(
    session: Session,
    source: bytes | BinaryIO,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    update_existing: bool = False,
    match_on: str | None = None,
) -> ContactImportPlan:
    """Read and check the file and compare it with the address book; nothing is written.

    ``match_on`` defaults to the contact number when a column holds it, else the e-mail.
    """
    parsed = read_csv(
        source,
        CONTACT_FORMAT,
        encoding=encoding,
        delimiter=delimiter,
        mapping=mapping,
        max_bytes=MAX_BYTES,
        max_rows=MAX_ROWS,
    )
    return plan_rows(session, parsed, update_existing=update_existing, match_on=match_on)


def parse_records(records: Sequence[Mapping[str, Any]]) -> ParsedCsv:
    """Contacts given as data (the API's bulk upsert) checked by the rules a file's rows
    are: each record's text values, keyed by ``CONTACT_FIELDS``; a row's ``line`` is its
    index in ``records``."""
    fields = sorted({name for record in records for name in record if name in CONTACT_FIELDS})
    parsed = ParsedCsv("json", "", fields, {name: name for name in fields}, [])
    for index, record in enumerate(records):
        parsed.row_count += 1
        data = {name: _text(record.get(name)) for name in fields}
        problems = _check_contact(data)
        if problems:
            parsed.errors.append(parsed.row_error(index, problems))
        else:
            parsed.rows.append(ParsedRow(index, data))
    return parsed


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip() or None


def plan_rows(
    session: Session,
    parsed: ParsedCsv,
    *,
    update_existing: bool = False,
    match_on: str | None = None,
) -> ContactImportPlan:
    """Compare checked rows with the address book; nothing is written."""
    has_numbers = "number" in parsed.mapping.values()
    match_on = match_on or ("number" if has_numbers else "email")
    if match_on not in MATCH_ON:
        raise CsvImportError(f"match_on: {match_on!r} is not one of {', '.join(MATCH_ON)}")
    if match_on == "number" and not has_numbers:
        raise CsvImportError(
            "match_on: the file has no column with the contact number; match on the e-mail "
            "or on name and address",
            "no_number_column",
        )
    plan = ContactImportPlan(parsed, match_on, errors=list(parsed.errors))
    match_field = None if match_on == "name_address" else match_on

    def refuse(row: ParsedRow, code: str, field: str | None, **params: Any) -> None:
        problem = Problem(code, field, params.pop("value"), tuple(params.items()))
        plan.errors.append(parsed.row_error(row.line, [problem]))

    first_line: dict[str, int] = {}
    numbers_seen: dict[str, int] = {}
    unique: list[tuple[str | None, ParsedRow]] = []
    for row in parsed.rows:
        key = _match_key(match_on, row.data)
        number = row.data.get("number")
        if key is not None and key in first_line:
            refuse(row, "duplicate", match_field, value=_shown(match_on, row), line=first_line[key])
        elif number and match_on != "number" and number in numbers_seen:
            refuse(row, "duplicate", "number", value=number, line=numbers_seen[number])
        else:
            if key is not None:
                first_line[key] = row.line
            if number:
                numbers_seen[str(number)] = row.line
            unique.append((key, row))
    existing = _existing(session, match_on, list(first_line), parsed.rows)
    taken_numbers: set[str] = set()
    if match_on != "number":
        numbers = list(numbers_seen)
        for start in range(0, len(numbers), BATCH):
            batch = numbers[start : start + BATCH]
            taken_numbers.update(
                session.scalars(select(Contact.number).where(Contact.number.in_(batch)))
            )
    for key, row in unique:
        matches = existing.get(key, []) if key is not None else []
        if len(matches) > 1:
            refuse(row, "ambiguous", match_field, value=_shown(match_on, row), count=len(matches))
        elif matches and update_existing:
            plan.updates.append((matches[0], row))
        elif matches:
            refuse(row, "exists", match_field, value=_shown(match_on, row))
        elif row.data.get("number") in taken_numbers:
            refuse(row, "exists", "number", value=row.data["number"])
        else:
            plan.new.append(row)
    plan.errors.sort(key=lambda error: error.line)
    return plan


@dataclass(frozen=True)
class ContactImportReport:
    created: int
    updated: int
    errors: list[RowError]
    """The rows left out (the user chose to import only the valid rows)."""


def import_contacts(
    session: Session,
    plan: ContactImportPlan,
    *,
    only_valid_rows: bool = False,
    actor: str | None = None,
) -> ContactImportReport:
    """Write a plan's new and changed contacts in the caller's transaction (batched); every
    dispatch block or opt-out it sets or changes is recorded as a contact event.

    All or nothing: ``RowsRefused`` if any row has a problem, unless ``only_valid_rows``.
    """
    refuse_row_errors(plan.errors, only_valid_rows)
    defaults = {
        "kind": ContactKind.PERSON.value,
        "status": ContactStatus.PROSPECT.value,
        "preferred_channel": DispatchChannel.POST.value,
        "country": "DE",
        "language": "de",
        "attributes": {},
        **dict.fromkeys(FLAGS, False),
    }
    numbers = iter(new_contact_numbers(session, plan.numbers_to_assign))
    for start in range(0, len(plan.new), BATCH):
        rows = [  # the same keys in every row: one INSERT for the batch
            defaults
            | {
                key: value
                for key, value in row.data.items()
                if value is not None or key not in defaults
            }
            | {"number": row.data.get("number") or next(numbers)}
            for row in plan.new[start : start + BATCH]
        ]
        ids = session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows
        ).all()
        new = [(contact_id, None, row) for contact_id, row in zip(ids, rows, strict=True)]
        record_consent_changes(session, new, actor=actor, source=IMPORT_SOURCE)
    for start in range(0, len(plan.updates), BATCH):
        changes = [
            {"id": contact_id}
            | {
                key: value
                for key, value in row.data.items()
                if value is not None and (key != "number" or plan.match_on == "number")
            }
            for contact_id, row in plan.updates[start : start + BATCH]
        ]
        before = current_flags(session, [change["id"] for change in changes])
        session.execute(update(Contact), changes)
        record_consent_changes(
            session,
            [(change["id"], before.get(change["id"]), change) for change in changes],
            actor=actor,
            source=IMPORT_SOURCE,
        )
    return ContactImportReport(len(plan.new), len(plan.updates), plan.errors)


def current_flags(session: Session, contact_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
    """The flags of these contacts as stored, to compare with a change about to be written."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Contact.id, *(getattr(Contact, name) for name in CONSENT_FLAGS)).where(
            Contact.id.in_(ids)
        )
    )
    return {row[0]: dict(zip(CONSENT_FLAGS, map(bool, row[1:]), strict=True)) for row in rows}


def import_and_record(
    session: Session,
    plan: ContactImportPlan,
    *,
    source_name: str,
    only_valid_rows: bool,
    actor: str,
    via: Mapping[str, Any] | None = None,
) -> ContactImportReport:
    """``import_contacts`` with its audit entry, in the caller's transaction: what the panel's
    import, the API's bulk upsert and ``campaign contacts import`` record alike."""
    report = import_contacts(session, plan, only_valid_rows=only_valid_rows, actor=actor)
    record_audit(
        session,
        actor,
        "contact.import",
        "contact",
        None,
        stored.plural(
            "{source}: {created} new, {updated} updated, {count} row left out",
            "{source}: {created} new, {updated} updated, {count} rows left out",
            source=source_name,
            created=report.created,
            updated=report.updated,
            count=len(report.errors),
        ),
        {
            "file": source_name,
            "created": report.created,
            "updated": report.updated,
            "errors": len(report.errors),
            "match_on": plan.match_on,
            "only_valid_rows": only_valid_rows,
            "left_out_lines": [error.line for error in report.errors][:1000],
            **(via or {}),
        },
    )
    return report
