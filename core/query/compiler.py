"""Stored queries to SQLAlchemy expressions, without ever putting query text into SQL: field
names only pick whitelisted columns, every value becomes a bound parameter. The semantics of
each condition type are in docs/queries.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.messages import stored
from core.query.definition import (
    Aggregate,
    AggregateFunction,
    Block,
    Condition,
    ConditionType,
    QueryDefinition,
    QueryError,
    join_location,
    parse_definition,
    parse_node,
)
from core.query.entities import (
    EntitySpec,
    FieldSpec,
    FieldType,
    ResolvedField,
    get_entity,
    resolve_path,
)
from core.query.records import plain

CT = ConditionType


class ci_text(FunctionElement[str]):
    """Text folded for case-insensitive comparison: SQLite's own lower() folds ASCII only, so
    there it is the unicode_lower() that core.db.database registers."""

    type = String()
    name = "ci_text"
    inherit_cache = True
    templates = {"sqlite": "unicode_lower({})", "": "lower({})"}


class code_point_order(FunctionElement[str]):
    """Text compared by code point (SQLite's default; PostgreSQL's "C" collation)."""

    type = String()
    name = "code_point_order"
    inherit_cache = True
    templates = {"postgresql": '({}) COLLATE "C"', "": "{}"}


@compiles(ci_text)
@compiles(code_point_order)
def _per_dialect(element: Any, compiler: Any, **kw: Any) -> str:
    template = element.templates.get(compiler.dialect.name, element.templates[""])
    return template.format(compiler.process(element.clauses, **kw))


EMPTY_TEXT = literal_column("''")  # a constant, so GROUP BY and SELECT render identically
LIKE_ESCAPE = "/"

_DAY_TYPES = {CT.ON_DAYS, CT.NOT_ON_DAYS}
_TEXT_TYPES = frozenset(CT) - _DAY_TYPES
_LIKE_TYPES = (CT.CONTAINS, CT.BEGINS_WITH, CT.ENDS_WITH)
_NUMBER_TYPES = frozenset(t for t in _TEXT_TYPES if t.positive not in _LIKE_TYPES)
_DATE_TYPES = _NUMBER_TYPES | _DAY_TYPES
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

AF = AggregateFunction
AGGREGATE_TYPES: dict[AggregateFunction, tuple[FieldType, ...]] = {
    AF.COUNT: (),
    AF.SUM: (FieldType.NUMBER,),
    AF.AVG: (FieldType.NUMBER,),
    AF.MIN: (FieldType.NUMBER, FieldType.DATE, FieldType.DATETIME),
    AF.MAX: (FieldType.NUMBER, FieldType.DATE, FieldType.DATETIME),
}
"""The field types each aggregate takes (count takes no field: it counts the records)."""

_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = {"true", "ja", "yes", "1", "wahr"}
_FALSE = {"false", "nein", "no", "0", "falsch"}


def _parse_number(value: Any) -> Decimal:
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return Decimal(str(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip().replace(",", "."))
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
    if _is_day(value) or (isinstance(value, str) and _DATE.fullmatch(value.strip())):
        return _parse_date(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise QueryError(
                stored(
                    "{value} is not a date (yyyy-mm-dd) or date-time "
                    "(yyyy-mm-ddThh:mm[:ss][+hh:mm])",
                    value=repr(value),
                )
            ) from None
    if not isinstance(value, datetime):
        raise QueryError(stored("{value} is not a date or date-time", value=repr(value)))
    try:
        return plain(value)  # aware, in UTC
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant Python knows
        raise QueryError(
            stored("{value} is not a date or date-time", value=repr(value.isoformat()))
        ) from None


def _parse_boolean(value: Any) -> bool:
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise QueryError(
        stored("{value} is not a boolean (true/false, ja/nein, 1/0)", value=repr(value))
    )


def _parse_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        raise QueryError(stored("{value} is not text", value=repr(value)))
    return str(value)


def _parse_choice(spec: FieldSpec, value: Any) -> str:
    choices = spec.choices or ()
    for choice in choices:
        if isinstance(value, str) and choice.casefold() == value.strip().casefold():
            return choice
    raise QueryError(
        stored(
            "{value} is not a choice of {field}; known: {choices}",
            value=repr(value),
            field=spec.name,
            choices=list(choices),
        )
    )


def _parse_value(spec: FieldSpec, condition_type: ConditionType, value: Any) -> Any:
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
            parsed.append(_parse_value(spec, condition.type, value))
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
    if end and value == date.max:  # its next day is beyond what Python reckons with
        return datetime.max.replace(tzinfo=UTC)
    start = _day_start(value)
    return start + timedelta(days=1) - timedelta.resolution if end else start


def _bind(spec: FieldSpec, column: ColumnElement[Any], value: Any) -> Any:
    if spec.type is FieldType.TEXT:
        return ci_text(literal(value, String()))
    if spec.type is not FieldType.NUMBER:
        return literal(value, column.type)
    whole = value == value.to_integral_value() and abs(value) < 2**63  # SQLite's int limit
    if isinstance(spec.column.property.columns[0].type, Integer) and whole:
        return literal(int(value), Integer())
    return literal(value, Numeric())  # no scale: 7.499 stays 7.499, also in the shown SQL


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
    key = code_point_order(ci_text(column)) if spec.type is FieldType.TEXT else column
    on_datetime = spec.type is FieldType.DATETIME
    parts: list[ColumnElement[bool]] = []
    if low is not None:
        parts.append(key >= _bind(spec, column, _instant(low, end=False) if on_datetime else low))
    if on_datetime and _is_day(high):  # up to the end of that day (9999-12-31: no end)
        if high < date.max:
            parts.append(column < literal(_day_start(high + timedelta(days=1)), column.type))
    elif high is not None:
        parts.append(key <= _bind(spec, column, high))
    return parts


def _positive(
    spec: FieldSpec, condition_type: ConditionType, column: ColumnElement[Any], values: list[Any]
) -> ColumnElement[bool]:
    """The positive form of a condition; never NULL, so NOT of it is its exact complement."""
    has_value = column.is_not(None)
    if spec.type is FieldType.TEXT:
        has_value = and_(has_value, column != EMPTY_TEXT)
    if condition_type is CT.NOT_EMPTY:
        return has_value
    if condition_type in _LIKE_TYPES:
        matches = [_text_like(column, condition_type, value) for value in values]
        return and_(column.is_not(None), or_(*matches))
    if condition_type in (CT.BETWEEN, CT.AT_MOST, CT.AT_LEAST):
        low = None if condition_type is CT.AT_MOST else values[0]
        high = None if condition_type is CT.AT_LEAST else values[-1]
        return and_(has_value, *_range(spec, column, low, high))
    # equals / on_days
    if spec.type is FieldType.DATETIME:
        return and_(has_value, or_(*(and_(*_range(spec, column, day, day)) for day in values)))
    compared = ci_text(column) if spec.type is FieldType.TEXT else column
    return and_(has_value, compared.in_([_bind(spec, column, value) for value in values]))


def _on_path(resolved: ResolvedField, build: Any) -> ColumnElement[bool]:
    """``build(column)`` for the path's field; through relations as an EXISTS subquery."""
    if not resolved.relations:
        return build(resolved.field.column)
    current: Any = resolved.root.model
    joins = []
    for relation in resolved.relations:
        current, onclause = relation.join(current)
        joins.append(onclause)
    return exists().where(*joins, build(getattr(current, resolved.field.key)))


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
        raise exc.at(location) from None
    positive = condition.type.positive
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
    if len(children) <= 1:
        return children[0] if children else None
    return and_(*children) if node.op == "and" else or_(*children)


