"""What the built-in recipient filters share.

Every filter must select exactly the same recipients whether it narrows in SQL or streams.
The helpers here make that hold by construction: a record of a ``core.query`` root is
always judged by the same SQL expressions in both paths (streaming asks the database about
a batch of ids), Python only compares values the database computed, and random choices
come from a seeded hash that SQL and Python compute bit for bit alike. Imported rows
("import", no table of their own) are judged on ``recipient.data``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    outerjoin,
    select,
)
from sqlalchemy.orm import aliased

from core import Channel, Recipient, RecipientFilter
from core.messages import ExplainedError, StoredText, stored_for
from core.query import ENTITIES, EntitySpec, FieldType, QueryError, SortKey, resolve_path
from core.query.compiler import ci_text, code_point_order
from core.query.entities import ResolvedField

BATCH_SIZE = 500
"""Recipients per database round trip while streaming."""

ChannelChoice = Literal["action", "postal", "email", "mobile"]
stored = stored_for(__name__)


def resolve_channel(choice: ChannelChoice, context: Any) -> Channel:
    """The channel a filter checks: the action's own, or the one chosen in its settings."""
    return context.channel if choice == "action" else Channel(choice)


# ---------------------------------------------------------------------------------------------
# Records and their fields


def query_root(entity: str | None) -> EntitySpec | None:
    """The ``core.query`` root the recipients are records of; None for imported rows."""
    return ENTITIES.get(entity) if entity else None


def contact_path(root: EntitySpec, purpose: StoredText) -> str:
    """Where the record's contact is ("" for contacts); a clear error for roots without one."""
    if root.contact_path is None:
        known = [name for name, spec in ENTITIES.items() if spec.contact_path is not None]
        raise QueryError(
            stored(
                "{purpose} needs records that have a contact ({known}), not {entity}",
                purpose=purpose,
                known=known,
                entity=root.name,
            )
        )
    return root.contact_path


def contact_field(root: EntitySpec, name: str, purpose: StoredText) -> str:
    """The path of the field ``name`` of the record's contact: "email" or "contact.email"."""
    path = contact_path(root, purpose)
    return f"{path}.{name}" if path else name


def single_value_field(root: EntitySpec, path: str, location: str) -> ResolvedField:
    """A root or to-one field (one value per record), or a QueryError at ``location``."""
    try:
        resolved = resolve_path(root.name, path)
    except QueryError as exc:
        raise exc.at(location) from None
    if resolved.to_many:
        raise QueryError(
            stored(
                "'{path}' has many values per {entity} record; use a field of {entity} or of "
                "its to-one relations",
                path=path,
                entity=root.name,
            ),
            location,
        )
    return resolved


class RecordColumns:
    """Columns of a root record and its to-one relations, for one SELECT.

    The root is aliased, so the SELECT can sit inside a query over the root table without
    being correlated to it; with ``population`` it is joined to that subquery's ids.
    """

    def __init__(self, root: EntitySpec, population: Any = None):
        self.root = root
        self.record: Any = aliased(root.model)
        self.source: Any = (
            self.record
            if population is None
            else population.join(self.record, self.record.id == population.c.id)
        )
        self._aliases: dict[tuple[str, ...], Any] = {}

    @property
    def id(self) -> ColumnElement[int]:
        return self.record.id

    def column(self, path: str, location: str = "field") -> ColumnElement[Any]:
        """A root or to-one field by its path (a QueryError at ``location`` if it is none)."""
        resolved = single_value_field(self.root, path, location)
        return getattr(self._follow(resolved.relations), resolved.field.key)

    def contact(self, purpose: StoredText) -> Any:
        """The record's contact (the record itself for contacts), to read several fields."""
        path = contact_path(self.root, purpose)
        if not path:
            return self.record
        return self._follow(resolve_path(self.root.name, f"{path}.id").relations)

    def _follow(self, relations: Iterable[Any]) -> Any:
        current, names = self.record, ()
        for relation in relations:
            names += (relation.name,)
            if names not in self._aliases:
                target = aliased(ENTITIES[relation.target].model)
                onclause = getattr(target, relation.remote) == getattr(current, relation.local)
                self.source = outerjoin(self.source, target, onclause)
                self._aliases[names] = target
            current = self._aliases[names]
        return current

    def values(self, session: Any, ids: list[int], *columns: ColumnElement[Any]) -> dict:
        """``{id: row}`` of these columns for the records with these ids."""
        rows = session.execute(
            select(self.id, *columns).select_from(self.source).where(self.id.in_(ids))
        )
        return {row[0]: row[1:] for row in rows}


