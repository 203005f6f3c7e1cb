"""Numbers, dates and sizes as the user's language writes them, formatted by Babel (template
filters).

Times are shown in German time (``core.documents.templating.LOCAL_TIME``), where the users are,
whatever the server's zone: ``23.11.2026 09:30`` in German, ``23 Nov 2026, 09:30`` in English.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from babel import Locale, dates, numbers
from flask import Flask

from core.engine.sending_window import SendingWindow
from webapp.i18n import date_in, datetime_in, get_language, t


def format_date(value: date | datetime | None) -> str:
    return "" if value is None else date_in(value, get_language())


def format_datetime(value: datetime | None) -> str:
    return "" if value is None else datetime_in(value, get_language())


def format_number(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """``12.345,6`` in German, ``12,345.6`` in English (Babel's grouping and decimal signs
    of the locale); ``decimals`` rounds to that many, without it every digit is kept."""
    if value is None:
        return ""
    language = get_language()
    if decimals is None:
        return numbers.format_decimal(value, locale=language, decimal_quantization=False)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return numbers.format_decimal(value, pattern, locale=language)


def format_money(value: int | float | Decimal | None, exact: bool = False) -> str:
    """An amount in euros as the language writes it, by Babel: ``79,56 €`` in German,
    ``€79.56`` in English; ``exact`` keeps every digit a price has and no more (``0,1234 €``,
    ``12 €``). German keeps a plain space before the sign, as the panel always wrote it."""
    if value is None:
        return ""
    language = get_language()
    pattern = Locale.parse(language).currency_formats["standard"].pattern
    if exact:
        pattern = pattern.replace("0.00", "0.##")
    text = numbers.format_currency(
        value,
        "EUR",
        pattern,
        locale=language,
        currency_digits=not exact,
        decimal_quantization=not exact,
    )
    return text.replace("\N{NO-BREAK SPACE}", " ")


def format_bytes(size: int | None) -> str:
    if size is None:
        return ""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{format_number(size / factor, 1)} {unit}"
    return f"{format_number(size)} B"


def content_disposition(kind: str, filename: str) -> str:
    """The ``Content-Disposition`` of a download (``inline`` or ``attachment``) that keeps a
    name such as ``Brief Müller.pdf``: RFC 6266's encoded name, and a plain ASCII fallback
    for clients that read only that."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def percent(part: int | None, whole: int | None) -> int:
    """Whole percent of ``part`` in ``whole`` (0 when there is no whole yet)."""
    if not whole:
        return 0
    return min(100, round(100 * (part or 0) / whole))


def sending_window_text(window: SendingWindow | None) -> str:
    """The window's days and hours in the reader's language, three or more days in a row
    as one span ("Mo.-Fr." with an en dash); without a window, that runs send at any time."""
    if window is None:
        return t("campaigns.window.any_time")
    names = dates.get_day_names("abbreviated", locale=get_language())
    spans: list[list[int]] = []
    for day in sorted(window.days):
        if spans and spans[-1][-1] == day - 1:
            spans[-1].append(day)
        else:
            spans.append([day])
    days = ", ".join(
        f"{names[span[0]]}\N{EN DASH}{names[span[-1]]}"
        if len(span) > 2
        else ", ".join(names[day] for day in span)
        for span in spans
    )
    return t(
        "campaigns.window.text",
        days=days,
        start=window.start.strftime("%H:%M"),
        end=window.end.strftime("%H:%M"),
    )


def init_formatting(app: Flask) -> None:
    app.jinja_env.filters.update(
        date=format_date,
        datetime=format_datetime,
        number=format_number,
        money=format_money,
        bytes=format_bytes,
    )
    app.jinja_env.globals["percent"] = percent
    app.jinja_env.globals["sending_window_text"] = sending_window_text
