"""Stored queries to SQLAlchemy expressions, without ever putting query text into SQL.

Field names only pick columns from the whitelist in ``entities``; every value becomes a bound
parameter. The semantics (also in docs/queries.md):

- Text is compared case-insensitively (``lower()`` on PostgreSQL, the ``unicode_lower()``
  function core.db.database registers on SQLite, so umlauts fold on both); NULL and '' are both
  empty.
- contains / begins_with / ends_with match any of the values literally (% and _ escaped).
- A condition on a related path holds when ANY related row satisfies it (an EXISTS
  subquery per condition): "contracts.product.name equals Hausrat" on contacts means "has a
  contract for Hausrat". Two conditions on the same to-many path may be met by different
  related rows.
- Every negated type is exactly NOT of its positive type, NULL-safe: the positive types
  never yield NULL, so "city equals none of Berlin" includes contacts without a city and
  "is_empty" is NOT "not_empty" (for a related path: no related row has a value).
- Dates: on_days (and equals on dates) matches whole days; on a datetime field a day runs
  from 00:00 UTC to the next 00:00 UTC, at_most a day means up to that day's end, at_least
  from its start. between is inclusive at both ends. Values with a time are exact instants.
- Text ranges (between, at_most, at_least) compare lower-cased text by code point.
- Empty blocks are left out; a query without conditions selects every record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    outerjoin,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from core.messages import stored
from core.query.definition import (
    Block,
    Condition,
    ConditionType,
    QueryDefinition,
    join_location,
    parse_definition,
    parse_node,
)
from core.query.entities import (
    ENTITIES,
    EntitySpec,
    FieldSpec,
    FieldType,
    ResolvedField,
    get_entity,
    resolve_path,
)
from core.query.errors import QueryError

CT = ConditionType

# ---------------------------------------------------------------------------------------------
# SQL constructs that differ per dialect


class ci_text(FunctionElement[str]):
    """Text folded for case-insensitive comparison, whatever the dialect."""

    type = String()
    name = "ci_text"
    inherit_cache = True


@compiles(ci_text)
def _ci_text_default(element: ci_text, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(ci_text, "sqlite")
def _ci_text_sqlite(element: ci_text, compiler: Any, **kw: Any) -> str:
    # registered by core.db.database._configure_sqlite; SQLite's own lower() folds ASCII only
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


class code_point_order(FunctionElement[str]):
    """Text compared by code point (SQLite's default; PostgreSQL's "C" collation)."""

    type = String()
    name = "code_point_order"
    inherit_cache = True


@compiles(code_point_order)
def _code_point_default(element: code_point_order, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(code_point_order, "postgresql")
def _code_point_postgresql(element: code_point_order, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


EMPTY_TEXT = literal_column("''")  # a constant, so GROUP BY and SELECT render identically
LIKE_ESCAPE = "/"

# ---------------------------------------------------------------------------------------------
# Which condition types fit which field types

_TEXT_TYPES = frozenset(
    {
        CT.EQUALS,
        CT.NOT_EQUALS,
        CT.CONTAINS,
        CT.NOT_CONTAINS,
        CT.BEGINS_WITH,
        CT.NOT_BEGINS_WITH,
        CT.ENDS_WITH,
        CT.NOT_ENDS_WITH,
        CT.IS_EMPTY,
        CT.NOT_EMPTY,
        CT.BETWEEN,
        CT.NOT_BETWEEN,
        CT.AT_MOST,
        CT.AT_LEAST,
    }
)
_NUMBER_TYPES = frozenset(
    {
        CT.EQUALS,
        CT.NOT_EQUALS,
        CT.IS_EMPTY,
        CT.NOT_EMPTY,
        CT.BETWEEN,
        CT.NOT_BETWEEN,
        CT.AT_MOST,
        CT.AT_LEAST,
    }
)
_DATE_TYPES = _NUMBER_TYPES | {CT.ON_DAYS, CT.NOT_ON_DAYS}
_EQUALITY_TYPES = frozenset({CT.EQUALS, CT.NOT_EQUALS, CT.IS_EMPTY, CT.NOT_EMPTY})

ALLOWED_TYPES: dict[FieldType, frozenset[ConditionType]] = {
    FieldType.TEXT: _TEXT_TYPES,
    FieldType.NUMBER: _NUMBER_TYPES,
    FieldType.DATE: _DATE_TYPES,
    FieldType.DATETIME: _DATE_TYPES,
    FieldType.BOOLEAN: _EQUALITY_TYPES,
    FieldType.CHOICE: _EQUALITY_TYPES,
}
"""The condition types each field type accepts (for the editor's type menu, too)."""

# ---------------------------------------------------------------------------------------------
# Values


_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = {"true", "ja", "yes", "1", "wahr"}
_FALSE = {"false", "nein", "no", "0", "falsch"}


def _parse_number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise QueryError(stored("{value} is not a number", value=repr(value)))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        try:
            return Decimal(value.strip().replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid ones
            pass
    raise QueryError(stored("{value} is not a number", value=repr(value)))


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise QueryError(
            stored(
                "{value} is not a date (yyyy-mm-dd) but a date-time",
                value=repr(value.isoformat()),
            )
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise QueryError(stored("{value} is not a date (yyyy-mm-dd)", value=repr(value)))


def _parse_date_or_datetime(value: Any) -> date | datetime:
    """A day (``date``) or an instant (aware ``datetime`` in UTC; naive counts as UTC)."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and _DATE.fullmatch(value.strip()):
        return _parse_date(value)
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip())
        except ValueError:
            raise QueryError(
                stored(
                    "{value} is not a date (yyyy-mm-dd) or date-time "
                    "(yyyy-mm-ddThh:mm[:ss][+hh:mm])",
                    value=repr(value),
                )
            ) from None
    else:
        raise QueryError(stored("{value} is not a date or date-time", value=repr(value)))
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise QueryError(
        stored("{value} is not a boolean (true/false, ja/nein, 1/0)", value=repr(value))
    )


def _parse_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return str(value)
    raise QueryError(stored("{value} is not text", value=repr(value)))


def _parse_choice(spec: FieldSpec, value: Any) -> str:
    choices = spec.choices or ()
    if isinstance(value, str):
        for choice in choices:
            if choice.casefold() == value.strip().casefold():
                return choice
    raise QueryError(
        stored(
            "{value} is not a choice of {field}; known: {choices}",
            value=repr(value),
            field=spec.name,
            choices=list(choices),
        )
    )


def parse_value(spec: FieldSpec, condition_type: ConditionType, value: Any) -> Any:
    """One value as the Python type the field's column compares with."""
    kind = spec.type
    if kind is FieldType.TEXT:
        return _parse_text(value)
    if kind is FieldType.NUMBER:
        return _parse_number(value)
    if kind is FieldType.BOOLEAN:
        return _parse_boolean(value)
    if kind is FieldType.CHOICE:
        return _parse_choice(spec, value)
    if kind is FieldType.DATE or condition_type.positive in (CT.ON_DAYS, CT.EQUALS):
        return _parse_date(value)  # whole days, also on datetime fields
    return _parse_date_or_datetime(value)


def _parse_values(spec: FieldSpec, condition: Condition) -> list[Any]:
    parsed = []
    for index, value in enumerate(condition.values):
        try:
            parsed.append(parse_value(spec, condition.type, value))
        except QueryError as exc:
            raise exc.at(f"values[{index}]") from None
    if condition.type.positive is CT.BETWEEN and spec.type is not FieldType.TEXT:
        low, high = parsed
        if _instant(low, end=False) > _instant(high, end=True):
            raise QueryError(
                stored(
                    "from ({low}) is after to ({high})",
                    low=str(condition.values[0]),
                    high=str(condition.values[1]),
                ),
                "values",
            )
    return parsed


def _is_day(value: Any) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _instant(value: Any, *, end: bool) -> Any:
    """Days as their first (or last) instant, so days and date-times compare."""
    if not _is_day(value):
        return value
    start = _day_start(value)
    return start + timedelta(days=1) - timedelta.resolution if end else start


# ---------------------------------------------------------------------------------------------
# Predicates on one column


def _has_value(spec: FieldSpec, column: ColumnElement[Any]) -> ColumnElement[bool]:
    if spec.type is FieldType.TEXT:
        return and_(column.is_not(None), column != EMPTY_TEXT)
    return column.is_not(None)


def _number_bind(spec: FieldSpec, value: Decimal) -> Any:
    column_type = spec.column.property.columns[0].type
    whole = value == value.to_integral_value() and abs(value) < 2**63  # SQLite's int limit
    if isinstance(column_type, Integer) and whole:
        return literal(int(value), Integer())
    return literal(value, Numeric())  # no scale: 7.499 stays 7.499, also in the shown SQL


def _bind(spec: FieldSpec, column: ColumnElement[Any], value: Any) -> Any:
    if spec.type is FieldType.NUMBER:
        return _number_bind(spec, value)
    if spec.type is FieldType.TEXT:
        return ci_text(literal(value, String()))
    return literal(value, column.type)


def _text_like(column: ColumnElement[Any], condition_type: ConditionType, value: str) -> Any:
    escaped = (
        value.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    pattern = {
        CT.CONTAINS: f"%{escaped}%",
        CT.BEGINS_WITH: f"{escaped}%",
        CT.ENDS_WITH: f"%{escaped}",
    }[condition_type]
    return ci_text(column).like(ci_text(literal(pattern, String())), escape=LIKE_ESCAPE)


def _range(
    spec: FieldSpec, column: ColumnElement[Any], low: Any | None, high: Any | None
) -> list[ColumnElement[bool]]:
    """column >= low and column <= high (either may be None), days widened to whole days."""
    parts: list[ColumnElement[bool]] = []
    if spec.type is FieldType.TEXT:
        key = code_point_order(ci_text(column))
        if low is not None:
            parts.append(key >= _bind(spec, column, low))
        if high is not None:
            parts.append(key <= _bind(spec, column, high))
        return parts
    if spec.type is FieldType.DATETIME:
        if low is not None:
            parts.append(column >= literal(_instant(low, end=False), column.type))
        if _is_day(high):  # up to the end of that day
            parts.append(column < literal(_day_start(high + timedelta(days=1)), column.type))
        elif high is not None:
            parts.append(column <= literal(high, column.type))
        return parts
    if low is not None:
        parts.append(column >= _bind(spec, column, low))
    if high is not None:
        parts.append(column <= _bind(spec, column, high))
    return parts


def _positive(
    spec: FieldSpec, condition_type: ConditionType, column: ColumnElement[Any], values: list[Any]
) -> ColumnElement[bool]:
    """The positive form of a condition; never NULL, so NOT of it is its exact complement."""
    has_value = _has_value(spec, column)
    if condition_type is CT.NOT_EMPTY:
        return has_value
    if condition_type in (CT.CONTAINS, CT.BEGINS_WITH, CT.ENDS_WITH):
        matches = [_text_like(column, condition_type, value) for value in values]
        return and_(column.is_not(None), or_(*matches))
    if condition_type is CT.BETWEEN:
        return and_(has_value, *_range(spec, column, values[0], values[1]))
    if condition_type is CT.AT_MOST:
        return and_(has_value, *_range(spec, column, None, values[0]))
    if condition_type is CT.AT_LEAST:
        return and_(has_value, *_range(spec, column, values[0], None))
    # equals / on_days
    if spec.type is FieldType.DATETIME:
        days = [and_(*_range(spec, column, day, day)) for day in values]
        return and_(has_value, or_(*days))
    if spec.type is FieldType.TEXT:
        return and_(has_value, ci_text(column).in_([_bind(spec, column, v) for v in values]))
    return and_(has_value, column.in_([_bind(spec, column, v) for v in values]))


# ---------------------------------------------------------------------------------------------
# Conditions and blocks


def _on_path(resolved: ResolvedField, build: Any) -> ColumnElement[bool]:
    """``build(column)`` for the path's field; through relations as an EXISTS subquery."""
    if not resolved.relations:
        return build(resolved.field.column)
    current: Any = resolved.root.model
    joins = []
    for relation in resolved.relations:
        target = aliased(ENTITIES[relation.target].model)
        joins.append(getattr(target, relation.remote) == getattr(current, relation.local))
        current = target
    column = getattr(current, resolved.field.key)
    return exists().where(*joins, build(column))


def _condition(root: EntitySpec, condition: Condition, location: str) -> ColumnElement[bool]:
    try:
        resolved = resolve_path(root.name, condition.field)
    except QueryError as exc:
        raise exc.at(join_location(location, "field")) from None
    spec = resolved.field
    allowed = ALLOWED_TYPES[spec.type]
    if condition.type not in allowed:
        raise QueryError(
            stored(
                "{type} does not fit the {field_type} field '{field}'; use one of: {allowed}",
                type=condition.type.value,
                field_type=spec.type.value,
                field=condition.field,
                allowed=[t.value for t in CT if t in allowed],
            ),
            join_location(location, "type"),
        )
    try:
        values = _parse_values(spec, condition)
    except QueryError as exc:
        if location:
            raise exc.at(location) from None
        raise
    positive = condition.type.positive
    if positive is CT.ON_DAYS:
        positive = CT.EQUALS
    expression = _on_path(resolved, lambda column: _positive(spec, positive, column, values))
    return not_(expression) if condition.type.negated else expression


def _node(root: EntitySpec, node: Condition | Block, location: str) -> ColumnElement[bool] | None:
    if isinstance(node, Condition):
        return _condition(root, node, location)
    children = []
    for index, child in enumerate(node.conditions):
        expression = _node(root, child, join_location(location, f"conditions[{index}]"))
        if expression is not None:
            children.append(expression)
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    return and_(*children) if node.op == "and" else or_(*children)


def condition_expression(
    root: str,
    node: Condition | Block | Mapping[str, Any],
    location: str = "",
) -> ColumnElement[bool]:
    """A boolean expression over ``root``'s table alone (related fields via EXISTS)."""
    entity = get_entity(root)
    expression = _node(entity, parse_node(node, location), location)
    return true() if expression is None else expression


# ---------------------------------------------------------------------------------------------
# Whole queries


_DIALECTS = {
    "sqlite": sqlite.dialect,
    "postgresql": postgresql.dialect,
    "postgres": postgresql.dialect,
}


@dataclass
class _Joins:
    """Outer joins of the root to its to-one relations, one alias per path prefix."""

    root: EntitySpec
    source: Any = None
    aliases: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.source = self.root.model

    def column(self, resolved: ResolvedField) -> ColumnElement[Any]:
        current: Any = self.root.model
        names: tuple[str, ...] = ()
        for relation in resolved.relations:
            names += (relation.name,)
            if names not in self.aliases:
                target = aliased(ENTITIES[relation.target].model)
                onclause = getattr(target, relation.remote) == getattr(current, relation.local)
                self.source = outerjoin(self.source, target, onclause)
                self.aliases[names] = target
            current = self.aliases[names]
        return getattr(current, resolved.field.key)


@dataclass(frozen=True)
class CompiledQuery:
    """A validated query, ready to become SELECTs over its root table."""

    definition: QueryDefinition
    root: EntitySpec
    where: ColumnElement[bool]
    output: tuple[ResolvedField, ...]
    sort: tuple[tuple[ResolvedField, bool], ...]

    @property
    def output_paths(self) -> list[str]:
        return [resolved.path for resolved in self.output]

    def _order_by(self, joins: _Joins) -> list[Any]:
        clauses = []
        for resolved, descending in self.sort:
            key = _sort_key(resolved.field, joins.column(resolved))
            key = key.desc() if descending else key.asc()
            clauses.append(key.nulls_last())
        clauses.append(self.root.id_column.asc())
        return clauses

    def select_ids(self) -> Select[Any]:
        """The root ids (labelled ``id``) of the matching records, sorted."""
        joins = _Joins(self.root)
        order_by = self._order_by(joins)
        return (
            select(self.root.id_column.label("id"))
            .select_from(joins.source)
            .where(self.where)
            .order_by(*order_by)
        )

    def select_rows(self, limit: int | None = None) -> Select[Any]:
        """The output fields, labelled by their dotted path, of the matching records."""
        joins = _Joins(self.root)
        columns = [joins.column(resolved).label(resolved.path) for resolved in self.output]
        order_by = self._order_by(joins)
        statement = select(*columns).select_from(joins.source).where(self.where)
        statement = statement.order_by(*order_by)
        return statement if limit is None else statement.limit(limit)

    def select_count(self) -> Select[Any]:
        """How many records match (one row, one column ``count``)."""
        return (
            select(func.count(self.root.id_column).label("count"))
            .select_from(self.root.model)
            .where(self.where)
        )

    def select_groups(self, path: str) -> Select[Any]:
        """Records per value of a root or to-one field: ``key`` and ``count``, by key."""
        resolved = _resolve_single(self.root, path, "group")
        joins = _Joins(self.root)
        column = joins.column(resolved)
        key = func.nullif(column, EMPTY_TEXT) if resolved.type is FieldType.TEXT else column
        return (
            select(key.label("key"), func.count(self.root.id_column).label("count"))
            .select_from(joins.source)
            .where(self.where)
            .group_by(key)
            .order_by(key.asc().nulls_last())
        )

    def select_targets(self, group_by: str | None = None) -> Select[Any]:
        """Root ids (``id``) and their group as text (``group_key``) for the campaign engine.

        FROM stays the root table (to-one relations of ``group_by`` are outer-joined to it),
        so ``.where(...)`` on the root table composes. Empty values form the group ``''``,
        so every record belongs to a group that can be ticked; without ``group_by`` the
        key is NULL.
        """
        joins = _Joins(self.root)
        if group_by is None:
            key: ColumnElement[Any] = cast(null(), String)
        else:
            resolved = _resolve_single(self.root, group_by, "group_by")
            column = joins.column(resolved)
            text = column if resolved.type is FieldType.TEXT else cast(column, String)
            key = func.coalesce(text, EMPTY_TEXT)
        return (
            select(self.root.id_column.label("id"), key.label("group_key"))
            .select_from(joins.source)
            .where(self.where)
            .order_by(self.root.id_column)
        )

    def sql(self, dialect_name: str, limit: int | None = None) -> str:
        """The result list's SQL with the values written in, for display only (never run it)."""
        try:
            # "named": a pyformat dialect would print every % of a LIKE pattern twice
            dialect = _DIALECTS[dialect_name](paramstyle="named")
        except KeyError:
            raise QueryError(
                stored(
                    "unknown SQL dialect '{dialect}'; known: sqlite, postgresql",
                    dialect=dialect_name,
                )
            ) from None
        compiled = self.select_rows(limit).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}
        )
        return str(compiled)


def _sort_key(spec: FieldSpec, column: ColumnElement[Any]) -> ColumnElement[Any]:
    if spec.type is FieldType.TEXT:
        return ci_text(func.nullif(column, EMPTY_TEXT))
    return column


def _resolve_single(root: EntitySpec, path: str, location: str) -> ResolvedField:
    """A root or to-one field: one value per record, so it can be shown, sorted or grouped."""
    try:
        resolved = resolve_path(root.name, path)
    except QueryError as exc:
        raise exc.at(location) from None
    if resolved.to_many:
        many = next(relation for relation in resolved.relations if relation.to_many)
        raise QueryError(
            stored(
                "'{path}' goes through the to-many relation '{relation}' and has many values "
                "per record; use fields of {root} or of its to-one relations",
                path=path,
                relation=many.name,
                root=root.name,
            ),
            location,
        )
    return resolved


def compile_query(definition: QueryDefinition | Mapping[str, Any] | str) -> CompiledQuery:
    """Check a query against the whitelist and build its expressions (QueryError if wrong)."""
    definition = parse_definition(definition)
    try:
        root = get_entity(definition.root)
    except QueryError as exc:
        raise exc.at("root") from None
    where = _node(root, definition.where, "where") if definition.where is not None else None
    output_paths: Sequence[str] = definition.output or list(root.fields)
    output = tuple(
        _resolve_single(root, path, f"output[{index}]") for index, path in enumerate(output_paths)
    )
    sort = tuple(
        (_resolve_single(root, key.field, f"sort[{index}].field"), key.descending)
        for index, key in enumerate(definition.sort)
    )
    return CompiledQuery(
        definition=definition,
        root=root,
        where=true() if where is None else where,
        output=output,
        sort=sort,
    )


__all__ = [
    "ALLOWED_TYPES",
    "CompiledQuery",
    "ci_text",
    "code_point_order",
    "compile_query",
    "condition_expression",
    "parse_value",
]
