"""Texts stored now and read later, each reader in their own language.

A notification, a workflow pass's log line or an audit summary is read long after it was
written, by people of different languages: it is stored as a ``StoredText`` (message id,
parameters, writing module) next to its English text, and rendered when shown. The id is
the English text with ``{name}`` fields, so English needs no catalog; ``stored`` marks ids
for ``pybabel extract``, and a plugin's ``stored = stored_for(__name__)`` makes the panel
look them up in its catalogs first. A text that counts something is written with
``stored.plural(singular, plural, count=n)``, so each reader gets the form their language
uses for ``n`` (``ngettext``) instead of "1 rows".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from string import Formatter
from typing import Any

from babel.units import format_unit


@dataclass(frozen=True)
class StoredText:
    """A message id with the values of its ``{name}`` fields: plain JSON values, amounts,
    dates and durations (in the reader's locale), stored texts, kind messages, detail texts
    or a list of them (joined with commas)."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    domain: str | None = None
    """The module that wrote it (a plugin's, whose catalogs hold ``id``); None: the panel's."""
    plural: str | None = None
    """The English plural of ``id`` (its ``msgid_plural``), said for a ``count`` parameter
    other than 1; None: ``id`` has one form."""

    def english_form(self) -> str:
        """The id, or its plural for a ``count`` other than 1: the English to fill in."""
        return self.id if self.plural is None or self.params["count"] == 1 else self.plural

    def english(self) -> str:
        values = {name: english(value) for name, value in self.params.items()}
        return self.english_form().format(**values)

    def as_json(self) -> dict[str, Any]:
        kept = {
            "id": self.id,
            "params": {name: _param_json(value) for name, value in self.params.items()},
            "domain": self.domain,
        }
        return kept if self.plural is None else {**kept, "plural": self.plural}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> StoredText | None:
        """None for a row written without one; a row written without ``plural`` has one form."""
        if not value:
            return None
        params = {name: _param_value(raw) for name, raw in (value.get("params") or {}).items()}
        return cls(
            id=value["id"], params=params, domain=value.get("domain"), plural=value.get("plural")
        )


class KindMessage(str):
    """A validation message's English (pydantic's "String should have at most 50
    characters") with its ``kind`` (``string_too_long``) and the plain values of its
    ``context`` (``{"max_length": 50}``): as a stored text's parameter, the panel says it by
    its kind in the reader's language (``validation.<kind>``, as a settings form does), while
    its English stays as written."""

    kind: str
    context: dict[str, Any]

    def __new__(cls, text: str, kind: str = "", context: Mapping[str, Any] | None = None):
        message = super().__new__(cls, text)
        message.kind, message.context = kind, dict(context or {})
        return message


class DetailText(str):
    """An English text the panel translates part by part as it does a run item's detail
    (``"label: value; label: value"``, an upload's or a mail server's refusal): as a stored
    text's parameter, where a plain string is shown as written."""


def english(value: Any) -> str:
    if isinstance(value, StoredText):
        return value.english()
    if isinstance(value, list):
        return ", ".join(english(item) for item in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_in(value, "en")
    return "" if value is None else str(value)


_DURATION_UNITS = (
    ("duration-day", 86400),
    ("duration-hour", 3600),
    ("duration-minute", 60),
    ("duration-second", 1),
)


def duration_in(value: timedelta, language: str) -> str:
    """A length of time as ``language`` says it, to the second: "2 Stunden", "15 minutes", or
    in short units where it takes several, "1 Std. 30 Min." (Babel's words and plurals)."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _DURATION_UNITS:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append((amount, unit))
    if len(parts) > 1:
        return " ".join(format_unit(n, unit, length="short", locale=language) for n, unit in parts)
    amount, unit = parts[0] if parts else (0, "duration-second")
    return format_unit(amount, unit, length="long", locale=language)


def _param_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_param_json(item) for item in value]
    if isinstance(value, StoredText):
        return {"text": value.as_json()}
    if isinstance(value, DetailText):
        return {"detail": str(value)}
    if isinstance(value, KindMessage):
        context = {key: _param_json(item) for key, item in value.context.items()}
        return {"kind_message": {"text": str(value), "kind": value.kind, "context": context}}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, timedelta):
        return {"duration": value.total_seconds()}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def _param_value(raw: Any) -> Any:
    if isinstance(raw, list):
        return [_param_value(item) for item in raw]
    if not isinstance(raw, Mapping):
        return raw
    if "text" in raw:
        return StoredText.from_json(raw["text"])
    if "detail" in raw:
        return DetailText(raw["detail"])
    if "kind_message" in raw:
        kept = raw["kind_message"]
        context = {key: _param_value(item) for key, item in kept["context"].items()}
        return KindMessage(kept["text"], kept["kind"], context)
    if "decimal" in raw:
        return Decimal(raw["decimal"])
    if "duration" in raw:
        return timedelta(seconds=raw["duration"])
    if "datetime" in raw:
        return datetime.fromisoformat(raw["datetime"])
    return date.fromisoformat(raw["date"])


PLAIN = (str, int, float, Decimal, date, timedelta, StoredText, type(None))  # bool is an int


class StoredMarker:
    """The marker of texts written by ``domain`` (a plugin module's ``__name__``):
    ``stored("...", name=value)``, or ``stored.plural("...", "...", count=n)`` for a text
    that counts (``pybabel extract -k stored -k plural:1,2``)."""

    def __init__(self, domain: str | None) -> None:
        self.domain = domain

    def __call__(self, text: str, /, **params: Any) -> StoredText:
        """``text`` with its fields' values; a missing one or one JSON cannot keep is a bug."""
        return StoredText(text, _checked((text,), params), self.domain)

    def plural(self, singular: str, plural: str, /, *, count: int, **params: Any) -> StoredText:
        """``singular`` for a ``count`` of 1 and ``plural`` for any other in English, the
        reader's language's form for ``count`` in the panel; ``{count}`` is a field like the
        others (the singular may leave it out: "one row left out")."""
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"{plural!r}: count must be a whole number, given {count!r}")
        if count < 0:
            raise ValueError(f"{plural!r}: count must not be negative, given {count}")
        checked = _checked((singular, plural), {**params, "count": count})
        return StoredText(singular, checked, self.domain, plural)


def _checked(texts: tuple[str, ...], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` if they are the fields of ``texts`` and JSON can keep them."""
    parsed = (name for text in texts for _, name, _, _ in Formatter().parse(text))
    fields = {name for name in parsed if name is not None}
    if fields != params.keys():
        raise ValueError(f"{texts[-1]!r} has the fields {sorted(fields)}, given {sorted(params)}")
    wrong = sorted(name for name, value in params.items() if not _plain(value))
    if wrong:
        raise TypeError(f"{texts[-1]!r}: {', '.join(wrong)} must be plain values or stored texts")
    return params


def stored_for(domain: str | None) -> StoredMarker:
    """The marker of texts written by ``domain`` (a plugin module's ``__name__``)."""
    return StoredMarker(domain)


def _plain(value: Any) -> bool:
    return all(isinstance(item, PLAIN) for item in (value if isinstance(value, list) else [value]))


stored = stored_for(None)
"""The marker of the panel's and the core's stored texts (in the panel's catalog)."""


class ExplainedError(ValueError):
    """A refusal: ``text`` for the panel in the reader's language, ``str()`` in English."""

    def __init__(self, text: StoredText) -> None:
        super().__init__(text.english())
        self.text = text


def literal(text: str) -> str:
    """``text`` as a message id without fields."""
    return text.replace("{", "{{").replace("}", "}}")


def stored_json(text: StoredText | str) -> dict[str, Any] | None:
    """The JSON of a stored text for its column; None for a plain string (shown as it is)."""
    return text.as_json() if isinstance(text, StoredText) else None


english_text: Callable[[StoredText | str], str] = english
"""The English text of a stored text, or a plain string itself."""


def english_plural(singular: str, plural: str, count: int, *values: object) -> str:
    """A counted text stored in plain English for the panel to translate by its shape (a run
    item's detail, a workflow's summary): ``singular`` for a ``count`` of 1, else ``plural``,
    with ``count`` in ``{0}`` and ``values`` in the fields after it ("1 page", "3 pages"). Its
    catalog entry is a plural one with the same ids, whose form the panel picks by ``{0}``."""
    return (singular if count == 1 else plural).format(count, *values)
