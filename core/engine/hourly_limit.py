"""A campaign's hourly limit: at most so many sends in any hour, over all workers and runs.

Chunk jobs whose action sends (``Action.external_effects``) take their rows from one
allowance per campaign: each claim is written down in ``hourly_claims`` under a lock on the
campaign's row, less the rows that then reached nobody. A chunk that finds the hour's
allowance spent hands its lease back expiring when enough of the hour's claims are an hour
old, and the scheduler's recovery gives it out again then (docs/engine.md, "Hourly limit").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from core.messages import ExplainedError, stored
from core.models import Campaign, HourlyClaim

HOUR = timedelta(hours=1)
MOST_PER_HOUR = 1_000_000
claims = HourlyClaim.__table__


class HourlyLimitError(ExplainedError):
    """A limit that is not a whole number of sends from 1 to ``MOST_PER_HOUR``."""


def checked(limit: int | None) -> int | None:
    """``limit`` if it can hold (None: no limit); ``HourlyLimitError`` names what is wrong."""
    if limit is not None and not 1 <= limit <= MOST_PER_HOUR:
        raise HourlyLimitError(
            stored("hourly_limit: must be a number from 1 to {most}", most=MOST_PER_HOUR)
        )
    return limit


@dataclass(frozen=True)
class Allowance:
    rows: int
    """Rows the chunk may claim now; 0 while the hour's allowance is spent."""
    claim_id: int | None = None
    """The claim to give unused rows back to."""
    resumes_at: datetime | None = None
    """With no rows: when the allowance has one again."""


def take(session: Session, campaign_id: int, limit: int, wanted: int, now: datetime) -> Allowance:
    """Up to ``wanted`` rows of the campaign's allowance at ``now``, written down in the
    caller's transaction, so that the rows and their claim commit together."""
    session.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())
    session.execute(
        delete(claims).where(claims.c.campaign_id == campaign_id, claims.c.claimed_at <= now - HOUR)
    )
    taken = _taken(session, campaign_id, now)
    granted = min(wanted, limit - sum(rows for _, rows in taken))
    if granted <= 0:
        return Allowance(0, resumes_at=_frees(taken, 1 - granted))
    values = {"campaign_id": campaign_id, "claimed_at": now, "rows": granted}
    claim_id = session.scalar(insert(claims).values(values).returning(claims.c.id))
    return Allowance(granted, claim_id)


def give_back(session: Session, claim_id: int, rows: int) -> None:
    """Return ``rows`` of a claim that reached nobody: not claimed, skipped or not begun."""
    if rows:
        session.execute(
            update(claims).where(claims.c.id == claim_id).values(rows=claims.c.rows - rows)
        )


def resumes_at(session: Session, campaign_id: int, limit: int, now: datetime) -> datetime | None:
    """When sending goes on if the hour's allowance is spent at ``now``; None if it is not."""
    taken = _taken(session, campaign_id, now)
    spent = sum(rows for _, rows in taken) - limit
    return _frees(taken, spent + 1) if spent >= 0 else None


def _taken(session: Session, campaign_id: int, now: datetime) -> list[tuple[datetime, int]]:
    """The hour's claims, oldest first."""
    query = (
        select(claims.c.claimed_at, claims.c.rows)
        .where(claims.c.campaign_id == campaign_id, claims.c.claimed_at > now - HOUR)
        .order_by(claims.c.claimed_at)
    )
    return [(claimed_at, rows) for claimed_at, rows in session.execute(query)]


def _frees(taken: Iterable[tuple[datetime, int]], needed: int) -> datetime:
    """When claims of ``needed`` rows are an hour old."""
    freed = 0
    for claimed_at, rows in taken:
        freed += rows
        if freed >= needed:
            return claimed_at + HOUR
    raise AssertionError("a spent allowance frees within the hour")
