"""The stored form of a query: plain JSON data, checked here only for what is wrong whatever
the entity is (shape, value counts); the compiler, which knows the entity, checks the rest.
``QueryError`` is the one exception for every problem in a query, so callers catch one thing.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core import json_text
from core.json_text import MAX_DEPTH, JsonTooDeepError, check_data_depth
from core.messages import ExplainedError, StoredText, stored
from core.validation import ValidationMessage, reason_text

MAX_VALUES = 1000  # per condition: more belong in a static list, not in an IN clause
MAX_NESTING = 10  # blocks inside blocks
MAX_JSON_DEPTH = MAX_DEPTH  # objects and lists inside each other, checked before parsing
MAX_GROUP_FIELDS = 5  # a grouped result with more keys is a list of records again
MAX_AGGREGATES = 20  # columns of figures per group


def join_location(outer: str | None, inner: str | None) -> str:
    """``where.conditions[0]`` + ``values[1]``, or + ``[1]`` without a dot."""
    if not outer or not inner:
        return outer or inner or ""
    return f"{outer}{inner}" if inner.startswith("[") else f"{outer}.{inner}"


class QueryError(ExplainedError):
    """A query that cannot be compiled: ``location`` says where in the JSON, ``reason`` what
    in the reader's language (for a screen that names the place in its own words),
    ``problem`` the same in English. A ``ValueError``, so pydantic validators may raise it.
    """

    def __init__(self, reason: StoredText, location: str | None = None):
        self.reason = reason
        self.location = location
        super().__init__(
            stored("{field}: {problem}", field=location, problem=reason) if location else reason
        )

    @property
    def problem(self) -> str:
        return self.reason.english()

    def at(self, location: str) -> QueryError:
        """The same problem, placed inside ``location``."""
        return QueryError(self.reason, join_location(location, self.location) or None)


class ConditionType(enum.StrEnum):
    """The 16 condition types of the query editor."""

    EQUALS = "equals"
    CONTAINS = "contains"
    ENDS_WITH = "ends_with"
    BEGINS_WITH = "begins_with"
    IS_EMPTY = "is_empty"
    NOT_EQUALS = "not_equals"
    NOT_CONTAINS = "not_contains"
    NOT_ENDS_WITH = "not_ends_with"
    NOT_BEGINS_WITH = "not_begins_with"
    NOT_EMPTY = "not_empty"
    ON_DAYS = "on_days"
    BETWEEN = "between"
    AT_MOST = "at_most"
    AT_LEAST = "at_least"
    NOT_ON_DAYS = "not_on_days"
    NOT_BETWEEN = "not_between"

    @property
    def negated(self) -> bool:
        """Exactly NOT of another type (``is_empty`` included)."""
        return self in _POSITIVE_OF

    @property
    def positive(self) -> ConditionType:
        """The type this one negates, or itself."""
        return _POSITIVE_OF.get(self, self)


_POSITIVE_OF = {
    ConditionType.NOT_EQUALS: ConditionType.EQUALS,
    ConditionType.NOT_CONTAINS: ConditionType.CONTAINS,
    ConditionType.NOT_ENDS_WITH: ConditionType.ENDS_WITH,
    ConditionType.NOT_BEGINS_WITH: ConditionType.BEGINS_WITH,
    ConditionType.IS_EMPTY: ConditionType.NOT_EMPTY,
    ConditionType.NOT_ON_DAYS: ConditionType.ON_DAYS,
    ConditionType.NOT_BETWEEN: ConditionType.BETWEEN,
}

# per positive type: (smallest, largest, how to say it); None = no upper bound
_ARITY: dict[ConditionType, tuple[int, int | None, StoredText]] = {
    ConditionType.NOT_EMPTY: (0, 0, stored("takes no values")),
    ConditionType.BETWEEN: (2, 2, stored("needs exactly 2 values (from, to)")),
    ConditionType.AT_MOST: (1, 1, stored("needs exactly 1 value")),
    ConditionType.AT_LEAST: (1, 1, stored("needs exactly 1 value")),
}
_AT_LEAST_ONE = (1, None, stored("needs at least 1 value"))


def _check_value(value: Any) -> Any:
    if not isinstance(value, str | int | float | Decimal | date):
        raise QueryError(
            stored(
                "expected text, a number, true/false or a date, not {python_type}",
                python_type=type(value).__name__,
            )
        )
    if value == "":
        raise QueryError(stored("empty value; use is_empty or not_empty to test for empty fields"))
    if isinstance(value, str) and "\0" in value:
        raise QueryError(stored("a value may not contain a NUL character (\\0)"))
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise QueryError(stored("{value} is not a finite number", value=str(value)))
    return value


ConditionValue = Annotated[Any, AfterValidator(_check_value)]
"""A value as typed in the editor: text, number, boolean or date (parsed per field later)."""


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1)
    type: ConditionType
    values: list[ConditionValue] = Field(default=[], validate_default=True)

    @field_validator("values")
    @classmethod
    def _arity(cls, values: list[Any], info: ValidationInfo) -> list[Any]:
        condition_type = info.data.get("type")
        if condition_type is None:
            return values
        smallest, largest, wording = _ARITY.get(condition_type.positive, _AT_LEAST_ONE)
        if len(values) < smallest or (largest is not None and len(values) > largest):
            raise QueryError(stored("{type} {wording}", type=condition_type.value, wording=wording))
        if len(values) > MAX_VALUES:
            raise QueryError(stored("at most {most} values per condition", most=MAX_VALUES))
        return values


def _node_kind(node: Any) -> str:
    is_block = isinstance(node, Mapping) and ("conditions" in node or "op" in node)
    return "block" if is_block or isinstance(node, Block) else "condition"


Node = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated["Block", Tag("block")],
    Discriminator(_node_kind),
]
"""A condition or a nested block; told apart by the block's ``op``/``conditions`` keys."""


