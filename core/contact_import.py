"""Importing contacts into the address book from a CSV file.

Rows are matched to contacts by their contact number. A new number creates a contact; a
number that exists is an error for that row unless ``update_existing`` is set, in which case
the row's non-empty cells overwrite the contact's fields (an empty cell changes nothing).
The whole file is read and checked, and compared with the address book, before anything is
written (``plan_contact_import``), so the preview shows exactly what the import will do and
a fatal problem (``CsvImportError``) leaves the address book untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core.contact_events import current_flags, record_consent_changes
from core.csv_import import (
    ADDRESS_ALIASES,
    ADDRESS_FIELDS,
    CsvFormat,
    CsvImportError,
    ParsedCsv,
    ParsedRow,
    RowError,
    check_address,
    header_key,
    read_csv,
)
from core.models import Contact, ContactKind, ContactStatus, DispatchChannel

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
BATCH = 500

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
TRUE = frozenset({"ja", "j", "yes", "y", "true", "wahr", "1", "x"})
FALSE = frozenset({"nein", "n", "no", "false", "falsch", "0"})
GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _check_contact(data: dict[str, Any]) -> list[str]:
    problems = check_address(data)
    if problems and not any(data.values()):
        return problems
    if not data.get("number"):
        problems.append("number: every row needs a contact number")
    for name, spellings in CHOICES.items():
        value = data.get(name)
        if value:
            data[name] = spellings.get(header_key(value))
            if data[name] is None:
                allowed = ", ".join(sorted(set(spellings.values())))
                problems.append(f"{name}: {value!r} is not one of {allowed}")
    for name in FLAGS:
        value = data.get(name)
        if value:
            key = value.strip().lower()
            data[name] = True if key in TRUE else False if key in FALSE else None  # type: ignore[assignment]
            if data[name] is None:
                problems.append(f"{name}: {value!r} is not yes or no (ja/nein, 1/0, x)")
    birth_date = data.get("birth_date")
    if birth_date:
        data["birth_date"] = _date(birth_date)
        if data["birth_date"] is None:
            problems.append(f"birth_date: {birth_date!r} is not a date such as 31.12.1980")
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
    new: list[ParsedRow] = field(default_factory=list)
    updates: list[tuple[int, ParsedRow]] = field(default_factory=list)
    """(contact id, row) for rows whose number exists, when updating is asked for."""
    errors: list[RowError] = field(default_factory=list)
    """The file's row errors and those found against the address book, by line."""

    @property
    def rows(self) -> int:
        return self.parsed.row_count


def plan_contact_import(
    session: Session,
    raw: bytes,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    update_existing: bool = False,
) -> ContactImportPlan:
    """Read and check the file and compare it with the address book; nothing is written."""
    parsed = read_csv(
        raw,
        CONTACT_FORMAT,
        encoding=encoding,
        delimiter=delimiter,
        mapping=mapping,
        max_bytes=MAX_BYTES,
        max_rows=MAX_ROWS,
    )
    if "number" not in parsed.mapping.values():
        raise CsvImportError("mapping: a column must hold the contact number (Kundennummer)")
    plan = ContactImportPlan(parsed, errors=list(parsed.errors))
    first_line: dict[str, int] = {}
    unique: list[ParsedRow] = []
    for row in parsed.rows:
        number = str(row.data["number"])
        if number in first_line:
            plan.errors.append(
                RowError(
                    row.line, f"number: {number!r} appears already on line {first_line[number]}"
                )
            )
        else:
            first_line[number] = row.line
            unique.append(row)
    existing: dict[str, int] = {}
    numbers = list(first_line)
    for start in range(0, len(numbers), BATCH):
        batch = numbers[start : start + BATCH]
        rows = session.execute(select(Contact.number, Contact.id).where(Contact.number.in_(batch)))
        existing.update({number: contact_id for number, contact_id in rows})
    for row in unique:
        contact_id = existing.get(str(row.data["number"]))
        if contact_id is None:
            plan.new.append(row)
        elif update_existing:
            plan.updates.append((contact_id, row))
        else:
            plan.errors.append(
                RowError(row.line, f"number: contact {row.data['number']!r} exists already")
            )
    plan.errors.sort(key=lambda error: error.line)
    return plan


@dataclass(frozen=True)
class ContactImportReport:
    created: int
    updated: int
    errors: list[RowError]


def import_contacts(
    session: Session, plan: ContactImportPlan, actor: str | None = None
) -> ContactImportReport:
    """Write a plan's new and changed contacts in the caller's transaction (batched); every
    dispatch block or opt-out it sets or changes is recorded as a contact event."""
    defaults = {
        "kind": ContactKind.PERSON.value,
        "status": ContactStatus.PROSPECT.value,
        "preferred_channel": DispatchChannel.POST.value,
        "country": "DE",
        "language": "de",
        "attributes": {},
        **dict.fromkeys(FLAGS, False),
    }
    for start in range(0, len(plan.new), BATCH):
        rows = [  # the same keys in every row: one INSERT for the batch
            defaults
            | {
                key: value
                for key, value in row.data.items()
                if value is not None or key not in defaults
            }
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
            | {key: value for key, value in row.data.items() if value is not None}
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
