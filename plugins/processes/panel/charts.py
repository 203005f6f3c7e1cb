"""The geometry of the panel's server-rendered charts: budget bars and the plan timeline.

The templates draw each chart row as a small SVG whose view box is ``WIDTH`` units wide and
stretched to the row (``preserveAspectRatio="none"``), next to HTML cells with the labels
and numbers. So every figure is also text in a table (screen readers and printouts get the
numbers, not a picture), no script or inline style is needed (the strict CSP allows
neither), and positions are plain attributes computed here.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

WIDTH = 1000
"""The width of every chart row's view box."""


def position(value: Decimal | float | int, maximum: Decimal | float | int) -> float:
    """``value`` on a scale of 0 to ``WIDTH`` (0 when there is nothing to scale)."""
    if maximum <= 0 or value <= 0:
        return 0.0
    return round(min(float(value) / float(maximum), 1.0) * WIDTH, 2)


# -- budgets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A part of a bar: where it starts and how wide it is, and its colour class."""

    x: float
    width: float
    css: str


@dataclass(frozen=True)
class BarRow:
    """One row of the budget chart: a label key, its amount, its bar and the share of the
    allocation it makes up."""

    key: str
    amount: Decimal
    segments: tuple[Segment, ...]
    percent: int | None


@dataclass(frozen=True)
class BudgetChart:
    rows: tuple[BarRow, ...]
    limit: float
    """Where the allocation is on every row (the dashed line)."""
    over: Decimal
    """How far the booked amount exceeds the allocation (0 when within)."""


def _percent(amount: Decimal, allocated: Decimal) -> int | None:
    return None if allocated <= 0 else int((amount * 100 / allocated).to_integral_value())


def budget_chart(
    allocated: Decimal,
    planned: Decimal,
    reserved: Decimal,
    committed: Decimal,
    spent: Decimal,
    invoiced: Decimal,
) -> BudgetChart:
    """Allocated against booked (planned, reserved and committed stacked), spent and invoiced;
    the part of the booked bar beyond the allocation is drawn as an overrun."""
    booked = planned + reserved + committed
    maximum = max(allocated, booked, spent, invoiced, Decimal(0)) * Decimal("1.05")
    limit = position(allocated, maximum)

    def bar(amount: Decimal, css: str) -> tuple[Segment, ...]:
        return (Segment(0.0, position(amount, maximum), css),)

    stacked, start = [], Decimal(0)
    for amount, css in ((planned, "planned"), (reserved, "reserved"), (committed, "committed")):
        if amount > 0:
            x = position(start, maximum)
            stacked.append(Segment(x, position(start + amount, maximum) - x, css))
        start += amount
    over = max(booked - allocated, Decimal(0))
    if over > 0:
        stacked.append(Segment(limit, position(booked, maximum) - limit, "over"))
    rows = (
        BarRow("allocated", allocated, bar(allocated, "allocated"), None),
        BarRow("booked", booked, tuple(stacked), _percent(booked, allocated)),
        BarRow("planned", planned, bar(planned, "planned"), _percent(planned, allocated)),
        BarRow("reserved", reserved, bar(reserved, "reserved"), _percent(reserved, allocated)),
        BarRow("committed", committed, bar(committed, "committed"), _percent(committed, allocated)),
        BarRow("spent", spent, bar(spent, "spent"), _percent(spent, allocated)),
        BarRow("invoiced", invoiced, bar(invoiced, "invoiced"), _percent(invoiced, allocated)),
    )
    return BudgetChart(rows, limit, over)


# -- the timeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    x: float
    label_date: date


@dataclass
class TimelineRow:
    """A plan, program or campaign with its period, and markers (a delivery's start)."""

    level: int
    """0 plan, 1 program, 2 campaign: how far the label is indented."""
    label: str
    url: str | None
    start: date | None
    end: date | None
    css: str = ""
    state: str | None = None
    """A campaign's state, as the message key of its label."""
    markers: list[tuple[float, str]] = field(default_factory=list)
    x: float = 0.0
    width: float = 0.0
    """Zero width: no period to draw."""


@dataclass
class Timeline:
    start: date
    end: date
    ticks: list[Tick]
    today: float | None
    rows: list[TimelineRow]


def _x(day: date, start: date, span: int) -> float:
    return round(min(max((day - start).days, 0), span) / span * WIDTH, 2)


MAX_TICKS = 48
"""Ticks a timeline draws at most (in its axis and in every row): over a longer period they
are a whole number of months apart, whole years from four years on, so a period of 1900 to
2999 costs 48 ticks, not 13,200 in each row."""


def _months(start: date, end: date) -> list[date]:
    """The first day of every month from ``start`` to ``end``, or of every ``step``-th month
    (``MAX_TICKS`` at most): every month up to four years, whole years beyond that."""
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    step = 1
    if count > MAX_TICKS:
        step = -(-count // MAX_TICKS)
        step = -(-step // 12) * 12 if step > 1 else step
    first = start.replace(day=1)
    months = []
    for index in range(0, count, step):
        year, month = divmod(first.month - 1 + index, 12)
        months.append(date(first.year + year, month + 1, 1))
    return months


def period_of(rows: Sequence[TimelineRow], fallback: date) -> tuple[date, date]:
    """The whole months around every row's dates; the fallback's year when none has dates."""
    days = [day for row in rows for day in (row.start, row.end) if day is not None]
    if not days:
        return date(fallback.year, 1, 1), date(fallback.year, 12, 31)
    first, last = min(days), max(days)
    return first.replace(day=1), last.replace(day=calendar.monthrange(last.year, last.month)[1])


def timeline(
    rows: list[TimelineRow],
    today: date,
    start: date | None = None,
    end: date | None = None,
    marker_dates: Sequence[Sequence[tuple[date, str]]] = (),
) -> Timeline:
    """Place every row's period (a row with only a start or an end is drawn to the edge of the
    timeline) and its markers (``marker_dates[i]`` for ``rows[i]``) between ``start`` and
    ``end``, with a tick at the start of every month."""
    if start is None or end is None:
        start, end = period_of(rows, today)
    span = max((end - start).days + 1, 1)
    for index, row in enumerate(rows):
        if row.start is not None or row.end is not None:
            first = max(row.start or start, start)
            last = min(row.end or end, end)  # its end: the day after (31.12.9999 has none)
            if first <= last:
                row.x = _x(first, start, span)
                after = round(min((last - start).days + 1, span) / span * WIDTH, 2)
                row.width = max(after - row.x, 2.0)
        if index < len(marker_dates):
            row.markers = [
                (_x(day, start, span), title)
                for day, title in marker_dates[index]
                if start <= day <= end
            ]
    ticks = [Tick(_x(month, start, span), month) for month in _months(start, end)]
    shown = _x(today, start, span) if start <= today <= end else None
    return Timeline(start, end, ticks, shown, rows)
