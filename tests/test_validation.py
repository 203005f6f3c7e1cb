"""Validation messages for people (core.validation): no pydantic prefix, the kind and the
plain values of the context kept for translation."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from core.documents.templating import compile_template
from core.messages import StoredText
from core.validation import ValidationMessage, problem_text, reason_text, validation_problems
from webapp.i18n import render_stored


class Order(BaseModel):
    count: int = Field(ge=1)
    code: str
    note: str = ""
    pieces: set[int] = set()

    @field_validator("code")
    @classmethod
    def _upper(cls, code: str) -> str:
        if code != code.upper():
            raise ValueError("use capitals")
        assert code, "must not be empty"
        return code

    @field_validator("note")
    @classmethod
    def _compiles(cls, note: str) -> str:
        compile_template(note)
        return note


def problems(data: dict) -> list[tuple[str, ValidationMessage]]:
    try:
        Order.model_validate(data)
    except ValidationError as exc:
        return validation_problems(exc)
    raise AssertionError("valid")


def test_messages_keep_their_kind_and_plain_context_without_the_prefix():
    (count, too_few), (code, lower) = problems({"count": 0, "code": "ab"})
    assert (count, too_few, too_few.kind, too_few.context) == (
        "count",
        "Input should be greater than or equal to 1",
        "greater_than_equal",
        {"ge": 1},
    )
    assert (code, lower, lower.kind) == ("code", "use capitals", "value_error")
    assert lower.context == {}, "the validator's exception is not kept"
    [(_, empty)] = problems({"count": 1, "code": ""})
    assert (empty, empty.kind) == ("must not be empty", "assertion_error")


def test_a_message_is_a_plain_string_where_one_is_expected():
    message = ValidationMessage("Field required", "missing")
    assert message == "Field required" and f"name: {message}" == "name: Field required"
    assert ValidationMessage("free text").kind == ""


def test_a_problem_as_a_stored_text_keeps_the_english_and_pydantics_kind():
    found = problems({"count": 0, "code": "ab", "note": "{{ x }", "pieces": "alle"})
    texts = [
        problem_text(f"settings.{field}", message, "plugins.orders") for field, message in found
    ]
    assert [text.english() for text in texts] == [f"settings.{f}: {m}" for f, m in found]
    at_least, own, template, rare = texts
    assert (at_least.params["problem"].kind, at_least.params["problem"].context) == (
        "greater_than_equal",
        {"ge": 1},
    )
    assert (own.params["problem"].id, own.params["problem"].domain) == (
        "use capitals",
        "plugins.orders",
    )
    assert template.params["problem"].id == "line {line}: {reason}", "the template's own text"
    assert rare.params["problem"].kind == "set_type"
    assert [StoredText.from_json(text.as_json()) for text in texts] == texts


class Profile(BaseModel):
    name: str = Field(max_length=50)
    tone: Literal["formal", "casual"] = "formal"
    share: float = Field(default=1, ge=0.5)


@pytest.mark.parametrize(
    ("data", "german", "english", "panel_english"),
    [
        (
            {"name": "x" * 51},
            "name: Höchstens 50 Zeichen.",
            "name: String should have at most 50 characters",
            "name: At most 50 characters.",
        ),
        (
            {"name": "Ada", "tone": "rude"},
            "tone: Erlaubt: 'formal' oder 'casual'.",
            "tone: Input should be 'formal' or 'casual'",
            "tone: Allowed: 'formal' or 'casual'.",
        ),
        (
            {"name": "Ada", "share": 0.25},
            "share: Mindestens 0,5.",
            "share: Input should be greater than or equal to 0.5",
            "share: At least 0.5.",
        ),
    ],
)
def test_a_stored_problem_is_said_by_its_kind_as_a_settings_form_says_it(
    data, german, english, panel_english
):
    """Stored and read later (through its JSON), pydantic's problem reads as the panel's
    settings forms say it, not as a generic "kein gültiger Wert"; its English stays
    pydantic's for the API and the log."""
    try:
        Profile.model_validate(data)
    except ValidationError as exc:
        [(field, message)] = validation_problems(exc)
    text = StoredText.from_json(problem_text(field, message).as_json())
    assert (render_stored(text, "de", {}), text.english()) == (german, english)
    assert render_stored(text, "en", {}) == panel_english
    reason = StoredText.from_json(reason_text(message).as_json())
    assert render_stored(reason, "de", {}) == german.partition(": ")[2]


def test_a_problem_stored_before_it_kept_its_kind_still_reads():
    old = {
        "id": "{field}: {pydantic_message}",
        "params": {"field": "pieces", "pydantic_message": "Input should be a valid set"},
        "domain": None,
    }
    text = StoredText.from_json(old)
    assert render_stored(text, "de", {}) == "pieces: kein gültiger Wert"
    assert text.english() == "pieces: Input should be a valid set"