def condition_expression(
    root: str, node: Condition | Block | Mapping[str, Any], location: str = ""
) -> ColumnElement[bool]:
    """A boolean expression over ``root``'s table alone (related fields via EXISTS)."""
    expression = _node(get_entity(root), parse_node(node, location), location)
    return true() if expression is None else expression


class _Joins:
    """Outer joins of the root to its to-one relations, one alias per path prefix."""

    def __init__(self, root: EntitySpec):
        self.root = root
        self.source: Any = root.model
        self.aliases: dict[tuple[Any, ...], Any] = {}

    def column(self, resolved: ResolvedField) -> ColumnElement[Any]:
        current: Any = self.root.model
        for depth, relation in enumerate(resolved.relations, start=1):
            prefix = resolved.relations[:depth]
            if prefix not in self.aliases:
                target, onclause = relation.join(current)
                self.source = outerjoin(self.source, target, onclause)
                self.aliases[prefix] = target
            current = self.aliases[prefix]
        return getattr(current, resolved.field.key)


@dataclass(frozen=True)
class CompiledAggregate:
    """One figure per group: the function and the field it reads (None for count)."""

    function: AggregateFunction
    field: ResolvedField | None

    @property
    def label(self) -> str:
        """The result's column name: ``count``, ``sum(amount)``."""
        return self.function.value if self.field is None else f"{self.function}({self.field.path})"

    def expression(self, root: EntitySpec, joins: _Joins) -> ColumnElement[Any]:
        if self.field is None:
            return func.count(root.id_column)
        column = joins.column(self.field)
        if self.function is AF.AVG:  # SQLite averages as a float, PostgreSQL as a numeric
            return func.avg(column, type_=Numeric())
        return getattr(func, self.function.value)(column)


