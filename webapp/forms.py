"""The panel's fixed forms: WTForms with CSRF from Flask-WTF, numbers and dates as the user's
language writes them, one message per field in the user's language.

A screen declares its form and reads it in the view::

    class BudgetForm(PanelForm):
        name = TextField(required=True)
        allocated = MoneyField(required=True)
        start_date = DateField()
        responsible_id = ChoiceField()

    form = BudgetForm(obj=budget)              # the row's values, or what was submitted
    form.responsible_id.choices = user_choices(session)
    if request.method == "POST" and form.validate():
        ...store form.allocated.data...
    return render(values=form.values, errors=form.messages)

``values`` is what each input shows: what the user typed after a submission (so a form with
errors comes back as submitted), else the value formatted for the language ("1.234,56" and
"31.12.2026" in German, "1,234.56" and "31 Dec 2026" in English). ``messages`` is the first
problem of each field, as ``webapp/templates/_fields.html`` shows it. Plugin settings have
their schema forms instead (``webapp.schema_forms``).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import dates, numbers
from flask import flash, request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import BooleanField, Field, FileField
from wtforms.i18n import get_translations
from wtforms.validators import StopValidation, ValidationError

from core.documents.templating import LOCAL_TIME
from webapp.formatting import format_date
from webapp.i18n import get_language, t

EXAMPLE_DAY = date(2026, 12, 31)
"""The day a date input shows, empty, to say how a date is written."""
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
"""The earliest and latest day a date input takes: a year like 1 or 9999 is a typo, and its
midnight in another time zone or the day after it lies beyond what Python can reckon with."""
_ID = re.compile(r"^[0-9]{1,10}$")
_MAX_ID = 2**31 - 1
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_NAMED_MONTH_DATE = re.compile(r"^(\d{1,2})\.?\s+([^\W\d]+)\.?,?\s+(\d{4})$")


@functools.cache
def _translations(language: str) -> Any:
    return get_translations((language,))


@functools.cache
def _grouping(language: str) -> re.Pattern[str]:
    """A whole number with the language's thousands separators, and maybe decimals."""
    group = re.escape(numbers.get_group_symbol(language))
    decimal = re.escape(numbers.get_decimal_symbol(language))
    return re.compile(rf"^-?\d{{1,3}}({group}\d{{3}})+({decimal}\d+)?$")


