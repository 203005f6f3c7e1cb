"""Every change of a contact's dispatch block or opt-outs, recorded with who and when.

Whatever changes the flags (the panel's contact form, the CSV contact import, any other
service) goes through ``set_consent`` for one contact or ``record_consent_changes`` for many,
so the contact page can show the whole history of a contact's consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import DomainEvent, record_events
from core.models import CONSENT_FLAGS, Contact, ContactEvent


def consent_flags(contact: Contact) -> dict[str, bool]:
    """The contact's flags as they are now."""
    return {name: bool(getattr(contact, name)) for name in CONSENT_FLAGS}


def set_consent(
    session: Session,
    contact: Contact,
    values: Mapping[str, bool],
    *,
    actor: str | None,
    source: str,
    at: datetime | None = None,
    run_id: int | None = None,
) -> dict[str, tuple[bool, bool]]:
    """Set some of the contact's flags and record an event for each that changed (with the
    run that led to it, if any); returns ``{flag: (old, new)}`` of the changes."""
    unknown = set(values) - set(CONSENT_FLAGS)
    if unknown:
        raise ValueError(f"not a consent flag: {', '.join(sorted(unknown))}")
    before = consent_flags(contact)
    for name, value in values.items():
        setattr(contact, name, bool(value))
    changes = {
        name: (before[name], bool(value))
        for name, value in values.items()
        if before[name] != bool(value)
    }
    record_consent_changes(
        session,
        [(contact.id, before, {**before, **values})],
        actor=actor,
        source=source,
        at=at,
        run_id=run_id,
    )
    return changes


def record_consent_changes(
    session: Session,
    changes: Iterable[tuple[int, Mapping[str, Any] | None, Mapping[str, Any]]],
    *,
    actor: str | None,
    source: str,
    at: datetime | None = None,
    run_id: int | None = None,
) -> int:
    """Record an event per flag that differs between ``before`` (None: a new contact, whose
    flags count from "not set") and ``after``, for (contact id, before, after) triples;
    flags missing from ``after`` did not change. Returns how many events were written."""
    when = at or utcnow()
    rows = []
    for contact_id, before, after in changes:
        for name in CONSENT_FLAGS:
            if name not in after or after[name] is None:
                continue
            old = None if before is None else bool(before.get(name))
            new = bool(after[name])
            if (old or False) != new:
                rows.append(
                    {
                        "contact_id": contact_id,
                        "at": when,
                        "actor": actor,
                        "field": name,
                        "old_value": old,
                        "new_value": new,
                        "source": source,
                        "run_id": run_id,
                    }
                )
    if rows:
        session.execute(insert(ContactEvent), rows)
        record_events(
            session,
            [
                DomainEvent(
                    "contact.unsubscribed",
                    {
                        "contact_id": row["contact_id"],
                        "opt_out": row["field"],
                        "source": source,
                        "run_id": run_id,
                    },
                    when,
                )
                for row in rows
                if row["field"].startswith("opt_out") and row["new_value"]
            ],
        )
    return len(rows)