class Block(BaseModel):
    """Conditions combined with AND ("every condition holds") or OR ("one or more hold")."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["and", "or"] = "and"
    conditions: list[Node] = []


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1)
    descending: bool = False


class AggregateFunction(enum.StrEnum):
    """What a grouped result says about each group's records."""

    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"


class Aggregate(BaseModel):
    """One figure per group: ``count`` of its records, or a function of one field."""

    model_config = ConfigDict(extra="forbid")

    function: str
    field: str | None = Field(default=None, min_length=1)

    @field_validator("function")
    @classmethod
    def _known_function(cls, function: str) -> str:
        if function not in AggregateFunction.__members__.values():
            raise QueryError(
                stored(
                    "{value} is not one of: {functions}",
                    value=repr(function),
                    functions=[str(known) for known in AggregateFunction],
                )
            )
        return function


class QueryDefinition(BaseModel):
    """A whole query: which records (root + where), which columns (output), in which order;
    or, with ``group_by`` and ``aggregates``, one row of figures per group of records."""

    model_config = ConfigDict(extra="forbid")

    root: str
    where: Block | None = None
    output: list[Annotated[str, Field(min_length=1)]] = []
    sort: list[SortKey] = []
    group_by: list[Annotated[str, Field(min_length=1)]] = []
    aggregates: list[Aggregate] = []

    @field_validator("group_by")
    @classmethod
    def _distinct_groups(cls, group_by: list[str]) -> list[str]:
        if len(group_by) > MAX_GROUP_FIELDS:
            raise QueryError(stored("at most {most} group fields", most=MAX_GROUP_FIELDS))
        return _distinct(group_by)

    @field_validator("aggregates")
    @classmethod
    def _distinct_aggregates(cls, aggregates: list[Aggregate]) -> list[Aggregate]:
        if len(aggregates) > MAX_AGGREGATES:
            raise QueryError(stored("at most {most} aggregates", most=MAX_AGGREGATES))
        seen = set()
        for index, aggregate in enumerate(aggregates):
            key = (aggregate.function, aggregate.field)
            if key in seen:
                named = f"{aggregate.function} {aggregate.field or ''}".strip()
                raise QueryError(stored("'{path}' is listed twice", path=named), f"[{index}]")
            seen.add(key)
        return aggregates

    @field_validator("output")
    @classmethod
    def _distinct_output(cls, output: list[str]) -> list[str]:
        return _distinct(output)

    @model_validator(mode="after")
    def _not_too_deep(self) -> QueryDefinition:
        if self.where is not None and _nesting(self.where) > MAX_NESTING:
            raise QueryError(stored("blocks nest at most {most} deep", most=MAX_NESTING), "where")
        if self.group_by and not self.aggregates:
            raise QueryError(
                stored("choose at least one aggregate for the groups, e.g. count"), "aggregates"
            )
        if self.aggregates and not self.group_by:
            raise QueryError(
                stored("aggregates need at least one group field, e.g. city"), "group_by"
            )
        return self


def _distinct(paths: list[str]) -> list[str]:
    seen = set()
    for index, path in enumerate(paths):
        if path in seen:
            raise QueryError(stored("'{path}' is listed twice", path=path), f"[{index}]")
        seen.add(path)
    return paths