def on_contact(
    root: EntitySpec, build: Callable[[Any], ColumnElement[bool]], purpose: StoredText
) -> ColumnElement[bool]:
    """``build(contact)`` over the root table: the root itself, or its contact via EXISTS."""
    path = contact_path(root, purpose)
    if not path:
        return build(root.model)
    current: Any = root.model
    joins = []
    for relation in resolve_path(root.name, f"{path}.id").relations:
        target = aliased(ENTITIES[relation.target].model)
        joins.append(getattr(target, relation.remote) == getattr(current, relation.local))
        current = target
    return exists().where(*joins, build(current))


# ---------------------------------------------------------------------------------------------
# Streaming


def entity_batches(recipients: Iterable[Recipient]) -> Iterator[tuple[str, list[Recipient]]]:
    """Consecutive recipients of one entity, at most ``BATCH_SIZE`` at a time."""
    for entity, run in itertools.groupby(recipients, key=lambda recipient: recipient.entity):
        while batch := list(itertools.islice(run, BATCH_SIZE)):
            yield entity, batch


def require_ids(batch: list[Recipient], purpose: str) -> list[int]:
    """The batch's ids; a clear error for recipients that have none."""
    ids = [recipient.id for recipient in batch]
    if None in ids:
        raise ValueError(f"{purpose} needs recipients with an id; {batch[0].entity} rows have none")
    return ids


class RecordFilter(RecipientFilter):
    """A filter that judges every record on its own.

    With an ``expression`` over the root table it narrows in SQL, and streaming asks the
    database the same expression about each batch of ids. Without one (where SQL cannot
    say it exactly) ``narrow`` declines and ``check_records`` decides from database
    values. Imported rows go to ``check_imported``.
    """

    def expression(self, root: EntitySpec, context: Any) -> ColumnElement[bool] | None:
        """The condition over the root table, or None where SQL cannot express it exactly."""
        return None

    def check_records(self, root: EntitySpec, ids: list[int], context: Any) -> list[bool]:
        """Per id, whether the record passes; only called when ``expression`` is None."""
        raise NotImplementedError

    def check_imported(self, batch: list[Recipient], context: Any) -> list[bool]:
        """Per imported row, whether it passes."""
        raise ValueError(
            f"the filter {self.title!r} works on records of {', '.join(ENTITIES)}; "
            f"{batch[0].entity!r} rows have no table to check them against"
        )

    def narrow(self, query: Select, context: Any) -> Select | None:
        root = query_root(context.entity)
        expression = None if root is None else self.expression(root, context)
        return None if expression is None else query.where(expression)

    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        for entity, batch in entity_batches(recipients):
            root = query_root(entity)
            if root is None:
                verdicts = self.check_imported(batch, context)
            else:
                ids = [recipient.id for recipient in batch]
                expression = self.expression(root, context)
                if expression is None:
                    verdicts = self.check_records(root, ids, context)
                else:
                    passing = set(
                        context.session.scalars(
                            select(root.id_column).where(root.id_column.in_(ids), expression)
                        )
                    )
                    verdicts = [record_id in passing for record_id in ids]
            yield from itertools.compress(batch, verdicts)


# ---------------------------------------------------------------------------------------------
# Deterministic order: a seeded hash and field sorting, alike in SQL and Python

PRIME = 2_147_483_647  # 2**31 - 1: every intermediate below stays under 2**62


