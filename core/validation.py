"""Validation messages for people: pydantic's errors without its "Value error, " prefix,
keeping their kind and context so that each reader gets them in their own language."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core.core_schema import ErrorType

from core.messages import ExplainedError, KindMessage, StoredText, literal, stored, stored_for

PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")
"""What pydantic puts before the message of a validator's ValueError or assert."""
OWN_MESSAGES = frozenset({"value_error", "assertion_error"})
"""The kinds of error whose text the model's own validator wrote, not pydantic."""
PYDANTIC_KINDS = frozenset(get_args(ErrorType))
"""pydantic's own kinds of error; any other is a validator's (``PydanticCustomError``)."""


class ValidationMessage(KindMessage):
    """A validation error's English message that keeps pydantic's ``kind`` (``missing``,
    ``value_error``...) and plain ``context`` (``{"ge": 1}``) for translation; ``explained``
    is the text of an ``ExplainedError`` the validator raised, which translates itself."""

    explained: StoredText | None

    def __new__(
        cls,
        text: str,
        kind: str = "",
        context: Mapping[str, Any] | None = None,
        explained: StoredText | None = None,
    ):
        message = super().__new__(cls, text, kind, context)
        message.explained = explained
        return message

    @classmethod
    def of(cls, error: Mapping[str, Any]) -> ValidationMessage:
        """One error of ``ValidationError.errors()``, of whose context only plain values stay."""
        raw = error.get("ctx") or {}
        context = {
            key: value
            for key, value in raw.items()
            if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool)
        }
        raised = raw.get("error")
        explained = raised.text if isinstance(raised, ExplainedError) else None
        return cls(_message(error), str(error.get("type", "")), context, explained)

    @property
    def own(self) -> bool:
        """The model's validator wrote it, not pydantic."""
        return self.kind in OWN_MESSAGES or self.kind not in PYDANTIC_KINDS


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    if error.get("type") == "assertion_error":  # Python adds the failed expression below
        message = message.partition("\n")[0]
    return message


def validation_problems(exc: ValidationError) -> list[tuple[str, ValidationMessage]]:
    """(dotted location, message) of each error, the location ``(settings)`` for the whole."""
    return [
        (".".join(str(part) for part in error["loc"]) or "(settings)", ValidationMessage.of(error))
        for error in exc.errors()
    ]


def problem_text(field: str, message: str, domain: str | None = None) -> StoredText:
    """``field: message`` as a stored text, to say a validation problem later: a validator's
    explained error as it explains itself, its own message through the catalogs of ``domain``
    (its plugin's module), pydantic's as a ``KindMessage``, which the panel says by its kind
    as a settings form does (its English keeps pydantic's words)."""
    return stored("{field}: {problem}", field=field, problem=_problem(message, domain))


def reason_text(message: str, domain: str | None = None) -> StoredText:
    """``problem_text`` without the field, for a sentence that names the place its own way."""
    problem = _problem(message, domain)
    return problem if isinstance(problem, StoredText) else stored("{problem}", problem=problem)


def _problem(message: str, domain: str | None) -> StoredText | KindMessage:
    if not isinstance(message, ValidationMessage):  # a plugin's own problem, in English
        message = ValidationMessage(message)
    if message.explained is not None:
        return message.explained
    if message.own:
        return stored_for(domain)(literal(message))
    return KindMessage(message, message.kind, message.context)
