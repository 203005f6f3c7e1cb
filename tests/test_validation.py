"""Validation messages for people (core.validation): no pydantic prefix, the kind and the
plain values of the context kept for translation."""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError, field_validator

from core.documents.templating import compile_template
from core.validation import ValidationMessage, problem_text, validation_problems


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


def test_a_problem_as_a_stored_text_keeps_the_english_and_says_a_rare_kind_generically():
    found = problems({"count": 0, "code": "ab", "note": "{{ x }", "pieces": "alle"})
    texts = [
        problem_text(f"settings.{field}", message, "plugins.orders") for field, message in found
    ]
    assert [text.english() for text in texts] == [f"settings.{f}: {m}" for f, m in found]
    at_least, own, template, rare = texts
    assert at_least.params["problem"].id == "Input should be greater than or equal to {ge}"
    assert (own.params["problem"].id, own.params["problem"].domain) == (
        "use capitals",
        "plugins.orders",
    )
    assert template.params["problem"].id == "line {line}: {reason}", "the template's own text"
    assert rare.id == "{field}: {pydantic_message}", "no message of its own for a set's kind"
