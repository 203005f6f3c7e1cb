import itertools
from datetime import UTC, datetime, timedelta

import pytest

from core.workflows.schedules import (
    Schedule,
    ScheduleError,
    format_duration,
    load_zone,
    parse_duration,
)
from webapp.i18n import render_stored

BERLIN = load_zone("Europe/Berlin")
MINIMUM = timedelta(minutes=15)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def matches(expression: str, after: datetime, count: int) -> list[datetime]:
    schedule = Schedule.parse(expression)
    found = []
    for _ in range(count):
        after = schedule.first_due(after, None, BERLIN, MINIMUM)
        found.append(after)
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1 day", timedelta(days=1)),
        ("90 minutes", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_durations_read_as_people_write_them(text, expected):
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("15", "'15' is not a schedule: expected an interval such as"),
        ("every 0m", "'every 0m': '0m' must be longer than zero"),
        ("every 5 parsecs", "unknown unit 'parsecs'"),
        ("*/5 * * *", "'*/5 * * *' is not a schedule"),
        ("61 * * * *", "cron expression '61 * * * *':"),
        ("0 0 30 2 *", "cron expression '0 0 30 2 *' never matches a date"),
        # an OverflowError (a 500 in the panel), and a date beyond the year 9999
        ("every 9999999999d", "'every 9999999999d': '9999999999d' is longer than ten years"),
        ("every 3000000d", "'every 3000000d': '3000000d' is longer than ten years"),
        ("9999999999d", "'9999999999d' is not a schedule: expected an interval such as"),
    ],
)
def test_a_bad_schedule_is_refused_with_what_was_wrong(text, message):
    with pytest.raises(ScheduleError) as error:
        Schedule.parse(text)
    assert message in str(error.value)


def test_an_interval_or_a_cron_expression_with_its_zone():
    assert Schedule.parse("every 2h") == Schedule(interval=timedelta(hours=2))
    assert Schedule.parse("30m").describe("Europe/Berlin") == "every 30 minutes"
    cron = Schedule.parse("0  6 * * 1-5", timezone="America/New_York")
    assert cron == Schedule(cron="0 6 * * 1-5", timezone="America/New_York")
    assert cron.describe("Europe/Berlin") == "cron 0 6 * * 1-5 (America/New_York)"
    assert Schedule.parse("@Daily").describe("Europe/Berlin") == "cron @daily (Europe/Berlin)"
    with pytest.raises(ScheduleError, match="'Mars/Olympus' is not a known time zone"):
        Schedule.parse("0 6 * * *", timezone="Mars/Olympus")
    with pytest.raises(ScheduleError, match="a time zone applies to cron expressions only"):
        Schedule.parse("30m", timezone="UTC")


@pytest.mark.parametrize(
    ("text", "german", "english"),
    [
        ("1h", "stündlich", "every hour"),
        ("60m", "stündlich", "every hour"),
        ("1d", "täglich", "every day"),
        ("2h", "alle 2 Stunden", "every 2 hours"),
        ("15m", "alle 15 Minuten", "every 15 minutes"),
        ("1h30m", "alle 1 Std. 30 Min.", "every 1 hr 30 min"),
        ("1d12h", "alle 1 Tg. 12 Std.", "every 1 day 12 hr"),
    ],
)
def test_an_interval_reads_as_words_in_either_language(text, german, english):
    described = Schedule.parse(text).described("Europe/Berlin")
    assert render_stored(described, "de", {}) == german
    assert render_stored(described, "en", {}) == described.english() == english


def test_the_minimum_refuses_schedules_that_run_more_often():
    now = utc(2026, 3, 1, 8)
    Schedule.parse("15m").check_minimum(MINIMUM, now, "Europe/Berlin")
    Schedule.parse("*/15 * * * *").check_minimum(MINIMUM, now, "Europe/Berlin")
    Schedule.parse("0 6 * * 1-5").check_minimum(MINIMUM, now, "Europe/Berlin")
    with pytest.raises(ScheduleError) as error:
        Schedule.parse("every 5m").check_minimum(MINIMUM, now, "Europe/Berlin")
    assert str(error.value) == (
        'The schedule "every 5 minutes" runs as little as 5 minutes apart, more often than the '
        "minimum of 15 minutes (CAMPAIGN_WORKFLOW_MIN_INTERVAL)"
    )
    assert render_stored(error.value.text, "de", {}) == (  # the panel's words, all German
        "Der Zeitplan „alle 5 Minuten“ läuft im Abstand von nur 5 Minuten, öfter als das "
        "Minimum von 15 Minuten (CAMPAIGN_WORKFLOW_MIN_INTERVAL)"
    )
    with pytest.raises(ScheduleError, match="as little as 10 minutes apart"):
        Schedule.parse("*/10 * * * *").check_minimum(MINIMUM, now, "Europe/Berlin")
    with pytest.raises(ScheduleError, match="as little as 1 minute apart"):  # 23:59, then 00:00
        Schedule.parse("0,59 0,23 * * *").check_minimum(MINIMUM, now, "Europe/Berlin")


