"""Settings forms drawn from a pydantic schema, read back, with problems at their fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.datastructures import MultiDict

from core.plugin_base import SettingsError
from webapp.schema_forms import build_form, parse_form


class Sort(BaseModel):
    field: str = Field(min_length=1, description="Field path")
    descending: bool = False


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(description="Shown on top")
    count: int = Field(3, ge=1)
    share: float | None = None
    active: bool = True
    mode: Literal["fast", "exact"] = "fast"
    tags: list[str] = []
    ids: list[int] = Field([], json_schema_extra={"x-options": "things"})
    sort: Sort | None = None
    extra: dict[str, Any] = {}
    report: str | int = Field("Brief", json_schema_extra={"x-options": "reports"})
    text: str = Field("", max_length=2000)


SCHEMA = Params.model_json_schema()
OPTIONS = {"things": [("1", "Eins"), ("2", "Zwei")], "reports": [("Brief", "Brief")]}


def fields_by_path(form) -> dict:
    found = {}

    def walk(fields):
        for field in fields:
            found[field.path] = field
            walk(field.children)

    walk(form.fields)
    return found


def test_every_kind_of_field_gets_its_widget_default_and_help():
    form = build_form(SCHEMA, "act", "demo", {}, options=OPTIONS.get)
    fields = fields_by_path(form)
    widgets = {path: field.widget for path, field in fields.items()}
    assert widgets == {
        "title": "text",
        "count": "integer",
        "share": "number",
        "active": "checkbox",
        "mode": "select",
        "tags": "lines",
        "ids": "checkboxes",
        "sort": "object",
        "sort.field": "text",
        "sort.descending": "checkbox",
        "extra": "json",
        "report": "select",
        "text": "textarea",
    }
    assert fields["title"].required and fields["title"].help == "Shown on top"
    assert (fields["count"].value, fields["active"].value, fields["mode"].value) == (
        "3",
        True,
        "fast",
    )
    assert fields["share"].nullable and fields["sort"].nullable
    assert fields["mode"].choices == [("fast", "fast"), ("exact", "exact")]
    assert fields["ids"].choices == OPTIONS["things"]
    assert fields["sort.field"].name == "act.sort.field"


def test_choices_are_shown_under_their_translated_names():
    def label(text: str, context: str) -> str:
        return {("fast", "choice"): "Schnell"}.get((text, context), text)

    form = build_form(SCHEMA, "act", "demo", {}, options=OPTIONS.get, label=label)
    assert fields_by_path(form)["mode"].choices == [("fast", "Schnell"), ("exact", "exact")]


def test_a_stored_value_missing_from_the_options_stays_selectable():
    form = build_form(SCHEMA, "act", "demo", {"report": 7, "ids": [9]}, options=OPTIONS.get)
    fields = fields_by_path(form)
    assert fields["report"].choices == [("Brief", "Brief"), ("7", "7")]
    assert fields["report"].value == "7"
    assert ("9", "9") in fields["ids"].choices and fields["ids"].value == ["9"]


def test_the_submitted_form_is_read_back_as_the_model_expects():
    form = MultiDict(
        [
            ("act.title", " Hallo "),
            ("act.count", "12"),
            ("act.share", "12,5"),
            ("act.mode", "exact"),
            ("act.tags", "a\n\n b \n"),
            ("act.ids", "1"),
            ("act.ids", "2"),
            ("act.sort.field", "last_name"),
            ("act.sort.descending", "true"),
            ("act.extra", '{"a": 1}'),
            ("act.report", "42"),
            ("act.text", ""),
        ]
    )
    data, problems = parse_form(SCHEMA, form, "act")
    assert problems == []
    assert data == {
        "title": "Hallo",
        "count": 12,
        "share": 12.5,
        "active": False,
        "mode": "exact",
        "tags": ["a", "b"],
        "ids": [1, 2],
        "sort": {"field": "last_name", "descending": True},
        "extra": {"a": 1},
        "report": 42,
    }
    assert Params.model_validate(data).sort == Sort(field="last_name", descending=True)


def test_empty_optional_fields_are_none_and_empty_required_ones_are_reported_as_missing():
    data, problems = parse_form(SCHEMA, MultiDict([("act.extra", "{oops")]), "act")
    assert data["share"] is None and data["sort"] is None
    assert "title" not in data and "count" not in data  # the model's default / "required"
    assert problems == [
        (
            "extra",
            "not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        )
    ]


def test_json_nested_too_deep_is_a_problem_of_its_field_not_a_recursion_error():
    deep = "[" * 5000 + "]" * 5000
    data, problems = parse_form(SCHEMA, MultiDict([("act.extra", deep)]), "act")
    assert "extra" not in data
    assert problems == [
        ("extra", "not valid JSON: nested deeper than 32 levels of objects and lists")
    ]


def test_problems_land_on_their_fields_and_the_rest_on_the_form():
    problems = [
        ("title", "Field required"),
        ("sort.field", "String should have at least 1 character"),
        ("ids.1", "Input should be a valid integer"),
        ("(settings)", "give exactly one of a and b"),
        ("definition.where.conditions[0].field", "unknown field"),
    ]
    form = build_form(SCHEMA, "act", "demo", {}, problems, options=OPTIONS.get)
    fields = fields_by_path(form)
    assert fields["title"].errors == ["Field required"]
    assert fields["sort.field"].errors == ["String should have at least 1 character"]
    assert fields["ids"].errors == ["Input should be a valid integer"]
    assert form.errors == [
        "give exactly one of a and b",
        "definition.where.conditions[0].field: unknown field",
    ]
    assert form.has_errors


def test_a_recursive_model_is_edited_as_json(panel):
    """The query data source's inline definition (a query with nested blocks)."""
    source = panel.runtime.plugins.datasources.get("query")
    form = build_form(source.params_schema(), "ds", "query", {"definition": {"root": "contacts"}})
    definition = fields_by_path(form)["definition"]
    assert definition.widget == "json"
    assert '"root": "contacts"' in definition.value
    try:
        source.validate_params({"definition": {"root": "kontakte"}})
    except SettingsError as exc:
        placed = build_form(source.params_schema(), "ds", "query", {}, exc.problems)
    assert fields_by_path(placed)["definition"].errors == [
        "root: unknown root 'kontakte'; known: contacts, contracts, partners, products"
    ]