def parse_number(text: str, language: str | None = None) -> Decimal:
    """A number as the language writes it, with or without thousands separators: "1.234,56",
    "1234,5" or "5.000" in German, "1,234.56" or "1,000" in English; a lone decimal sign of the
    other language is read as a decimal sign too ("12.5" in German, "12,5" in English), a
    trailing "€" is ignored. ValueError for anything else."""
    language = language or get_language()
    group = numbers.get_group_symbol(language)
    decimal = numbers.get_decimal_symbol(language)
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", text).removesuffix("€")
    if _grouping(language).match(cleaned):
        cleaned = cleaned.replace(group, "").replace(decimal, ".")
    elif decimal in cleaned and group not in cleaned:
        cleaned = cleaned.replace(decimal, ".")
    elif cleaned.count(group) == 1 and decimal not in cleaned:
        cleaned = cleaned.replace(group, ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def format_number_input(value: Decimal | int | None, places: int | None = None) -> str:
    """A number as an input shows it: the language's signs and grouping, exactly ``places``
    decimals if given, else as many as it has (without trailing zeros)."""
    if value is None:
        return ""
    language = get_language()
    if places is not None:
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return numbers.format_decimal(value, pattern, locale=language)
    number = Decimal(value).normalize()
    return numbers.format_decimal(
        number.quantize(1) if number == number.to_integral_value() else number,
        locale=language,
        decimal_quantization=False,
    )


@functools.cache
def _month_numbers(language: str) -> dict[str, int]:
    names: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for number, name in dates.get_month_names(width, locale=language).items():
            names[name.lower().rstrip(".")] = number
    return names


def parse_date(text: str, language: str | None = None) -> date:
    """A date as the language writes it ("31.12.2026" in German, "31 Dec 2026" or
    "31 December 2026" in English) or as ISO ("2026-12-31"); ValueError for anything else."""
    language = language or get_language()
    cleaned = text.strip()
    if match := _ISO_DATE.match(cleaned):
        year, month, day = (int(part) for part in match.groups())
    elif match := _NUMERIC_DATE.match(cleaned):
        day, month, year = (int(part) for part in match.groups())
    elif match := _NAMED_MONTH_DATE.match(cleaned):
        month_number = _month_numbers(language).get(match.group(2).lower())
        if month_number is None:
            raise ValueError(text)
        day, month, year = int(match.group(1)), month_number, int(match.group(3))
    else:
        raise ValueError(text)
    return date(year, month, day)


def format_date_input(value: date | None) -> str:
    """A date as a date input shows it: the language's own way of writing dates."""
    return "" if value is None else format_date(value)


def format_datetime_input(value: datetime | None) -> str:
    """An aware datetime as ``<input type="datetime-local">`` shows it, in local time."""
    if value is None:
        return ""
    return value.astimezone(LOCAL_TIME).strftime("%Y-%m-%dT%H:%M")


def date_example() -> str:
    """How the user's language writes a date, for date inputs' placeholders and messages."""
    return format_date_input(EXAMPLE_DAY)


class PanelForm(FlaskForm):
    """A fixed form of the panel: CSRF checked with the form, WTForms' own messages in the
    user's language, ``values`` and ``messages`` for the templates' field macros."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return _translations(get_language())

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            """What a browser's form sends: its fields, and an upload only under a file
            field's name. Flask-WTF would hand a text field a file, or the form a JSON body,
            and the validators would end in a 500 on either."""
            if formdata is None or hasattr(formdata, "getlist") or not form.is_submitted():
                return super().wrap_formdata(form, formdata)
            file_fields = {field.name for field in form if isinstance(field, FileField)}
            uploads = [
                (name, upload)
                for name, upload in request.files.items(multi=True)
                if name in file_fields
            ]
            return CombinedMultiDict((MultiDict(uploads), request.form))

    @property
    def values(self) -> dict[str, Any]:
        """What each input shows: as typed after a submission, else the formatted value;
        checkboxes and multiple choices show their data (a bool, a list)."""
        shown: dict[str, Any] = {}
        for field in self:
            if field.type == "CSRFTokenField":
                continue
            typed = isinstance(field, _PanelField)
            shown[field.name] = field._value() if typed else field.data
        return shown

    @property
    def messages(self) -> dict[str, str]:
        """The first problem of each field that has one, by the field's name; a problem of
        the whole form under "form"."""
        found = {field.name: field.errors[0] for field in self if field.errors}
        if self.form_errors:
            found["form"] = self.form_errors[0]
        return found

    @property
    def ok(self) -> bool:
        return not self.messages

    def add_error(self, name: str, message: str) -> None:
        """A problem found after ``validate`` (a name taken, a period the wrong way round) on
        the field ``name``, or on the whole form for "form"; each keeps its first problem."""
        if name == "form":
            self.form_errors.append(message)
            return
        field = self[name]
        if not field.errors:
            field.errors = [message]


def problem_text(form: PanelForm, labels: dict[str, str]) -> str:
    """The form's first problem as a flash says it, after its field's label when ``labels``
    names one (a form whose fields have no place of their own on the page)."""
    name, message = next(iter(form.messages.items()))
    return (
        t("forms.field_problem", field=labels[name], problem=message) if name in labels else message
    )


def add_error(field: Any, message: str) -> None:
    """Show ``message`` next to ``field`` (after ``validate``, whose list may be a tuple)."""
    field.errors = [*field.errors, message]


class Filled:
    """The field must not be left empty ("Please fill in." in the user's language)."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        if not field.raw_data or not str(field.raw_data[0]).strip():
            raise StopValidation(t("forms.required"))


class RepeatsPassword:
    """The field repeats the password of the field ``other``: the user's language says they
    differ (WTForms' own message names the other field by its code, "new_password")."""

    def __init__(self, other: str) -> None:
        self.other = other

    def __call__(self, form: Any, field: Any) -> None:
        if field.data != form[self.other].data:
            raise ValidationError(t("forms.passwords_differ"))


class _OutOfRange(ValueError):
    """A value that parses but lies outside what the field takes; the text is the message."""


def date_in_range(value: date) -> bool:
    """Whether a date input takes ``value``: from ``FIRST_DAY`` to ``LAST_DAY``."""
    return FIRST_DAY <= value <= LAST_DAY


def date_range_problem() -> str:
    """The message for a date outside ``FIRST_DAY`` to ``LAST_DAY``, in the user's language."""
    return t(
        "forms.date_out_of_range",
        first=format_date_input(FIRST_DAY),
        last=format_date_input(LAST_DAY),
    )


class _PanelField(Field):
    """A field read from its stripped text; text that does not parse is its first problem,
    worded by ``message`` (a key of the panel's catalog)."""

    message = "forms.not_a_choice"

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        required: bool = False,
        **kwargs: Any,
    ):
        chain = [Filled()] if required else []
        super().__init__(label, [*chain, *(validators or [])], **kwargs)

    @property
    def text(self) -> str:
        return str(self.raw_data[0]).strip() if self.raw_data else ""

    def _value(self) -> str:
        return self.text if self.raw_data else self.shown(self.data)

    def shown(self, value: Any) -> str:
        return "" if value is None else str(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if self.text:
            try:
                self.data = self.parse(self.text)
            except _OutOfRange as exc:
                raise ValueError(str(exc)) from None
            except ValueError:
                raise ValueError(self.problem()) from None

    def parse(self, text: str) -> Any:
        return text

    def problem(self) -> str:
        return t(self.message, value=self.text)


class TextField(_PanelField):
    """Text without surrounding spaces, at most ``max_length`` characters."""

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        max_length: int = 200,
        **kwargs: Any,
    ):
        super().__init__(label, validators, **kwargs)
        self.max_length = max_length

    def pre_validate(self, form: Any) -> None:
        if len(self.text) > self.max_length:
            raise StopValidation(t("forms.too_long", limit=self.max_length))

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = self.text


class _NumberField(_PanelField):
    message = "forms.not_a_number"

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        minimum: Any = 0,
        maximum: Any = None,
        **kwargs: Any,
    ):
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def pre_validate(self, form: Any) -> None:
        if self.data is None:
            return
        if self.minimum is not None and self.data < self.minimum:
            raise StopValidation(t("forms.at_least", minimum=format_number_input(self.minimum)))
        if self.maximum is not None and self.data > self.maximum:
            raise StopValidation(t("forms.too_large"))

    def shown(self, value: Any) -> str:
        return format_number_input(value)