def test_an_interval_keeps_its_rhythm_and_does_not_make_up_missed_runs():
    hourly = Schedule(interval=timedelta(hours=1))
    due = utc(2026, 3, 1, 8)
    assert hourly.next_due(due, due + timedelta(seconds=8), BERLIN, MINIMUM) == utc(2026, 3, 1, 9)
    # the scheduler was down from 8:00 to 11:30: one run now, the next back on the hour
    assert hourly.next_due(due, utc(2026, 3, 1, 11, 30), BERLIN, MINIMUM) == utc(2026, 3, 1, 12)


def test_an_interval_below_the_minimum_runs_at_the_minimum():
    five = Schedule(interval=timedelta(minutes=5))
    due = utc(2026, 3, 1, 8)
    assert five.next_due(due, due, BERLIN, MINIMUM) == utc(2026, 3, 1, 8, 15)


def test_a_new_or_restarted_interval_is_due_at_once_or_one_interval_after_the_last_run():
    hourly = Schedule(interval=timedelta(hours=1))
    now = utc(2026, 3, 1, 8)
    assert hourly.first_due(now, None, BERLIN, MINIMUM) == now
    assert hourly.first_due(now, now - timedelta(minutes=20), BERLIN, MINIMUM) == utc(
        2026, 3, 1, 8, 40
    )
    assert hourly.first_due(now, now - timedelta(hours=5), BERLIN, MINIMUM) == now


def test_cron_reads_the_wall_clock_of_its_zone_across_the_spring_change():
    # 2026-03-29: clocks in Germany jump from 02:00 to 03:00
    found = matches("0 6 * * *", utc(2026, 3, 27, 12), 3)
    assert found == [berlin(2026, 3, 28, 6), berlin(2026, 3, 29, 6), berlin(2026, 3, 30, 6)]
    assert [instant.hour for instant in found] == [5, 4, 4]  # in UTC


def test_a_skipped_wall_time_runs_once_the_clocks_have_jumped():
    found = matches("30 2 * * *", utc(2026, 3, 28, 12), 2)
    assert found == [utc(2026, 3, 29, 1, 30), berlin(2026, 3, 30, 2, 30)]
    assert found[0].astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    # 02:00 does not exist that night and 03:00 is the same instant: one run, not two
    assert matches("0 2,3 * * *", utc(2026, 3, 28, 12), 2) == [
        utc(2026, 3, 29, 1),
        berlin(2026, 3, 30, 2),
    ]


def test_a_repeated_wall_time_runs_once_in_autumn():
    # 2026-10-25: clocks go back from 03:00 to 02:00, so 02:30 happens twice
    found = matches("30 2 * * *", utc(2026, 10, 24, 12), 2)
    assert found == [utc(2026, 10, 25, 0, 30), berlin(2026, 10, 26, 2, 30)]


def test_an_every_quarter_hour_cron_keeps_running_through_the_repeated_hour():
    found = matches("*/15 * * * *", utc(2026, 10, 25, 0, 20), 8)
    gaps = {later - earlier for earlier, later in itertools.pairwise(found)}
    assert gaps == {timedelta(minutes=15)}
    assert found[0] == utc(2026, 10, 25, 0, 30)


def test_cron_never_runs_sooner_than_the_minimum_after_the_last_due_time():
    quarter = Schedule(cron="0,10,30,40 * * * *")  # gaps of 10 and 20 minutes
    due = utc(2026, 3, 1, 8)
    assert quarter.next_due(due, due, load_zone("UTC"), MINIMUM) == utc(2026, 3, 1, 8, 30)