@dataclass(frozen=True)
class CompiledQuery:
    """A validated query, ready to become SELECTs over its root table."""

    definition: QueryDefinition
    root: EntitySpec
    where: ColumnElement[bool]
    output: tuple[ResolvedField, ...]
    sort: tuple[tuple[ResolvedField, bool], ...]
    group_by: tuple[ResolvedField, ...] = ()
    aggregates: tuple[CompiledAggregate, ...] = ()

    @property
    def grouped(self) -> bool:
        """One row per group (``select_groups``) instead of one per record."""
        return bool(self.group_by)

    @property
    def group_labels(self) -> list[str]:
        """The grouped result's column names: the group paths, then the aggregates'."""
        return [field.path for field in self.group_by] + [agg.label for agg in self.aggregates]

    def select_groups(self, limit: int | None = None) -> Select[Any]:
        """One row per distinct combination of the group fields (empty text and NULL are one
        group), with the aggregates of its records, in the order of the group fields (text
        case-insensitively, empty last); the database groups, no record is loaded."""
        joins = _Joins(self.root)
        keys = []
        order_by = []
        for resolved in self.group_by:
            key = joins.column(resolved)
            if resolved.type is FieldType.TEXT:
                key = func.nullif(key, EMPTY_TEXT)
                order_by.append(ci_text(key).asc().nulls_last())
            order_by.append(key.asc().nulls_last())
            keys.append(key.label(resolved.path))
        figures = [
            aggregate.expression(self.root, joins).label(aggregate.label)
            for aggregate in self.aggregates
        ]
        return (
            select(*keys, *figures)
            .select_from(joins.source)
            .where(self.where)
            .group_by(*(key.element for key in keys))
            .order_by(*order_by)
            .limit(limit)
        )

    @property
    def output_paths(self) -> list[str]:
        return [resolved.path for resolved in self.output]

    def select_rows(self, limit: int | None = None) -> Select[Any]:
        """The output fields, labelled by their dotted path, of the matching records."""
        joins = _Joins(self.root)
        columns = [joins.column(resolved).label(resolved.path) for resolved in self.output]
        order_by = []
        for resolved, descending in self.sort:
            key = joins.column(resolved)
            if resolved.type is FieldType.TEXT:
                key = ci_text(func.nullif(key, EMPTY_TEXT))
            order_by.append((key.desc() if descending else key.asc()).nulls_last())
        return (
            select(*columns)
            .select_from(joins.source)
            .where(self.where)
            .order_by(*order_by, self.root.id_column.asc())
            .limit(limit)
        )

    def select_count(self) -> Select[Any]:
        """How many records match (one row, one column ``count``)."""
        return (
            select(func.count(self.root.id_column).label("count"))
            .select_from(self.root.model)
            .where(self.where)
        )

    def select_targets(self, group_by: str | None = None) -> Select[Any]:
        """Root ids (``id``) and their group as text (``group_key``) for the campaign engine.
        FROM stays the root table, so ``.where(...)`` on it composes; empty values form the
        group ``''``, so every record has a group that can be ticked (NULL without group_by).
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
    output = tuple(
        _resolve_single(root, path, f"output[{index}]")
        for index, path in enumerate(definition.output or root.fields)
    )
    sort = tuple(
        (_resolve_single(root, key.field, f"sort[{index}].field"), key.descending)
        for index, key in enumerate(definition.sort)
    )
    group_by = tuple(
        _resolve_single(root, path, f"group_by[{index}]")
        for index, path in enumerate(definition.group_by)
    )
    aggregates = tuple(
        _aggregate(root, aggregate, f"aggregates[{index}]")
        for index, aggregate in enumerate(definition.aggregates)
    )
    return CompiledQuery(
        definition,
        root,
        true() if where is None else where,
        output,
        sort,
        group_by,
        aggregates,
    )


def _aggregate(root: EntitySpec, aggregate: Aggregate, location: str) -> CompiledAggregate:
    """An aggregate whose field exists, has one value per record and fits the function."""
    function = AggregateFunction(aggregate.function)
    allowed = AGGREGATE_TYPES[function]
    if aggregate.field is None:
        if allowed:
            raise QueryError(
                stored("{function} needs a field, e.g. amount", function=function.value),
                location,
            )
        return CompiledAggregate(function, None)
    if not allowed:
        raise QueryError(
            stored("count counts the records of each group and takes no field"),
            join_location(location, "field"),
        )
    resolved = _resolve_single(root, aggregate.field, join_location(location, "field"))
    if resolved.type not in allowed:
        raise QueryError(
            stored(
                "{function} does not fit the {field_type} field '{field}'; use a field of "
                "type {field_types}",
                function=function.value,
                field_type=resolved.type.value,
                field=aggregate.field,
                field_types=[field_type.value for field_type in allowed],
            ),
            join_location(location, "field"),
        )
    return CompiledAggregate(function, resolved)