class NumberField(_NumberField):
    """A Decimal with at most ``places`` decimals and ``digits`` digits in all, typed as the
    language writes numbers; ``digits`` and ``places`` are those of the ``Numeric(digits,
    places)`` column it is stored in (14 and 2 for money, 12 and 4 for prices), so no value
    it takes overflows the column."""

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        places: int = 4,
        digits: int | None = None,
        **kwargs: Any,
    ):
        digits = digits or (14 if places <= 2 else 12)
        kwargs.setdefault("maximum", Decimal(10) ** (digits - places) - Decimal(10) ** -places)
        super().__init__(label, validators, **kwargs)
        self.places = places

    def parse(self, text: str) -> Decimal:
        return parse_number(text)

    def pre_validate(self, form: Any) -> None:
        exponent = self.data.as_tuple().exponent if self.data is not None else 0
        if isinstance(exponent, int) and exponent < -self.places:
            raise StopValidation(t("forms.too_many_places", places=self.places))
        super().pre_validate(form)


class MoneyField(NumberField):
    """An amount in euros, to the cent, shown with two decimals."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any):
        super().__init__(label, validators, places=2, **kwargs)

    def shown(self, value: Any) -> str:
        return format_number_input(value, 2)


class WholeNumberField(_NumberField):
    """An int, typed with or without the language's thousands separators."""

    message = "forms.not_an_integer"

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any):
        kwargs.setdefault("maximum", 2_000_000_000)
        super().__init__(label, validators, **kwargs)

    def parse(self, text: str) -> int:
        number = parse_number(text)
        if number != number.to_integral_value():
            raise ValueError(text)
        return int(number)


class DateField(_PanelField):
    """A date as the language writes it ("31.12.2026", "31 Dec 2026") or ISO, from
    ``FIRST_DAY`` to ``LAST_DAY``."""

    def parse(self, text: str) -> date:
        value = parse_date(text)
        if not date_in_range(value):
            raise _OutOfRange(date_range_problem())
        return value

    def problem(self) -> str:
        return t("forms.not_a_date", value=self.text, example=date_example())

    def shown(self, value: Any) -> str:
        return format_date_input(value)


class LocalDateTimeField(_PanelField):
    """A local date and time from ``<input type="datetime-local">``, as aware UTC."""

    message = "forms.not_a_datetime"

    def parse(self, text: str) -> datetime:
        value = datetime.fromisoformat(text)
        if not date_in_range(value.date()):
            raise _OutOfRange(date_range_problem())
        if value.tzinfo is None:
            value = value.replace(tzinfo=LOCAL_TIME)
        return value.astimezone(UTC)

    def shown(self, value: Any) -> str:
        return format_datetime_input(value)


