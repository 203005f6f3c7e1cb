"""Numbers, dates and sizes as the user's language writes them (template filters).

Times are shown in German time (``core.templating.LOCAL_TIME``), where the users are, whatever
the server's zone: ``23.11.2026 09:30`` in German, ``23 Nov 2026, 09:30`` in English.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask

from core.templating import LOCAL_TIME
from webapp.i18n import get_language

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TIME).date() if value.tzinfo else value.date()
    if get_language() == "de":
        return f"{value.day:02d}.{value.month:02d}.{value.year}"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LOCAL_TIME) if value.tzinfo else value
    separator = " " if get_language() == "de" else ", "
    return f"{format_date(local)}{separator}{local:%H:%M}"


def format_number(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """``12.345,6`` in German, ``12,345.6`` in English; ``decimals`` rounds to that many."""
    if value is None:
        return ""
    text = f"{value:,}" if decimals is None else f"{value:,.{decimals}f}"
    if get_language() == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_bytes(size: int | None) -> str:
    if size is None:
        return ""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{format_number(size / factor, 1)} {unit}"
    return f"{format_number(size)} B"


def percent(part: int | None, whole: int | None) -> int:
    """Whole percent of ``part`` in ``whole`` (0 when there is no whole yet)."""
    if not whole:
        return 0
    return min(100, round(100 * (part or 0) / whole))


def init_formatting(app: Flask) -> None:
    app.jinja_env.filters.update(
        date=format_date,
        datetime=format_datetime,
        number=format_number,
        bytes=format_bytes,
    )
    app.jinja_env.globals["percent"] = percent
