"""New contact numbers (``K-000001``) from the product's number sequence.

The sequence is a row of ``number_sequences`` advanced by one ``UPDATE … RETURNING`` per
block of numbers: PostgreSQL locks the row until the transaction ends and SQLite allows one
writer at a time, so two imports running at once never receive the same numbers. Numbers a
person gave a contact by hand are skipped.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import Contact, NumberSequence

CONTACT_SEQUENCE = "contact"
CONTACT_PREFIX = "K-"
CONTACT_DIGITS = 6
BATCH = 500


def contact_number(value: int) -> str:
    return f"{CONTACT_PREFIX}{value:0{CONTACT_DIGITS}d}"


def new_contact_numbers(session: Session, count: int) -> list[str]:
    """``count`` contact numbers no contact has, reserved in the caller's transaction."""
    numbers: list[str] = []
    while len(numbers) < count:
        wanted = count - len(numbers)
        candidates = [contact_number(value) for value in _reserve(session, wanted)]
        taken: set[str] = set()
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start : start + BATCH]
            taken.update(session.scalars(select(Contact.number).where(Contact.number.in_(batch))))
        numbers.extend(number for number in candidates if number not in taken)
    return numbers


def _reserve(session: Session, count: int) -> range:
    if session.get(NumberSequence, CONTACT_SEQUENCE) is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(NumberSequence)
            .values(name=CONTACT_SEQUENCE, next_value=_first_free(session))
            .on_conflict_do_nothing()
        )
    after = session.scalar(
        update(NumberSequence)
        .where(NumberSequence.name == CONTACT_SEQUENCE)
        .values(next_value=NumberSequence.next_value + count)
        .returning(NumberSequence.next_value)
    )
    assert after is not None
    return range(after - count, after)


def _first_free(session: Session) -> int:
    """One more than the highest number of the sequence's form the address book holds."""
    highest = session.scalar(
        select(Contact.number)
        .where(Contact.number.like(f"{CONTACT_PREFIX}%"))
        .order_by(func.length(Contact.number).desc(), Contact.number.desc())
        .limit(1)
    )
    digits = re.fullmatch(rf"{CONTACT_PREFIX}(\d+)", highest or "")
    return int(digits.group(1)) + 1 if digits else 1
