"""Reading the panel's own forms: numbers as German and English users type them, dates,
choices, and one message per field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from core.models import CampaignStatus, CommitmentLevel
from webapp.form_reader import FormReader, parse_decimal


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1.234,50", "de", "1234.50"),
        ("1234,5", "de", "1234.5"),
        ("5.000", "de", "5000"),
        ("0,045 €", "de", "0.045"),
        ("12.5", "de", "12.5"),
        ("1,234.50", "en", "1234.50"),
        ("12,5", "en", "12.5"),
        ("1,000", "en", "1000"),
        ("-3", "en", "-3"),
    ],
)
def test_numbers_are_read_as_the_language_writes_them(text, language, value):
    assert parse_decimal(text, language) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "NaN", "Infinity", ""])
def test_what_is_not_a_number_is_refused(text):
    with pytest.raises(ValueError):
        parse_decimal(text, "de")


def test_each_bad_field_gets_its_own_message_and_keeps_what_was_typed():
    reader = FormReader(
        MultiDict(
            {
                "name": "  ",
                "amount": "zwölf",
                "places": "1,234",
                "negative": "-1",
                "count": "2,5",
                "start": "2026-03-01",
                "end": "2026-02-01",
                "when": "morgen",
                "status": "paused",
                "level": "2",
            }
        )
    )
    assert reader.text("name", required=True) == ""
    assert reader.money("amount") is None
    assert reader.money("places") is None
    assert reader.money("negative") is None
    assert reader.integer("count") is None
    start, end = reader.date("start"), reader.date("end")
    reader.period("start", "end", start, end)
    assert reader.local_datetime("when") is None
    assert reader.choice("status", CampaignStatus) is None
    assert reader.choice("level", CommitmentLevel) is CommitmentLevel.RESERVED
    assert not reader.ok
    assert reader.errors == {
        "name": "Bitte ausfüllen.",
        "amount": "„zwölf“ ist keine Zahl.",
        "places": "Höchstens 2 Nachkommastellen.",
        "negative": "Mindestens 0.",
        "count": "„2,5“ ist keine ganze Zahl.",
        "end": "Das Ende liegt vor dem Beginn.",
        "when": "„morgen“ ist kein Zeitpunkt.",
        "status": "„paused“ steht nicht zur Auswahl.",
    }
    assert reader.values["amount"] == "zwölf"


def test_dates_times_choices_and_flags():
    reader = FormReader(
        MultiDict(
            {
                "day": "2026-02-10",
                "at": "2026-07-01T08:30",
                "service": "7",
                "other": "9",
                "flag": "true",
                "initial": "5.000",
            }
        )
    )
    assert reader.date("day") == date(2026, 2, 10)
    assert reader.local_datetime("at") == datetime(2026, 7, 1, 6, 30, tzinfo=UTC)  # CEST
    assert reader.one_of("service", [7, 8]) == 7
    assert reader.one_of("other", [7, 8]) is None
    assert reader.flag("flag") is True
    assert reader.flag("missing") is False
    assert reader.integer("initial") == 5000
    assert list(reader.errors) == ["other"]
