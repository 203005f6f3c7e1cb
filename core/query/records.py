"""Whole records for a chunk of ids, as flat dicts, in one query per chunk: actions render
letters and exports from them, and joining the to-one relations here keeps a chunk of hundreds
of recipients at one round trip instead of one per recipient.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, outerjoin, select
from sqlalchemy.orm import Session

from core.query.entities import ENTITIES, get_entity

CHUNK_SIZE = 500  # ids per query: well below every driver's limit on bound parameters


def record_fields(root: str) -> list[str]:
    """The keys of ``load_records``' dicts: root fields, then ``relation.field`` per to-one."""
    return list(_statement(root)[0])


@functools.cache
def _statement(root: str) -> tuple[list[str], Select[Any]]:
    """Built once per process: SQLAlchemy's cache key of its many aliased columns takes
    longer to work out than loading a chunk of records, and is kept with the statement."""
    entity = get_entity(root)
    columns: list[tuple[str, Any]] = [(name, spec.column) for name, spec in entity.fields.items()]
    source: Any = entity.model
    for relation in entity.relations.values():
        if not relation.to_many:
            target, onclause = relation.join(entity.model)
            source = outerjoin(source, target, onclause)
            columns += [
                (f"{relation.name}.{name}", getattr(target, spec.key))
                for name, spec in ENTITIES[relation.target].fields.items()
            ]
    statement = (
        select(*(column for _, column in columns))
        .select_from(source)
        .where(entity.id_column.in_(bindparam("ids", expanding=True)))
    )
    return [key for key, _ in columns], statement


def plain(value: Any) -> Any:
    """A column value as plain Python: enums as their value, date-times aware in UTC."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


_AS_IS = frozenset({str, int, float, bool, Decimal, date, type(None)})
"""Types ``plain`` returns unchanged (exactly these: an enum member may subclass str or
int, a datetime subclasses date): most values of a record, so they skip the call."""


def load_records(
    session: Session, root: str, ids: Sequence[int], chunk_size: int = CHUNK_SIZE
) -> dict[int, dict[str, Any]]:
    """The records with these ids (unknown ids are left out), keyed by id."""
    keys, statement = _statement(root)
    wanted = list(dict.fromkeys(ids))
    records: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), chunk_size):
        for row in session.execute(statement, {"ids": wanted[start : start + chunk_size]}):
            record = {
                key: value if type(value) in _AS_IS else plain(value)
                for key, value in zip(keys, row, strict=True)
            }
            records[record["id"]] = record
    return records


def prepare_loading(session: Session) -> None:
    """Build and compile the statement of every entity once, so that processes forked from
    this one (RQ's work horses, one per job) inherit both instead of paying for them."""
    for root in ENTITIES:
        load_records(session, root, [0])
