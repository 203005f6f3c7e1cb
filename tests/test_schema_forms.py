"""Settings forms drawn from a pydantic schema, read back, with problems at their fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import pytest
from flask import Flask
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from werkzeug.datastructures import MultiDict

from core import Action, Outcome
from core.documents.templating import compile_template
from core.plugin_base import SettingsError
from core.validation import validation_problems
from webapp.i18n import use_language, validation_text
from webapp.schema_forms import all_problems, build_form, parse_form, read_number


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


class Money(BaseModel):
    price: Decimal = Field(ge=0)
    fee: Decimal | None = None
    name: str

    @field_validator("name")
    @classmethod
    def _no_digits(cls, name: str) -> str:
        if any(char.isdigit() for char in name):
            raise ValueError("no digits, please")
        return name


class Priced(Action):
    name = "priced"
    title = "Priced"
    Params = Money

    def process(self, recipient, context):
        return Outcome.done()


MONEY = Money.model_json_schema()


def test_a_decimal_is_a_number_input_that_takes_a_decimal_comma():
    fields = fields_by_path(build_form(MONEY, "act", "priced", {"price": "1.20"}))
    assert (fields["price"].widget, fields["fee"].widget) == ("number", "number")
    assert fields["price"].value == "1,20", "German, the default language"
    assert fields["fee"].nullable

    form = MultiDict([("act.price", "1.234,50"), ("act.fee", "0,5"), ("act.name", "Anna")])
    data, problems = parse_form(MONEY, form, "act")
    assert problems == []
    assert Money.model_validate(data) == Money(
        price=Decimal("1234.50"), fee=Decimal("0.5"), name="Anna"
    )


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("1,20", "1.20"),
        ("1.20", "1.20"),
        ("1.234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("1.234.567", "1234567"),
        ("-3", "-3"),
        (" 12 ", "12"),
        ("zwölf", None),
        ("1,2,3,4.5.6", None),
        ("NaN", None),
    ],
)
def test_numbers_are_read_as_germans_and_english_speakers_type_them(typed, number):
    assert read_number(typed) == (None if number is None else Decimal(number))


def test_every_fields_problem_is_shown_at_once_and_what_was_typed_is_kept():
    form = MultiDict([("act.price", "-1,5"), ("act.fee", "viel"), ("act.name", "R2D2")])
    data, problems = parse_form(MONEY, form, "act")

    problems = all_problems(Priced, data, problems)

    assert [location for location, _ in problems] == ["price", "fee", "name"]
    assert ("name", "no digits, please") in problems, "without pydantic's 'Value error,'"
    fields = fields_by_path(build_form(MONEY, "act", "priced", data, problems))
    assert (fields["price"].value, fields["fee"].value, fields["name"].value) == (
        "-1,5",
        "viel",
        "R2D2",
    )
    assert all(fields[name].errors for name in ("price", "fee", "name"))


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
        "root: unbekannte Art von Datensätzen 'kontakte'; möglich sind: contacts, contracts, "
        "partners, products"
    ], "the query's own problem, in the user's language"


def test_the_commission_actions_amounts_take_a_german_decimal_comma():
    from plugins.actions.commission import Commission

    schema = Commission.params_schema()
    fields = fields_by_path(build_form(schema, "act", "commission", {"amount": "12.5"}))
    assert (fields["amount"].widget, fields["amount"].value) == ("number", "12,5")
    assert fields["rate_percent"].widget == "number"

    form = MultiDict(
        [
            ("act.text", "Provision"),
            ("act.booking_key", "AP"),
            ("act.paying_company", "Rheintal AG"),
            ("act.amount", "1,20"),
        ]
    )
    data, problems = parse_form(schema, form, "act")
    assert all_problems(Commission, data, problems) == []
    assert Commission(data).params.amount == Decimal("1.20")


def test_validation_messages_are_in_the_users_language_without_pydantics_prefix():
    form = MultiDict([("act.price", "-1,5"), ("act.name", "R2D2")])
    data, problems = parse_form(MONEY, form, "act")
    problems = all_problems(Priced, data, problems)
    german = fields_by_path(build_form(MONEY, "act", "priced", data, problems))
    assert german["price"].errors == ["Mindestens 0."]
    assert german["name"].errors == ["no digits, please"], "the plugin's own text, no prefix"
    missing = all_problems(Priced, {"price": "1"}, [])
    assert fields_by_path(build_form(MONEY, "act", "priced", {}, missing))["name"].errors == [
        "Bitte ausfüllen."
    ]

    app = Flask(__name__)
    with app.test_request_context():
        use_language("en")
        english = fields_by_path(build_form(MONEY, "act", "priced", data, problems))
        translated = fields_by_path(
            build_form(MONEY, "act", "priced", data, problems, label=lambda text, _c: text.upper())
        )
    assert english["price"].errors == ["At least 0."]
    assert translated["name"].errors == ["NO DIGITS, PLEASE"], "through the plugin's catalog"


@pytest.mark.parametrize(
    ("value", "german"),
    [
        ({"choice": "c", "share": "0.25", "count": "2"}, "choice: Erlaubt: 'a' oder 'b'."),
        ({"choice": "a", "share": "0", "count": "2"}, "share: Muss größer als 0,5 sein."),
        ({"choice": "a", "share": "1", "count": "x"}, "count: Bitte eine ganze Zahl angeben."),
        ({"choice": "a", "share": "1", "count": 2, "x": 1}, "x: Dieses Feld gibt es hier nicht."),
    ],
)
def test_pydantics_messages_are_said_by_their_kind(value, german):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        choice: Literal["a", "b"]
        share: float = Field(gt=0.5)
        count: int

    try:
        Settings.model_validate(value)
    except ValidationError as exc:
        (location, message), *_ = validation_problems(exc)
    assert f"{location}: {validation_text(message)}" == german
    assert not validation_text("Value error, too late").startswith("Value error")


def test_a_rare_kind_and_a_validators_explained_error_are_said_in_the_users_language():
    class Settings(BaseModel):
        pieces: set[int]
        subject: str

        @field_validator("subject")
        @classmethod
        def _compiles(cls, subject: str) -> str:
            compile_template(subject)
            return subject

    try:
        Settings.model_validate({"pieces": "alle", "subject": "{{ name }"})
    except ValidationError as exc:
        (_, rare), (_, template) = validation_problems(exc)
    assert validation_text(rare) == "Kein gültiger Wert.", "not pydantic's English"
    assert validation_text(template) == "Zeile 1: Syntaxfehler: unerwartet: „}“"
    with Flask(__name__).test_request_context():
        use_language("en")
        assert validation_text(rare) == "Input should be a valid set"
        assert validation_text(template) == "line 1: syntax error: unexpected '}'"


class ReportChoice(BaseModel):
    report: str | int


@pytest.mark.parametrize(
    ("typed", "read"),
    [("12", 12), ("-3", -3), ("²", "²"), ("1²", "1²"), ("٣", "٣"), ("9" * 30, "9" * 30)],
)
def test_a_report_by_id_or_name_is_an_id_only_in_ascii_digits_a_bigint_holds(typed, read):
    """A superscript "²" is a digit to str.isdigit but no number to int (a 500), and 30
    digits are an id no row can have: both stay the name typed, which the action then looks up."""
    schema = ReportChoice.model_json_schema()
    data, problems = parse_form(schema, MultiDict([("act.report", typed)]), "act")
    assert (data, problems) == ({"report": read}, [])
