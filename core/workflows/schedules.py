"""When a workflow is due: an interval ("15m", "every 2h") or a five-field cron expression
read in a time zone, and the arithmetic of their next run.

Intervals are real elapsed time, so daylight saving time never moves them. Cron fields match
the wall clock of the schedule's zone: a wall time the spring change skips runs as soon as
the clocks have jumped; one the autumn change repeats runs once, except that an expression
matching every hour runs in both copies of the repeated hour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise, takewhile
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from core.messages import ExplainedError, StoredText, stored

FORMS = stored(
    'an interval such as "15m", "2h", "1h30m" or "every 1d", or a cron expression "0 6 * * 1-5"'
)

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT = re.compile(r"d|days?|h|hours?|m|min|minutes?|s|seconds?")
_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)\s*")
_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY_ONE = {
    timedelta(days=1): stored("every day"),
    timedelta(hours=1): stored("every hour"),
    timedelta(minutes=1): stored("every minute"),
    timedelta(seconds=1): stored("every second"),
}
_LONGEST = timedelta(days=3660)
"""Ten years: a longer duration helps nobody, and one far longer overflows the date."""
_CRON_CHECK_OCCURRENCES = 1000
_CRON_CHECK_SPAN = timedelta(days=366)
_OFFSET_CHANGE_BOUND = timedelta(hours=3)
"""More than any zone's daylight-saving shift: how far a wall time can land from its
neighbours once converted to real time."""


class ScheduleError(ExplainedError):
    """A schedule, duration or time zone that cannot be used; the message says why."""


def parse_duration(text: str) -> timedelta:
    """``"15m"``, ``"1h30m"``, ``"2 hours"``, ``"1d"``: a positive length of time."""
    cleaned = text.strip().lower()
    if not cleaned or _DURATION_PART.sub("", cleaned).strip():
        raise ScheduleError(
            stored("{text} is not a duration (examples: 15m, 2h, 1h30m, 1d)", text=repr(text))
        )
    seconds = 0
    for amount, unit in _DURATION_PART.findall(cleaned):
        if not _UNIT.fullmatch(unit):
            raise ScheduleError(
                stored(
                    "{text}: unknown unit {unit} (use d, h, m or s)",
                    text=repr(text),
                    unit=repr(unit),
                )
            )
        seconds += int(amount) * _UNIT_SECONDS[unit[0]]
    if seconds > _LONGEST.total_seconds():
        raise ScheduleError(stored("{text} is longer than ten years", text=repr(text)))
    total = timedelta(seconds=seconds)
    if total <= timedelta(0):
        raise ScheduleError(stored("{text} must be longer than zero", text=repr(text)))
    return total


def format_duration(value: timedelta) -> str:
    """The shortest spelling ``parse_duration`` reads back: ``1h30m``, ``1d``, ``45s``."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def load_zone(name: str) -> ZoneInfo:
    """An IANA time zone such as ``Europe/Berlin``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            stored(
                "{name} is not a known time zone (use an IANA name such as Europe/Berlin or UTC)",
                name=repr(name),
            )
        ) from None


def check_cron(expression: str) -> str:
    """The expression with single spaces, if it is five cron fields (or a macro like @daily)
    that ever match."""
    fields = expression.split()
    normalized = " ".join(fields).lower() if len(fields) == 1 else " ".join(fields)
    if not (len(fields) == 5 or normalized in _MACROS):
        raise ScheduleError(
            stored(
                "{expression} is not a schedule: expected {forms} "
                "(minute hour day-of-month month day-of-week)",
                expression=repr(expression),
                forms=FORMS,
            )
        )
    try:
        croniter(normalized, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise ScheduleError(
            stored("cron expression {expression} never matches a date", expression=repr(normalized))
        ) from None
    except CroniterError as exc:  # croniter's own words name the field
        raise ScheduleError(
            stored(
                "cron expression {expression}: {problem}",
                expression=repr(normalized),
                problem=str(exc),
            )
        ) from None
    return normalized


def shortest_cron_gap(expression: str, start: datetime) -> timedelta | None:
    """The shortest wall-clock time between two matches over the next year (checked up to
    1000 matches), or None if it matches at most once in that time."""
    naive = start.replace(tzinfo=None)
    matches = croniter(expression, naive).all_next(datetime)
    first = next(matches)
    within = takewhile(
        lambda match: match - naive <= _CRON_CHECK_SPAN, islice(matches, _CRON_CHECK_OCCURRENCES)
    )
    return min((later - earlier for earlier, later in pairwise([first, *within])), default=None)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Either an interval or a cron expression; ``timezone`` None means the installation's."""

    interval: timedelta | None = None
    cron: str | None = None
    timezone: str | None = None

    @classmethod
    def parse(cls, text: str, timezone: str | None = None) -> Schedule:
        """Read what a user typed: an interval ("every 30m") or a cron expression."""
        cleaned = text.strip()
        if cleaned.lower().startswith("every "):
            try:
                interval = parse_duration(cleaned.lower().removeprefix("every "))
            except ScheduleError as exc:
                raise ScheduleError(
                    stored("{schedule}: {problem}", schedule=repr(cleaned), problem=exc.text)
                ) from None
        elif cleaned and not cleaned.startswith("@") and len(cleaned.split()) < 5:
            try:
                interval = parse_duration(cleaned)
            except ScheduleError:
                raise ScheduleError(
                    stored(
                        "{text} is not a schedule: expected {forms}", text=repr(text), forms=FORMS
                    )
                ) from None
        else:
            if timezone is not None:
                load_zone(timezone)
            return cls(cron=check_cron(cleaned), timezone=timezone)
        if timezone is not None:
            raise ScheduleError(
                stored(
                    "a time zone applies to cron expressions only; an interval is the same "
                    "everywhere"
                )
            )
        return cls(interval=interval)

    def describe(self, default_zone: str) -> str:
        """How the listing shows it: ``every 15 minutes``, ``every hour`` or ``cron 0 6 * * 1-5
        (Europe/Berlin)``."""
        return self.described(default_zone).english()

    def described(self, default_zone: str) -> StoredText:
        """``describe`` as a stored text, for a message read in the reader's language: one
        unit is said as a word ("stündlich"), not as "alle 1 Stunde"."""
        if self.interval is not None:
            once = _EVERY_ONE.get(self.interval)
            return once if once is not None else stored("every {interval}", interval=self.interval)
        return stored("cron {cron} ({zone})", cron=self.cron, zone=self.timezone or default_zone)

    def check_minimum(self, minimum: timedelta, now: datetime, default_zone: str) -> None:
        """Refuse a schedule that would run more often than ``minimum``."""
        shortest = self.interval
        if self.cron is not None:
            zone = load_zone(self.timezone or default_zone)
            shortest = shortest_cron_gap(self.cron, now.astimezone(zone))
        if shortest is not None and shortest < minimum:
            raise ScheduleError(
                stored(
                    'The schedule "{schedule}" runs as little as {shortest} apart, more often '
                    "than the minimum of {minimum} (CAMPAIGN_WORKFLOW_MIN_INTERVAL)",
                    schedule=self.described(default_zone),
                    shortest=shortest,
                    minimum=minimum,
                )
            )

    def first_due(
        self, now: datetime, last: datetime | None, zone: ZoneInfo, minimum: timedelta
    ) -> datetime:
        """When a schedule that was just set, started or first seen is due: an interval at
        once or one interval after the last run; a cron expression at its next match."""
        if self.interval is not None:
            return now if last is None else max(now, last + max(self.interval, minimum))
        return self._next_match(now if last is None else max(now, last + minimum), zone)

    def next_due(
        self, due: datetime, now: datetime, zone: ZoneInfo, minimum: timedelta
    ) -> datetime:
        """After the run due at ``due`` was enqueued at ``now``: the next one. An interval
        keeps its rhythm from ``due``; runs missed while no scheduler ran are not made up."""
        if self.interval is not None:
            step = max(self.interval, minimum)
            return due + (max((now - due) // step, 0) + 1) * step
        return self._next_match(max(now, due + minimum - timedelta(microseconds=1)), zone)

    def _next_match(self, after: datetime, zone: ZoneInfo) -> datetime:
        """The first instant strictly after ``after`` at which the cron fields match."""
        every_hour = croniter(self.cron).expanded[1] == ["*"]
        local_start = after.astimezone(zone).replace(tzinfo=None) - _OFFSET_CHANGE_BOUND
        best: datetime | None = None
        for wall in croniter(self.cron, local_start).all_next(datetime):
            instants = _instants(wall, zone, both_folds=every_hour)
            if best is not None and instants[0] > best + _OFFSET_CHANGE_BOUND:
                return best
            for instant in instants:
                if instant > after and (best is None or instant < best):
                    best = instant
        raise AssertionError("unreachable: croniter iterates without end")


def _instants(wall: datetime, zone: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The real instants of a wall-clock time: a skipped time lands as far after the jump
    as it was after its start; a repeated one is its first copy (and the second too
    when ``both_folds``)."""
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    naive_utc = wall.replace(tzinfo=UTC)
    repeated = both_folds and first > second
    return [naive_utc - first, naive_utc - second] if repeated else [naive_utc - first]
