"""Every change of a contact's dispatch block or opt-outs, recorded with who and when: all
that changes the flags goes through here, so the contact page shows the whole history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import DomainEvent, record_events
from core.models import CONSENT_FLAGS, Contact, ContactEvent


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
    before = {name: bool(getattr(contact, name)) for name in CONSENT_FLAGS}
    for name, value in values.items():
        setattr(contact, name, bool(value))
    changes = [(contact.id, before, values)]
    record_consent_changes(session, changes, actor=actor, source=source, at=at, run_id=run_id)
    return {
        name: (before[name], bool(new)) for name, new in values.items() if before[name] != bool(new)
    }


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
    rows = [
        {
            "contact_id": contact_id,
            "at": when,
            "actor": actor,
            "field": name,
            "old_value": None if before is None else bool(before.get(name)),
            "new_value": bool(after[name]),
            "source": source,
            "run_id": run_id,
        }
        for contact_id, before, after in changes
        for name in CONSENT_FLAGS
        if after.get(name) is not None and bool(before and before.get(name)) != bool(after[name])
    ]
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
