"""A campaign's sending window: the days and hours its runs may reach people.

Outside the window a run's chunks wait: a chunk job that finds it closed, or sees it close
between recipients, hands its lease back expiring when the window opens next, and the
scheduler's recovery gives the chunk to a worker then (docs/engine.md, "Sending window").
Times are the installation's local time (``CAMPAIGN_TIMEZONE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.messages import ExplainedError, stored

WEEK = range(7)
"""Days as Python numbers them: 0 is Monday."""


class SendingWindowError(ExplainedError):
    """A window that cannot hold: no day, or an end not after its start."""


@dataclass(frozen=True)
class SendingWindow:
    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def of(cls, days: Iterable[int], start: time, end: time) -> SendingWindow:
        """A checked window; ``SendingWindowError`` names what is wrong."""
        chosen = frozenset(days)
        if not chosen or not chosen <= set(WEEK):
            raise SendingWindowError(stored("sending_window.days: choose at least one day"))
        if end <= start:
            raise SendingWindowError(
                stored("sending_window.end: must be later in the day than the start")
            )
        return cls(chosen, start, end)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SendingWindow | None:
        """The window a campaign or a run's snapshot stores; None: no window, any time."""
        if not data:
            return None
        start, end = time.fromisoformat(data["start"]), time.fromisoformat(data["end"])
        return cls.of(data["days"], start, end)

    def to_json(self) -> dict[str, Any]:
        return {
            "days": sorted(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    def _spans(self, moment: datetime, zone: ZoneInfo) -> Iterable[tuple[datetime, datetime]]:
        """The window's open spans from the day of ``moment`` on, for a week and a day."""
        first = moment.astimezone(zone).date()
        for offset in range(8):
            day = first + timedelta(days=offset)
            if day.weekday() in self.days:
                yield (
                    datetime.combine(day, self.start, tzinfo=zone),
                    datetime.combine(day, self.end, tzinfo=zone),
                )

    def closes_at(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When the window open at ``moment`` closes; None if it is closed then."""
        for opens, closes in self._spans(moment, zone):
            if opens <= moment < closes:
                return closes
        return None

    def waits_until(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When the window closed at ``moment`` opens; None while it is open."""
        return None if self.closes_at(moment, zone) else self.opens_at(moment, zone)

    def opens_at(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first moment from ``moment`` on at which the window is open."""
        for opens, closes in self._spans(moment, zone):
            if moment < closes:
                return max(opens, moment)
        raise AssertionError("a window with a day opens within a week")
