"""The stored JSON form of queries: shape, value counts and error locations."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from core.query import (
    Block,
    Condition,
    ConditionType,
    QueryDefinition,
    QueryError,
    QueryTooDeepError,
    SortKey,
    load_json,
    parse_definition,
    parse_node,
)
from webapp.i18n import render_stored

PROSPECTS_WITH_EMAIL = {
    "root": "contacts",
    "where": {
        "op": "and",
        "conditions": [
            {"field": "status", "type": "equals", "values": ["prospect"]},
            {"field": "email", "type": "not_empty"},
        ],
    },
    "output": ["number", "first_name", "last_name", "email"],
    "sort": [{"field": "last_name"}],
}


def test_exactly_the_sixteen_condition_types():
    assert [member.value for member in ConditionType] == [
        "equals",
        "contains",
        "ends_with",
        "begins_with",
        "is_empty",
        "not_equals",
        "not_contains",
        "not_ends_with",
        "not_begins_with",
        "not_empty",
        "on_days",
        "between",
        "at_most",
        "at_least",
        "not_on_days",
        "not_between",
    ]


def test_every_negated_type_has_a_positive_one():
    pairs = {t.value: t.positive.value for t in ConditionType if t.negated}
    assert pairs == {
        "not_equals": "equals",
        "not_contains": "contains",
        "not_ends_with": "ends_with",
        "not_begins_with": "begins_with",
        "is_empty": "not_empty",
        "not_on_days": "on_days",
        "not_between": "between",
    }
    assert ConditionType.AT_MOST.positive is ConditionType.AT_MOST


def test_parse_the_worked_example():
    definition = parse_definition(PROSPECTS_WITH_EMAIL)
    assert definition.root == "contacts"
    assert definition.where == Block(
        op="and",
        conditions=[
            Condition(field="status", type=ConditionType.EQUALS, values=["prospect"]),
            Condition(field="email", type=ConditionType.NOT_EMPTY),
        ],
    )
    assert definition.sort == [SortKey(field="last_name")]
    assert parse_definition(json.dumps(PROSPECTS_WITH_EMAIL)) == definition
    assert parse_definition(definition) is definition


def test_round_trip_through_json():
    definition = parse_definition(
        {
            "root": "contracts",
            "where": {
                "op": "or",
                "conditions": [
                    {"field": "amount", "type": "between", "values": [Decimal("10.5"), 20]},
                    {"field": "signed_on", "type": "on_days", "values": [date(2024, 2, 29)]},
                    {"op": "and", "conditions": [{"field": "product.name", "type": "is_empty"}]},
                ],
            },
        }
    )
    stored = json.dumps(definition.model_dump(mode="json"))
    again = parse_definition(stored)
    assert again.model_dump(mode="json") == definition.model_dump(mode="json")
    assert json.loads(stored)["where"]["conditions"][1]["values"] == ["2024-02-29"]
    assert isinstance(again.where.conditions[2], Block)


def test_defaults():
    definition = parse_definition({"root": "contacts"})
    assert definition.where is None
    assert definition.output == []
    assert definition.sort == []
    assert Block().op == "and"


@pytest.mark.parametrize(
    ("type_", "values", "message"),
    [
        ("between", ["1"], "between needs exactly 2 values (from, to)"),
        ("not_between", ["1", "2", "3"], "not_between needs exactly 2 values (from, to)"),
        ("between", [], "between needs exactly 2 values (from, to)"),
        ("at_most", [], "at_most needs exactly 1 value"),
        ("at_least", ["1", "2"], "at_least needs exactly 1 value"),
        ("equals", [], "equals needs at least 1 value"),
        ("on_days", [], "on_days needs at least 1 value"),
        ("contains", [], "contains needs at least 1 value"),
        ("is_empty", ["x"], "is_empty takes no values"),
        ("not_empty", ["x"], "not_empty takes no values"),
    ],
)
def test_value_counts(type_: str, values: list, message: str):
    data = {
        "root": "contacts",
        "where": {
            "conditions": [
                {"field": "city", "type": "not_empty"},
                {"field": "city", "type": "is_empty"},
                {"field": "city", "type": type_, "values": values},
            ]
        },
    }
    with pytest.raises(QueryError) as error:
        parse_definition(data)
    assert str(error.value) == f"where.conditions[2].values: {message}"
    assert error.value.location == "where.conditions[2].values"
    with pytest.raises(ValidationError, match=re.escape(message)):
        QueryDefinition.model_validate(data)


def test_missing_values_are_checked_too():
    with pytest.raises(QueryError, match=r"^where.conditions\[0\].values: between needs"):
        parse_definition(
            {"root": "contacts", "where": {"conditions": [{"field": "city", "type": "between"}]}}
        )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"root": "contacts", "where": {"conditions": [{"field": "a", "type": "like"}]}},
            "where.conditions[0].type: 'like' is not one of: equals, contains,",
        ),
        (
            {"root": "contacts", "where": {"op": "xor", "conditions": []}},
            "where.op: 'xor' is not one of: and, or",
        ),
        (
            {
                "root": "contacts",
                "where": {
                    "conditions": [
                        {
                            "op": "or",
                            "conditions": [{"field": "a", "type": "equals", "values": [""]}],
                        }
                    ]
                },
            },
            "where.conditions[0].conditions[0].values[0]: empty value; use is_empty or not_empty",
        ),
        (
            {
                "root": "contacts",
                "where": {
                    "conditions": [{"field": "a", "type": "equals", "values": ["x", {"$ne": 1}]}]
                },
            },
            "where.conditions[0].values[1]: expected text, a number, true/false or a date",
        ),
        (
            {
                "root": "contacts",
                "where": {
                    "conditions": [{"field": "a", "type": "equals", "values": ["x"], "sql": "1=1"}]
                },
            },
            "where.conditions[0].sql: unknown key",
        ),
        ({"root": "contacts", "limit": 5}, "limit: unknown key"),
        ({"where": None}, "root: required"),
        (
            {"root": "contacts", "where": {"conditions": [{"type": "equals", "values": ["x"]}]}},
            "where.conditions[0].field: required",
        ),
        (
            {"root": "contacts", "output": ["city", "email", "city"]},
            "output[2]: 'city' is listed twice",
        ),
        (
            {"root": "contacts", "sort": [{"field": ""}]},
            "sort[0].field: String should have at least 1",
        ),
        (
            {"root": "contacts", "group_by": ["city"]},
            "aggregates: choose at least one aggregate for the groups, e.g. count",
        ),
        (
            {"root": "contacts", "aggregates": [{"function": "count"}]},
            "group_by: aggregates need at least one group field, e.g. city",
        ),
        (
            {"root": "contacts", "group_by": ["a", "b", "c", "d", "e", "f"]},
            "group_by: at most 5 group fields",
        ),
        (
            {"root": "contacts", "group_by": ["city", "city"]},
            "group_by[1]: 'city' is listed twice",
        ),
        (
            {"root": "contacts", "group_by": ["city"], "aggregates": [{"function": "median"}]},
            "aggregates[0].function: 'median' is not one of: count, sum, avg, min, max",
        ),
        (
            {
                "root": "contacts",
                "group_by": ["city"],
                "aggregates": [{"function": "count"}, {"function": "count"}],
            },
            "aggregates[1]: 'count' is listed twice",
        ),
        (
            {"root": "contacts", "group_by": ["city"], "aggregates": [{"function": "count"}] * 21},
            "aggregates: at most 20 aggregates",
        ),
    ],
)
def test_shape_errors_name_the_location(data: dict, expected: str):
    with pytest.raises(QueryError) as error:
        parse_definition(data)
    assert str(error.value).startswith(expected)


def test_several_problems_are_reported_together():
    with pytest.raises(QueryError) as error:
        parse_definition(
            {
                "root": "contacts",
                "where": {
                    "conditions": [
                        {"field": "a", "type": "between", "values": ["1"]},
                        {"field": "b", "type": "is_empty", "values": ["1"]},
                    ]
                },
            }
        )
    assert str(error.value) == (
        "where.conditions[0].values: between needs exactly 2 values (from, to); "
        "where.conditions[1].values: is_empty takes no values"
    )
    assert render_stored(error.value.text, "de", {}) == (
        "where.conditions[0].values: between braucht genau 2 Werte (von, bis); "
        "where.conditions[1].values: is_empty hat keine Werte"
    )


def test_nesting_is_limited():
    where: dict = {"field": "city", "type": "not_empty"}
    for _ in range(11):
        where = {"op": "or", "conditions": [where]}
    with pytest.raises(QueryError, match=r"^where: blocks nest at most 10 deep"):
        parse_definition({"root": "contacts", "where": where})


def deeply_nested(depth: int) -> tuple[dict, str]:
    """A query whose where nests ``depth`` blocks, as data and as JSON text (built without
    recursion, so any depth can be written)."""
    where: dict = {"field": "city", "type": "not_empty"}
    for _ in range(depth):
        where = {"op": "or", "conditions": [where]}
    text = '{"root": "contacts", "where": ' + '{"conditions": [' * depth + "]}" * depth + "}"
    return {"root": "contacts", "where": where}, text


@pytest.mark.parametrize("depth", [20, 490, 5000])
def test_deep_nesting_is_refused_before_parsing_naming_the_limit(depth):
    data, text = deeply_nested(depth)
    for query in (data, text, text.encode()):
        with pytest.raises(QueryTooDeepError) as error:
            parse_definition(query)
        assert str(error.value) == (
            "the query is nested deeper than 32 levels of objects and lists; "
            "blocks nest at most 10 deep"
        )
    with pytest.raises(QueryTooDeepError):
        load_json(text)
    with pytest.raises(QueryTooDeepError):
        parse_node(data["where"])


def test_brackets_inside_texts_do_not_count_as_nesting():
    values = ["[" * 100, '{"\\"' * 50]
    query = {
        "root": "contacts",
        "where": {"conditions": [{"field": "city", "type": "equals", "values": values}]},
    }
    assert parse_definition(json.dumps(query)).where.conditions[0].values == values
    assert load_json(json.dumps(query)) == query


def test_a_nul_character_in_a_value_is_refused():
    with pytest.raises(QueryError) as error:
        parse_definition(
            {
                "root": "contacts",
                "where": {
                    "conditions": [
                        {"field": "city", "type": "equals", "values": ["Köln", "Bo\0nn"]}
                    ]
                },
            }
        )
    assert str(error.value) == (
        "where.conditions[0].values[1]: a value may not contain a NUL character (\\0)"
    )


def test_invalid_json_text():
    for read in (parse_definition, load_json):
        with pytest.raises(QueryError) as refused:
            read("{not json")
        assert str(refused.value) == (
            "Invalid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)"
        )
        assert render_stored(refused.value.text, "de", {}) == (
            "kein gültiges JSON: Schlüssel in doppelten Anführungszeichen erwartet "
            "(Zeile 1, Spalte 2)"
        )


def test_parse_node_for_a_single_condition_or_block():
    assert parse_node({"field": "city", "type": "is_empty"}) == Condition(
        field="city", type=ConditionType.IS_EMPTY
    )
    block = parse_node({"op": "or", "conditions": []})
    assert isinstance(block, Block)
    with pytest.raises(QueryError) as error:
        parse_node({"field": "city", "type": "between", "values": [1]}, "settings.condition")
    assert str(error.value) == (
        "settings.condition.values: between needs exactly 2 values (from, to)"
    )
