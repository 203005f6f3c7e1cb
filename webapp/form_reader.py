"""Reading the panel's own forms (plans, budgets, prices, stocks ...): typed values, and one
message per field to show next to it.

Plugin settings have their schema forms (``webapp.schema_forms``); the process screens edit
model columns, so each view reads its inputs through a :class:`FormReader`::

    reader = FormReader(request.form)
    name = reader.text("name", required=True)
    allocated = reader.money("allocated", required=True)
    if reader.ok:
        ...store...
    return render(values=reader.values, errors=reader.errors), 422

``values`` keeps what the user typed, so a form with errors is shown again as submitted.
Amounts and dates are read the way the user's language writes them ("1.234,50" or
"1,234.50"); dates come from ``<input type="date">`` (ISO), times from
``<input type="datetime-local">`` in the installation's local time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from werkzeug.datastructures import MultiDict

from core.templating import LOCAL_TIME
from webapp.i18n import get_language, t

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
V = TypeVar("V", int, Decimal)

_GERMAN_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_ENGLISH_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_decimal(text: str, language: str | None = None) -> Decimal:
    """``"1.234,50"`` (German), ``"1,234.50"`` (English), ``"1234.5"`` or ``"12,5"``;
    ValueError for anything else."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").removesuffix("€")
    language = language or get_language()
    if language == "de":
        if "," in cleaned:
            cleaned = cleaned.replace(".", "").replace(",", ".")
        elif _GERMAN_THOUSANDS.match(cleaned):
            cleaned = cleaned.replace(".", "")
    elif _ENGLISH_THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    elif "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def _whole(text: str) -> int:
    number = parse_decimal(text)
    if number != number.to_integral_value():
        raise ValueError(text)
    return int(number)


def decimal_input(value: Decimal | int | float | None, places: int | None = None) -> str:
    """A number as an input shows it for editing: no thousands separator, the language's
    decimal mark, no trailing zeros beyond ``places``."""
    if value is None:
        return ""
    number = Decimal(value)
    text = f"{number:.{places}f}" if places is not None else format(number.normalize(), "f")
    return text.replace(".", ",") if get_language() == "de" else text


def date_input(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def datetime_input(value: datetime | None) -> str:
    """An aware datetime as ``<input type="datetime-local">`` shows it, in local time."""
    if value is None:
        return ""
    return value.astimezone(LOCAL_TIME).strftime("%Y-%m-%dT%H:%M")


class FormReader:
    """Reads typed values from a submitted form and collects a message per bad field."""

    def __init__(self, form: MultiDict[str, str] | Mapping[str, str]):
        self.form = form
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str) -> None:
        """Note a problem with a field (the first one found is the one shown)."""
        self.errors.setdefault(name, message)

    def raw(self, name: str) -> str:
        value = (self.form.get(name) or "").strip()
        self.values[name] = value
        return value

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str:
        value = self.raw(name)
        if required and not value:
            self.error(name, t("forms.required"))
        elif len(value) > max_length:
            self.error(name, t("forms.too_long", limit=max_length))
        return value

    def _present(self, name: str, required: bool) -> str | None:
        """The typed text, or None for an empty input (an error if it is required)."""
        text = self.raw(name)
        if not text and required:
            self.error(name, t("forms.required"))
        return text or None

    def _parsed(self, name: str, text: str, parse: Callable[[str], T], message: str) -> T | None:
        try:
            return parse(text)
        except ValueError:
            self.error(name, t(message, value=text))
            return None

    def _within(self, name: str, value: V, minimum: V | None, maximum: V) -> V | None:
        if minimum is not None and value < minimum:
            self.error(name, t("forms.at_least", minimum=decimal_input(minimum)))
            return None
        if value > maximum:
            self.error(name, t("forms.too_large"))
            return None
        return value

    def money(
        self, name: str, *, required: bool = False, minimum: Decimal | None = Decimal(0)
    ) -> Decimal | None:
        """An amount in euros, to the cent."""
        return self.number(name, required=required, minimum=minimum, places=2)

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: Decimal | None = Decimal(0),
        places: int = 4,
    ) -> Decimal | None:
        text = self._present(name, required)
        value = (
            None if text is None else self._parsed(name, text, parse_decimal, "forms.not_a_number")
        )
        if value is None:
            return None
        if value.as_tuple().exponent < -places:  # type: ignore[operator]
            self.error(name, t("forms.too_many_places", places=places))
            return None
        return self._within(name, value, minimum, Decimal(10) ** (12 if places <= 2 else 8))

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = 0,
        maximum: int = 2_000_000_000,
    ) -> int | None:
        text = self._present(name, required)
        value = None if text is None else self._parsed(name, text, _whole, "forms.not_an_integer")
        return None if value is None else self._within(name, value, minimum, maximum)

    def date(self, name: str, *, required: bool = False) -> date | None:
        text = self._present(name, required)
        return (
            None
            if text is None
            else self._parsed(name, text, date.fromisoformat, "forms.not_a_date")
        )

    def local_datetime(self, name: str, *, required: bool = False) -> datetime | None:
        """A local date and time (``2026-02-10T08:00``), returned as aware UTC."""
        text = self._present(name, required)
        value = (
            None
            if text is None
            else self._parsed(name, text, datetime.fromisoformat, "forms.not_a_datetime")
        )
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=LOCAL_TIME)
        return value.astimezone(UTC)

    def choice(self, name: str, enum_class: type[E], *, required: bool = True) -> E | None:
        text = self._present(name, required)
        if text is None:
            return None

        def member(raw: str) -> E:
            return enum_class(int(raw) if issubclass(enum_class, int) else raw)

        return self._parsed(name, text, member, "forms.not_a_choice")

    def one_of(self, name: str, allowed: Iterable[int], *, required: bool = False) -> int | None:
        """The id of a row offered in a select (anything else is refused)."""
        text = self._present(name, required)
        if text is None:
            return None
        choices = {str(value): value for value in allowed}
        if text not in choices:
            self.error(name, t("forms.not_a_choice", value=text))
            return None
        return choices[text]

    def flag(self, name: str) -> bool:
        value = self.form.get(name) in ("true", "on", "1")
        self.values[name] = value
        return value

    def period(self, start_name: str, end_name: str, start: date | None, end: date | None):
        """An end before the start is an error on the end."""
        if start is not None and end is not None and end < start:
            self.error(end_name, t("forms.end_before_start"))
