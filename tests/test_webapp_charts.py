"""The geometry of the server-rendered charts: budget bars and the plan timeline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from plugins.processes.panel.charts import TimelineRow, budget_chart, position, timeline

D = Decimal


def test_positions_scale_to_the_view_box_and_stay_inside_it():
    assert position(50, 200) == 250.0
    assert position(300, 200) == 1000.0
    assert position(5, 0) == 0.0
    assert position(-5, 100) == 0.0


def test_the_budget_chart_stacks_the_booked_levels_and_marks_the_overrun():
    chart = budget_chart(D(1000), D(200), D(500), D(400), D(300), D(100))
    rows = {row.key: row for row in chart.rows}
    assert [row.key for row in chart.rows] == [
        "allocated",
        "booked",
        "planned",
        "reserved",
        "committed",
        "spent",
        "invoiced",
    ]
    assert rows["booked"].amount == D(1100)
    assert rows["booked"].percent == 110
    assert chart.over == D(100)
    maximum = 1100 * 1.05
    assert chart.limit == round(1000 / maximum * 1000, 2)
    planned, reserved, committed, over = rows["booked"].segments
    assert (planned.css, reserved.css, committed.css, over.css) == (
        "planned",
        "reserved",
        "committed",
        "over",
    )
    assert planned.x == 0 and reserved.x == planned.width
    assert abs(committed.x + committed.width - 1000 / 1.05) < 0.05
    assert over.x == chart.limit


def test_a_budget_within_its_allocation_has_no_overrun_and_no_percent_without_one():
    within = budget_chart(D(1000), D(0), D(400), D(0), D(0), D(0))
    assert within.over == 0
    assert [segment.css for segment in within.rows[1].segments] == ["reserved"]
    unallocated = budget_chart(D(0), D(10), D(0), D(0), D(0), D(0))
    assert unallocated.rows[1].percent is None
    assert unallocated.over == D(10)


def test_the_timeline_places_periods_markers_ticks_and_today():
    rows = [
        TimelineRow(1, "Programm", None, date(2026, 1, 1), date(2026, 6, 30)),
        TimelineRow(2, "Kampagne", None, date(2026, 2, 1), None),
        TimelineRow(2, "Ohne Daten", None, None, None),
    ]
    shown = timeline(
        rows,
        today=date(2026, 7, 2),
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        marker_dates=[[], [(date(2026, 2, 10), "Brief"), (date(2027, 1, 5), "zu spät")]],
    )
    assert len(shown.ticks) == 12
    assert shown.ticks[0].x == 0 and shown.ticks[6].x == round(181 / 365 * 1000, 2)
    first, second, third = shown.rows
    assert (first.x, first.width) == (0.0, round(181 / 365 * 1000, 2))
    assert second.x == round(31 / 365 * 1000, 2) and second.x + second.width == 1000
    assert second.markers == [(round(40 / 365 * 1000, 2), "Brief")]
    assert third.width == 0
    assert shown.today == round(182 / 365 * 1000, 2)


def test_without_a_period_the_timeline_spans_the_months_of_its_rows():
    rows = [TimelineRow(2, "Kampagne", None, date(2026, 3, 15), date(2026, 5, 2))]
    shown = timeline(rows, today=date(2025, 1, 1))
    assert (shown.start, shown.end) == (date(2026, 3, 1), date(2026, 5, 31))
    assert shown.today is None
    empty = timeline([TimelineRow(0, "Plan", None, None, None)], today=date(2026, 8, 8))
    assert (empty.start, empty.end) == (date(2026, 1, 1), date(2026, 12, 31))


def test_a_timeline_over_centuries_draws_few_ticks_and_reaches_the_last_day():
    """A plan from 1.1.0001 to 31.12.9999 drew 120,000 month ticks in every row (the page
    took minutes) and its end's next day overflowed (a 500)."""
    rows = [
        TimelineRow(0, "Plan", None, date(1, 1, 1), date(9999, 12, 31)),
        TimelineRow(1, "Programm", None, date(2026, 1, 1), None),
    ]
    shown = timeline(rows, today=date(2026, 7, 2))
    assert (shown.start, shown.end) == (date(1, 1, 1), date(9999, 12, 31))
    assert 1 < len(shown.ticks) <= 48
    assert {tick.label_date.month for tick in shown.ticks} == {1}
    assert (shown.rows[0].x, shown.rows[0].width) == (0.0, 1000.0)
    assert shown.rows[1].x + shown.rows[1].width == 1000.0
    four_years = timeline(rows[1:], date(2026, 7, 2), date(2026, 1, 1), date(2029, 12, 31))
    assert len(four_years.ticks) == 48