@dataclass(frozen=True)
class SeededHash:
    """h(id) = (a·x² + b·x + c) mod P with x = id mod P; a, b, c derived from salt and seed.

    Random quadratics mod a prime are 3-wise independent, so different seeds, and the
    limit and control-group filters (different salts), pick unrelated samples. Only
    integer + * % on values below 2**63, so SQLite, PostgreSQL and Python agree exactly.
    """

    a: int
    b: int
    c: int

    @classmethod
    def of(cls, salt: str, seed: int) -> SeededHash:
        digest = hashlib.blake2b(f"{salt}:{seed}".encode(), digest_size=24).digest()
        a, b, c = (int.from_bytes(digest[i : i + 8], "big") % PRIME for i in (0, 8, 16))
        return cls(max(a, 1), b, c)

    def __call__(self, record_id: int) -> int:
        x = record_id % PRIME
        return ((x * x % PRIME) * self.a % PRIME + x * self.b % PRIME + self.c) % PRIME

    def sql(self, id_column: ColumnElement[int]) -> ColumnElement[int]:
        def number(value: int) -> Any:
            return literal(value, BigInteger)

        x = cast(id_column, BigInteger) % number(PRIME)
        square = x * x % number(PRIME)
        return (
            square * number(self.a) % number(PRIME)
            + x * number(self.b) % number(PRIME)
            + number(self.c)
        ) % number(PRIME)


@dataclass(frozen=True)
class Descending:
    """Wraps a value so that it sorts in reverse inside a tuple."""

    value: Any

    def __lt__(self, other: Descending) -> bool:
        return other.value < self.value


