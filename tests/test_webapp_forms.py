"""The panel's fixed forms: numbers and dates as German and English users type and read them,
one message per field in their language, what was typed shown again."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask, g, get_flashed_messages

from core.models import CampaignStatus, CommitmentLevel
from webapp.context import _LANGUAGE
from webapp.forms import (
    ChoiceField,
    ChoiceListField,
    DateField,
    EnumField,
    FlagField,
    IdListField,
    LocalDateTimeField,
    MoneyField,
    NumberField,
    PanelForm,
    TextField,
    WholeNumberField,
    check_period,
    parse_date,
    parse_id,
    parse_number,
    pressed_button,
    problem_text,
)


class ExampleForm(PanelForm):
    name = TextField(required=True, max_length=10)
    amount = MoneyField()
    rate = NumberField()
    count = WholeNumberField()
    start = DateField()
    end = DateField()
    at = LocalDateTimeField()
    status = EnumField(CampaignStatus)
    level = EnumField(CommitmentLevel)
    owner = ChoiceField()
    reviewers = ChoiceListField()
    active = FlagField()


@pytest.fixture
def app():
    """``app(language, data)`` opens a request of a reader of ``language``: a POST of
    ``data`` (or of ``json=``), or a GET without it; the requests close after the test."""
    flask_app = Flask(__name__)
    flask_app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    contexts = []

    def open_request(language: str, data: dict[str, object] | None = None, **body: object) -> None:
        method = "GET" if data is None and not body else "POST"
        context = flask_app.test_request_context(method=method, data=data, **body)
        context.push()
        contexts.append(context)
        setattr(g, _LANGUAGE, language)

    yield open_request
    for context in reversed(contexts):
        context.pop()


def submit(app, language: str, data: dict[str, object]) -> ExampleForm:
    """The form as posted by a reader of ``language``, validated."""
    app(language, data)
    form = ExampleForm()
    form.owner.choices = [(7, "Anna"), (8, "Ben")]
    form.reviewers.choices = [("Team", [(1, "Eins"), (2, "Zwei")])]
    form.validate()
    return form


def show(app, language: str, data: dict[str, object]) -> dict[str, object]:
    """What the inputs show for stored ``data``."""
    app(language)
    return ExampleForm(data=data).values


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1.234,56", "de", "1234.56"),
        ("1234,5", "de", "1234.5"),
        ("5.000", "de", "5000"),
        ("1.234.567", "de", "1234567"),
        ("0,045 €", "de", "0.045"),
        ("12.5", "de", "12.5"),
        ("1,234.56", "en", "1234.56"),
        ("1,234,567", "en", "1234567"),
        ("12,5", "en", "12.5"),
        ("1,000", "en", "1000"),
        ("-3", "en", "-3"),
    ],
)
def test_numbers_are_read_as_the_language_writes_them(text, language, value):
    assert parse_number(text, language) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1.2.3,4,5", "NaN", "Infinity", ""])
def test_what_is_not_a_number_is_refused(text):
    with pytest.raises(ValueError):
        parse_number(text, "de")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("31.12.2026", "de"),
        ("31.12.2026", "en"),
        ("31. Dezember 2026", "de"),
        ("31 Dec 2026", "en"),
        ("31 December 2026", "en"),
        ("2026-12-31", "de"),
        ("2026-12-31", "en"),
    ],
)
def test_dates_are_read_as_the_language_writes_them(text, language):
    assert parse_date(text, language) == date(2026, 12, 31)


@pytest.mark.parametrize(
    "text", ["31.13.2026", "30.02.2026", "12/31/2026", "morgen", "31 Foo 2026"]
)
def test_what_is_not_a_date_is_refused(text):
    with pytest.raises(ValueError):
        parse_date(text, "de")


def test_a_german_form_reads_and_shows_german_numbers_and_dates(app):
    form = submit(
        app,
        "de",
        {
            "name": " Sommer ",
            "amount": "1.234,56",
            "rate": "0,045",
            "count": "5.000",
            "start": "01.12.2026",
            "end": "31.12.2026",
            "at": "2026-07-01T08:30",
            "level": "2",
            "owner": "7",
            "reviewers": ["1", "2", "9"],
            "active": "true",
        },
    )
    assert form.ok, form.messages
    assert form.name.data == "Sommer"
    assert form.amount.data == Decimal("1234.56")
    assert form.rate.data == Decimal("0.045")
    assert form.count.data == 5000
    assert (form.start.data, form.end.data) == (date(2026, 12, 1), date(2026, 12, 31))
    assert form.at.data == datetime(2026, 7, 1, 6, 30, tzinfo=UTC)  # summer time
    assert form.level.data is CommitmentLevel.RESERVED
    assert form.owner.data == 7
    assert form.reviewers.data == [1, 2]  # 9 was not offered
    assert form.active.data is True

    shown = show(
        app,
        "de",
        {
            "amount": Decimal("1234.5"),
            "rate": Decimal("0.0450"),
            "count": 5000,
            "end": date(2026, 12, 31),
        },
    )
    assert shown["amount"] == "1.234,50"
    assert shown["rate"] == "0,045"
    assert shown["count"] == "5.000"
    assert shown["end"] == "31.12.2026"
    assert shown["start"] == ""


def test_an_english_form_reads_and_shows_english_numbers_and_dates(app):
    form = submit(
        app,
        "en",
        {"name": "Summer", "amount": "1,234.56", "count": "5,000", "end": "31 Dec 2026"},
    )
    assert form.ok, form.messages
    assert form.amount.data == Decimal("1234.56")
    assert form.count.data == 5000
    assert form.end.data == date(2026, 12, 31)

    shown = show(app, "en", {"amount": Decimal("1234.5"), "count": 5000, "end": date(2026, 12, 31)})
    assert (shown["amount"], shown["count"], shown["end"]) == ("1,234.50", "5,000", "31 Dec 2026")


def test_each_bad_field_gets_one_message_in_german_and_keeps_what_was_typed(app):
    form = submit(
        app,
        "de",
        {
            "name": "  ",
            "amount": "zwölf",
            "rate": "1,23456",
            "count": "2,5",
            "start": "01.03.2026",
            "end": "31.02.2026",
            "at": "morgen",
            "status": "paused",
            "owner": "9",
        },
    )
    assert form.messages == {
        "name": "Bitte ausfüllen.",
        "amount": "„zwölf“ ist keine Zahl.",
        "rate": "Höchstens 4 Nachkommastellen.",
        "count": "„2,5“ ist keine ganze Zahl.",
        "end": "„31.02.2026“ ist kein Datum (geschrieben wie 31.12.2026).",
        "at": "„morgen“ ist kein Zeitpunkt.",
        "status": "„paused“ steht nicht zur Auswahl.",
        "owner": "„9“ steht nicht zur Auswahl.",
    }
    assert not form.ok
    assert form.values["amount"] == "zwölf"
    assert form.values["end"] == "31.02.2026"
    assert form.amount.data is None


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_day_beyond_the_years_a_date_input_takes_is_refused_naming_them(app, language):
    """PostgreSQL stores the year 1 and 9999, but its local midnight or the day after it
    overflowed in Python (a 500); a date input takes 1900 to 2999."""
    form = submit(
        app,
        language,
        {"name": "x", "start": "0001-01-01", "end": "31.12.9999", "at": "0001-01-01T00:00"},
    )
    expected = {
        "de": "Bitte ein Datum vom 01.01.1900 bis zum 31.12.2999.",
        "en": "Enter a date from 1 Jan 1900 to 31 Dec 2999.",
    }[language]
    assert form.messages == {"start": expected, "end": expected, "at": expected}
    accepted = submit(app, language, {"name": "x", "start": "1900-01-01", "end": "2999-12-31"})
    assert accepted.ok and accepted.end.data == date(2999, 12, 31)


def test_no_number_a_field_takes_overflows_its_numeric_column(app):
    """PostgreSQL refuses what a Numeric(14, 2) column cannot hold, SQLite stored it: money
    takes up to 999,999,999,999.99, a price (Numeric(12, 4)) up to 99,999,999.9999."""
    form = submit(app, "de", {"name": "x", "amount": "1.000.000.000.000", "rate": "100000000"})
    assert form.messages == {"amount": "Der Wert ist zu groß.", "rate": "Der Wert ist zu groß."}
    form = submit(app, "de", {"name": "x", "amount": "999999999999,99", "rate": "99999999,9999"})
    assert form.ok and form.amount.data == Decimal("999999999999.99")

    class DaysForm(PanelForm):
        days = NumberField(places=2, digits=8)

    assert DaysForm().days.maximum == Decimal("999999.99")


def test_a_file_or_a_json_body_is_no_value_of_a_text_field(app):
    form = submit(app, "de", {"name": (io.BytesIO(b"Anna"), "name.txt"), "count": "3"})
    assert form.messages == {"name": "Bitte ausfüllen."}
    app("de", json=[{"name": "Anna"}])
    form = ExampleForm()
    assert not form.validate() and form.messages == {"name": "Bitte ausfüllen."}


def test_messages_are_in_english_for_english_readers(app):
    form = submit(
        app,
        "en",
        {"name": "far too long a name", "amount": "-1", "count": "3000000000", "end": "31.12."},
    )
    assert form.messages == {
        "name": "At most 10 characters.",
        "amount": "At least 0.",
        "count": "The value is too large.",
        "end": "“31.12.” is not a date (written like 31 Dec 2026).",
    }


def test_an_end_before_the_start_and_later_problems_go_on_their_field(app):
    form = submit(app, "de", {"name": "x", "start": "01.03.2026", "end": "01.02.2026"})
    check_period(form, "start", "end")
    form.add_error("name", "Der Name ist schon vergeben.")
    form.add_error("name", "Nur das erste Problem zählt.")
    form.add_error("form", "Inzwischen geändert.")
    assert form.messages == {
        "name": "Der Name ist schon vergeben.",
        "end": "Das Ende liegt vor dem Beginn.",
        "form": "Inzwischen geändert.",
    }


def test_a_checkbox_left_unticked_is_false(app):
    form = submit(app, "de", {"name": "x"})
    assert form.active.data is False
    assert form.values["active"] is False
    assert "csrf_token" not in form.values


class SelectionForm(PanelForm):
    ids = IdListField()
    reason = TextField(max_length=5)


def test_ids_are_read_once_each_and_anything_else_is_refused(app):
    app("de", {"ids": ["3", " 1", "3"]})
    form = SelectionForm()
    assert form.validate() and form.ids.data == [3, 1]
    for bad in ("x", "-1", "1.5", str(2**31), "٣"):
        app("de", {"ids": ["2", bad]})
        form = SelectionForm()
        assert not form.validate()
        assert form.ids.data == [] and form.messages["ids"] == f"„{bad}“ steht nicht zur Auswahl."
    assert (parse_id(" 42 "), parse_id(""), parse_id(str(2**31 - 1))) == (42, None, 2**31 - 1)


def test_a_problem_is_flashed_after_its_label(app):
    app("en", {"reason": "too long"})
    form = SelectionForm()
    form.validate()
    assert problem_text(form, {"reason": "Reason"}) == "Reason: At most 5 characters."
    assert problem_text(form, {}) == "At most 5 characters."


def test_the_pressed_button_is_one_the_form_has(app):
    app("de", {"intent": "save"})
    assert pressed_button(("save", "refresh")) == "save"
    app("de", {})
    assert pressed_button(("save", "refresh"), default="save") == "save"
    app("de", {"intent": "drop"})
    assert pressed_button(("save", "refresh"), default="save") is None
    assert get_flashed_messages() == ["Schaltfläche: „drop“ steht nicht zur Auswahl."]
