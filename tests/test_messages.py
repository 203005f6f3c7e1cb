"""Texts stored as a message id with parameters (``core.messages``): what a writer may
store, the English text, and the JSON a column keeps."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.messages import DetailText, KindMessage, StoredText, stored, stored_for


def test_a_stored_text_reads_in_english_and_survives_its_json():
    deleted = stored("{count} documents of run {run} deleted", count=3, run="12")
    text = stored_for("plugins.example")(
        "{what} at {when}: {cost} EUR, {parts}",
        what=deleted,
        when=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        cost=Decimal("12.50"),
        parts=[stored("yes"), stored("due {day}", day=date(2026, 3, 4))],
    )
    assert text.english() == (
        "3 documents of run 12 deleted at 2026-03-02T09:30:00+00:00: 12.50 EUR, yes, due 2026-03-04"
    )
    assert text.domain == "plugins.example" and deleted.domain is None
    assert StoredText.from_json(text.as_json()) == text
    assert StoredText.from_json(None) is None


def test_a_duration_reads_in_words_and_survives_its_json():
    text = stored("every {interval}", interval=timedelta(hours=2))
    assert text.english() == "every 2 hours"
    assert StoredText.from_json(text.as_json()) == text
    mixed = stored("every {interval}", interval=timedelta(hours=1, minutes=30))
    assert mixed.english() == "every 1 hr 30 min"


def test_a_kind_message_reads_in_english_and_keeps_its_kind_through_its_json():
    too_long = KindMessage(
        "String should have at most 50 characters", "string_too_long", {"max_length": 50}
    )
    minimum = KindMessage(
        "Decimal input should be at least 0.5", "greater_than_equal", {"ge": Decimal("0.5")}
    )
    text = stored("{field}: {problem}", field="name", problem=[too_long, minimum])
    assert text.english() == (
        "name: String should have at most 50 characters, Decimal input should be at least 0.5"
    )
    kept = StoredText.from_json(text.as_json()).params["problem"]
    assert [(str(m), m.kind, m.context) for m in kept] == [
        ("String should have at most 50 characters", "string_too_long", {"max_length": 50}),
        ("Decimal input should be at least 0.5", "greater_than_equal", {"ge": Decimal("0.5")}),
    ]


def test_a_detail_text_stays_one_through_its_json():
    """Another module's English stays marked for the panel's part-by-part translation."""
    refusal = DetailText("the mail server refused the message: 554 spam")
    text = stored("{what}: {error}", what="router e-mail", error=refusal)
    kept = StoredText.from_json(text.as_json())
    assert kept.english() == "router e-mail: the mail server refused the message: 554 spam"
    assert isinstance(kept.params["error"], DetailText)
    assert not isinstance(kept.params["what"], DetailText)


def test_a_field_without_a_value_or_a_value_json_cannot_keep_is_refused():
    with pytest.raises(ValueError, match=r"has the fields \['count'\], given \[\]"):
        stored("{count} documents deleted")
    with pytest.raises(ValueError, match=r"given \['count', 'extra'\]"):
        stored("{count} documents deleted", count=1, extra=2)
    with pytest.raises(TypeError, match="who must be plain values or stored texts"):
        stored("deleted by {who}", who=object())


def test_a_plural_text_reads_in_the_english_form_of_its_count_and_survives_its_json():
    def left_out(count):
        return stored.plural("{count} row left out", "{count} rows left out", count=count)

    assert [left_out(count).english() for count in (0, 1, 2)] == [
        "0 rows left out",
        "1 row left out",
        "2 rows left out",
    ]
    text = stored_for("plugins.example").plural(
        "{file}: one row left out", "{file}: {count} rows left out", file="a.csv", count=1
    )
    kept = StoredText.from_json(text.as_json())
    assert kept == text and kept.english() == "a.csv: one row left out"
    assert (kept.domain, kept.plural) == ("plugins.example", "{file}: {count} rows left out")


def test_a_row_written_before_plurals_reads_with_one_form():
    old = {"id": "{count} documents deleted", "params": {"count": 1}, "domain": None}
    text = StoredText.from_json(old)
    assert text.plural is None and text.english() == "1 documents deleted"
    assert text.as_json() == old  # a text without a plural keeps the JSON it had


def test_a_plural_texts_count_is_a_whole_number_and_its_fields_are_given():
    for wrong in ("2", 2.0, True, None):
        with pytest.raises(TypeError, match="count must be a whole number"):
            stored.plural("{count} row", "{count} rows", count=wrong)
    with pytest.raises(ValueError, match="count must not be negative, given -1"):
        stored.plural("{count} row", "{count} rows", count=-1)
    with pytest.raises(ValueError, match=r"has the fields \['count', 'file'\], given \['count'\]"):
        stored.plural("{count} row of {file}", "{count} rows of {file}", count=2)
    with pytest.raises(TypeError, match="file must be plain values"):
        stored.plural("{count} row of {file}", "{count} rows", count=2, file=object())
    with pytest.raises(TypeError, match="count"):
        stored.plural("{count} row", "{count} rows")  # type: ignore[call-arg]
