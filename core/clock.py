"""The one source of the current time, so tests move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


clock: Clock = Clock()


def utcnow() -> datetime:
    """Current time from the installed clock; used for column defaults."""
    return clock.now()


def install(new_clock: Clock) -> Clock:
    """Replace the process clock and return the previous one."""
    global clock
    previous, clock = clock, new_clock
    return previous