class TimeOfDayField(_PanelField):
    """A time of day from ``<input type="time">``: hours and minutes, such as ``08:30``."""

    message = "forms.not_a_time"

    def parse(self, text: str) -> time:
        if not re.fullmatch(r"\d{1,2}:\d{2}", text):
            raise ValueError(text)
        hours, minutes = map(int, text.split(":"))
        return time(hours, minutes)

    def shown(self, value: Any) -> str:
        return value.strftime("%H:%M")


class ChoiceField(_PanelField):
    """One of the offered ``choices`` (flat or grouped (value, label) pairs, set by the view
    before ``validate``), converted by ``coerce`` (int for a row's id); anything else is
    refused."""

    def __init__(
        self, label: str | None = None, validators: Any = None, *, coerce: Any = int, **kwargs: Any
    ):
        super().__init__(label, validators, **kwargs)
        self.coerce = coerce
        self.choices: Iterable[tuple[Any, Any]] = ()

    def pre_validate(self, form: Any) -> None:
        if not self.text:
            return
        try:
            self.data = self.coerce(self.text)
        except (TypeError, ValueError):
            self.data = None
        if self.data is None or self.data not in _choice_values(self.choices):
            self.data = None
            raise StopValidation(self.problem())


class ChoiceListField(Field):
    """The ticked or selected ``choices`` of a multiple select or checkboxes, converted by
    ``coerce``; values not offered are left out."""

    def __init__(
        self, label: str | None = None, validators: Any = None, *, coerce: Any = int, **kwargs: Any
    ):
        kwargs.setdefault("default", list)
        super().__init__(label, validators, **kwargs)
        self.coerce = coerce
        self.choices: Iterable[tuple[Any, Any]] = ()

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = list(valuelist)

    def pre_validate(self, form: Any) -> None:
        offered = {str(value): value for value in _choice_values(self.choices)}
        self.data = [offered[str(value)] for value in self.data or [] if str(value) in offered]


class IdListField(Field):
    """The ids of the ticked rows (hidden inputs or checkboxes with one name), each once, in
    the order sent; anything that is not a row's id is refused, naming it."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any):
        kwargs.setdefault("default", list)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = []
        for value in valuelist:
            number = parse_id(str(value))
            if number is None:
                self.data = []
                raise ValueError(t("forms.not_a_choice", value=str(value).strip()))
            if number not in self.data:
                self.data.append(number)


def parse_id(text: str) -> int | None:
    """The row id ``text`` writes (digits, at most an INTEGER column's largest), else None."""
    text = text.strip()
    return int(text) if _ID.match(text) and int(text) <= _MAX_ID else None


def _choice_values(choices: Iterable[tuple[Any, Any]]) -> set[Any]:
    values: set[Any] = set()
    for value, label in choices:
        if isinstance(label, list):
            values.update(inner for inner, _text in label)
        else:
            values.add(value)
    return values


class EnumField(_PanelField):
    """A member of ``enum_class`` by its value."""

    def __init__(
        self,
        enum_class: type[enum.Enum],
        label: str | None = None,
        validators: Any = None,
        **kwargs: Any,
    ):
        super().__init__(label, validators, **kwargs)
        self.enum_class = enum_class

    def parse(self, text: str) -> enum.Enum:
        return self.enum_class(int(text) if issubclass(self.enum_class, int) else text)

    def shown(self, value: Any) -> str:
        return "" if value is None else str(value.value if isinstance(value, enum.Enum) else value)


class FlagField(BooleanField):
    """A checkbox: "true", "on" or "1" tick it."""

    false_values = (False, "false", "", "0", "off")


def check_period(form: PanelForm, start: str, end: str) -> None:
    """An end before the start is an error on the end."""
    begin, finish = form[start].data, form[end].data
    if begin is not None and finish is not None and finish < begin:
        form.add_error(end, t("forms.end_before_start"))


class _IntentForm(PanelForm):
    intent = ChoiceField(coerce=str)


def pressed_button(intents: Iterable[str], default: str | None = None) -> str | None:
    """The ``intent`` the pressed submit button posted, one of ``intents`` (``default`` when
    the form was sent without one, by Enter in a field); None, with the problem flashed, for
    anything else."""
    form = _IntentForm()
    form.intent.choices = [(intent, intent) for intent in intents]
    if not form.validate():
        flash(problem_text(form, {"intent": t("forms.button")}), "error")
        return None
    return form.intent.data or default
