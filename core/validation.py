"""Validation messages for people: pydantic's errors without its "Value error, " prefix,
each keeping pydantic's error kind and context so that the panel and the API can say it in
their reader's language (``webapp.i18n.validation_text``).

This module imports nothing of the platform, so that every core module (the cost
structures, the query format, the plugins' parameter models) can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")
"""What pydantic puts before the message of a validator's ValueError or assert."""


class ValidationMessage(str):
    """A validation error's message in English, as pydantic or the plugin's validator wrote
    it (never with pydantic's "Value error, " prefix), that also keeps pydantic's error
    ``kind`` (``missing``, ``greater_than_equal``, ``value_error``...) and its ``context``
    (``{"ge": 1}``), so the panel and the API can say it in their reader's language."""

    kind: str
    context: dict[str, Any]

    def __new__(cls, text: str, kind: str = "", context: Mapping[str, Any] | None = None):
        message = super().__new__(cls, text)
        message.kind = kind
        message.context = dict(context or {})
        return message

    @classmethod
    def of(cls, error: Mapping[str, Any]) -> ValidationMessage:
        """One error of ``ValidationError.errors()``; only plain values of its context are
        kept (not the exception a validator raised)."""
        context = {
            key: value
            for key, value in (error.get("ctx") or {}).items()
            if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool)
        }
        return cls(_message(error), str(error.get("type", "")), context)


def _message(error: Mapping[str, Any]) -> str:
    """A validation error's message as its validator wrote it, for the person who reads it."""
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
