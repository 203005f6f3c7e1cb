"""Numbers, dates and sizes as the user's language writes them, formatted by Babel (template
filters).

Times are shown in German time (``core.documents.templating.LOCAL_TIME``), where the users are,
whatever the server's zone: ``23.11.2026 09:30`` in German, ``23 Nov 2026, 09:30`` in English.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from babel import numbers
from flask import Flask

from webapp.i18n import date_in, datetime_in, get_language


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


def init_formatting(app: Flask) -> None:
    app.jinja_env.filters.update(
        date=format_date,
        datetime=format_datetime,
        number=format_number,
        bytes=format_bytes,
    )
    app.jinja_env.globals["percent"] = percent