@dataclass(frozen=True)
class FieldOrder:
    """Records ordered by one field like the query builder orders them: text by its
    lower-cased code points, empty values last in both directions, ties by id."""

    path: str
    is_text: bool
    descending: bool

    @classmethod
    def of(cls, root: EntitySpec, sort: SortKey, location: str = "sort.field") -> FieldOrder:
        resolved = single_value_field(root, sort.field, location)
        is_text = resolved.type in (FieldType.TEXT, FieldType.CHOICE)
        return cls(sort.field, is_text, sort.descending)

    def sql_keys(self, column: ColumnElement[Any]) -> tuple[ColumnElement[Any], ...]:
        """(empty flag, value) to select or order by."""
        if self.is_text:
            empty = or_(column.is_(None), column == "")
            return case((empty, 1), else_=0), ci_text(func.nullif(column, ""))
        return case((column.is_(None), 1), else_=0), column

    def order_by(self, column: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        empty, value = self.sql_keys(column)
        if self.is_text:
            value = code_point_order(value)
        return [empty, value.desc() if self.descending else value.asc()]

    def rank(self, empty: int, value: Any, record_id: int) -> tuple:
        if empty:
            value = None
        return (empty, Descending(value) if self.descending else value, record_id)

    def imported_rank(self, data: Mapping[str, Any], record_id: int) -> tuple:
        value = data.get(self.path)
        empty = int(value is None or value == "")
        if self.is_text and not empty:
            value = str(value).lower()
        return self.rank(empty, value, record_id)


@dataclass(frozen=True)
class Selection:
    """The recipients a limit or a control group picks.

    Random: the ``count`` lowest seeded hashes among the records whose hash falls below the
    ``percentage`` threshold (a bucket per id, so no total is needed). Top: the first
    ``count`` records in ``sort`` order. Ties are broken by id.
    """

    salt: str
    seed: int
    count: int | None = None
    percentage: float | None = None
    sort: SortKey | None = None

    @property
    def hash(self) -> SeededHash:
        return SeededHash.of(self.salt, self.seed)

    @property
    def threshold(self) -> int | None:
        return None if self.percentage is None else round(PRIME * self.percentage / 100)

    @property
    def picks_from_population(self) -> bool:
        """True when ``chosen`` is an ``IN`` over ``query`` itself (a count or a sort)."""
        return not (self.sort is None and self.count is None)

    def chosen(self, query: Select, root: EntitySpec) -> ColumnElement[bool]:
        """SQL over the root table: the record is one of those picked from ``query``."""
        if self.sort is None and self.count is None:
            return self.hash.sql(root.id_column) < self.threshold
        population = query.order_by(None).subquery()
        if self.sort is None:
            key = self.hash.sql(population.c.id)
            picked = select(population.c.id).order_by(key, population.c.id)
            if self.threshold is not None:
                picked = picked.where(key < self.threshold)
        else:
            columns = RecordColumns(root, population)
            order = FieldOrder.of(root, self.sort)
            sort_keys = order.order_by(columns.column(order.path))  # joins what it needs
            picked = (
                select(population.c.id)
                .select_from(columns.source)
                .order_by(*sort_keys, population.c.id)
            )
        return root.id_column.in_(picked.limit(self.count))

    def partition(
        self, recipients: Iterator[Recipient], context: Any
    ) -> Iterator[tuple[Recipient, bool]]:
        """Every recipient with whether it is picked, keeping at most ``count`` in memory."""
        ranked = self._ranked(recipients, context)
        if self.count is None:
            yield from ((recipient, eligible) for recipient, eligible, _ in ranked)
            return
        worst_first: list[tuple[Descending, int, Recipient]] = []
        for position, (recipient, eligible, rank) in enumerate(ranked):
            if not eligible:
                yield recipient, False
                continue
            heapq.heappush(worst_first, (Descending(rank), position, recipient))
            if len(worst_first) > self.count:
                yield heapq.heappop(worst_first)[2], False
        for _, _, recipient in sorted(worst_first, reverse=True):
            yield recipient, True

    def _ranked(
        self, recipients: Iterator[Recipient], context: Any
    ) -> Iterator[tuple[Recipient, bool, tuple]]:
        """(recipient, within the percentage, rank) for each recipient."""
        if self.sort is None:
            seeded, threshold = self.hash, self.threshold
            for _, batch in entity_batches(recipients):
                for recipient, record_id in zip(batch, require_ids(batch, "a sample"), strict=True):
                    value = seeded(record_id)
                    eligible = threshold is None or value < threshold
                    yield recipient, eligible, (value, record_id)
            return
        for entity, batch in entity_batches(recipients):
            ids = require_ids(batch, "a top-N selection")
            root = query_root(entity)
            if root is None:
                order = FieldOrder(self.sort.field, True, self.sort.descending)
                for recipient, record_id in zip(batch, ids, strict=True):
                    yield recipient, True, order.imported_rank(recipient.data, record_id)
                continue
            columns = RecordColumns(root)
            order = FieldOrder.of(root, self.sort)
            values = columns.values(
                context.session, ids, *order.sql_keys(columns.column(order.path, "sort.field"))
            )
            for recipient, record_id in zip(batch, ids, strict=True):
                if record_id in values:
                    yield recipient, True, order.rank(*values[record_id], record_id)


SETTING_WORDS = {
    "random": stored("random"),
    "top": stored("top"),
    "percentage": stored("percentage"),
    "count": stored("count"),
    "sort": stored("sort"),
}
"""The modes and settings a refusal of ``check_mode`` names: by their codes in English, as
the API takes them, by what the settings form shows in the panel ("Zufallsstichprobe")."""


def check_mode(
    params: Any, required: Mapping[str, tuple[str, ...]], only_for: Mapping[str, tuple[str, ...]]
) -> None:
    """Refuse settings missing for the chosen ``mode``, or given where they would do nothing."""
    missing = [name for name in required.get(params.mode, ()) if getattr(params, name) is None]
    if missing:
        *others, last = (SETTING_WORDS[name] for name in missing)
        fields = stored("{fields} and {last}", fields=others, last=last) if others else last
        mode = SETTING_WORDS[params.mode]
        raise ExplainedError(stored("mode '{mode}' needs {fields}", mode=mode, fields=fields))
    for name, modes in only_for.items():
        if getattr(params, name) is not None and params.mode not in modes:
            raise ExplainedError(
                stored(
                    "{name} only applies to mode {modes}",
                    name=SETTING_WORDS[name],
                    modes=_either(modes),
                )
            )


def _either(modes: Sequence[str]) -> StoredText:
    """``'random'`` or ``'random' or 'top'``."""
    *others, last = modes
    if not others:
        return stored("'{mode}'", mode=SETTING_WORDS[last])
    return stored("{modes} or '{mode}'", modes=_either(others), mode=SETTING_WORDS[last])


def restricted(query: Select, condition: ColumnElement[bool]) -> Select:
    """``query``'s columns and tables with only ``condition``, for a condition that is an
    ``IN`` over ``query`` itself: repeating its conditions would make the database
    evaluate them twice."""
    return select(*query.selected_columns).select_from(*query.get_final_froms()).where(condition)