def _nesting(block: Block) -> int:
    inner = [_nesting(node) for node in block.conditions if isinstance(node, Block)]
    return 1 + max(inner, default=0)


Block.model_rebuild()
_NODE_ADAPTER: TypeAdapter[Condition | Block] = TypeAdapter(Node)


def _validated(validate: Callable[[Any], Any], data: Any, location: str = "") -> Any:
    """``validate(data)``, its problems as one QueryError; data too deep refused beforehand."""
    try:
        check_data_depth(data, MAX_JSON_DEPTH)
        return validate(data)
    except ValidationError as exc:
        raise as_query_error(exc, location) from None
    except JsonTooDeepError as exc:
        raise too_deep(exc) from None


def parse_definition(data: QueryDefinition | Mapping[str, Any] | str | bytes) -> QueryDefinition:
    """A QueryDefinition from a model, a dict or JSON text; QueryError naming every problem."""
    if isinstance(data, QueryDefinition):
        return data
    if isinstance(data, str | bytes):
        data = load_json(data)
    return _validated(QueryDefinition.model_validate, data)


class QueryTooDeepError(QueryError):
    """A query whose JSON nests deeper than ``MAX_JSON_DEPTH``."""


class QueryJsonError(QueryError):
    """A query's text that is not JSON; ``json_problem`` says why without "Invalid JSON", for
    the query editor, which says that in its own words."""

    def __init__(self, json_problem: StoredText):
        self.json_problem = json_problem
        super().__init__(stored("Invalid JSON: {json_error}", json_error=json_problem))


def load_json(text: str | bytes) -> Any:
    """A query's JSON text as Python data; QueryError when it is not JSON or nests deeper
    than ``MAX_JSON_DEPTH`` (refused before parsing: JSON parsers recurse)."""
    try:
        return json_text.loads(text, MAX_JSON_DEPTH)
    except JsonTooDeepError as exc:
        raise too_deep(exc) from None
    except ValueError as exc:  # not JSON, or bytes that are not UTF-8
        raise QueryJsonError(json_text.problem(exc)) from None


def too_deep(exc: JsonTooDeepError) -> QueryTooDeepError:
    return QueryTooDeepError(
        stored(
            "the query is nested deeper than {limit} levels of objects and lists; blocks nest "
            "at most {most} deep",
            limit=exc.limit,
            most=MAX_NESTING,
        )
    )


def parse_node(
    data: Condition | Block | Mapping[str, Any], location: str = ""
) -> Condition | Block:
    """A condition or block (for the field-condition filter), validated like a query's where."""
    if isinstance(data, Condition | Block):
        return data
    return _validated(_NODE_ADAPTER.validate_python, data, location)


def as_query_error(exc: ValidationError, location: str = "") -> QueryError:
    """pydantic's errors as one QueryError: "where.conditions[2].values: between needs ..."."""
    problems: list[tuple[str, StoredText]] = []
    for error in exc.errors():
        where = _format_location(error["loc"], location)
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, QueryError):
            where = join_location(where, cause.location)
            problem = cause.reason
        else:
            problem = _pydantic_problem(error)
        if (where, problem) not in problems:
            problems.append((where, problem))
    if len(problems) == 1:
        where, problem = problems[0]
        return QueryError(problem, where or None)
    placed = [
        stored("{field}: {problem}", field=where, problem=problem) if where else problem
        for where, problem in problems
    ]
    return QueryError(
        functools.reduce(
            lambda said, problem: stored("{problems}; {problem}", problems=said, problem=problem),
            placed,
        )
    )


def _pydantic_problem(error: Mapping[str, Any]) -> StoredText:
    kind = error["type"]
    if kind == "missing":
        return stored("required")
    if kind == "extra_forbidden":
        return stored("unknown key")
    if kind == "enum":
        return stored(
            "{value} is not one of: {types}",
            value=repr(error.get("input")),
            types=[str(condition_type) for condition_type in ConditionType],
        )
    if kind == "literal_error":
        return stored("{value} is not one of: and, or", value=repr(error.get("input")))
    return reason_text(ValidationMessage.of(error))


def _format_location(loc: tuple[Any, ...], prefix: str = "") -> str:
    text = prefix
    for index, part in enumerate(loc):
        tag = part in ("condition", "block") and (index == 0 or isinstance(loc[index - 1], int))
        if isinstance(part, int):
            text += f"[{part}]"
        elif not tag:  # a union's tag (first, or after an index) is no key of the data
            text = join_location(text, str(part))
    return text
