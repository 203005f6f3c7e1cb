"""Reading a run's ledger (one ``RunItem`` per recipient, group or group member) without
knowing its columns; member rows of group-scoped runs are left out unless asked for."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import ItemKind, ItemStatus, Run, RunItem
from core.plugin_base import Outcome

PAGE = 500
"""Rows read at a time, so a run of millions streams in flat memory."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One recorded recipient or group: its key, entity, id and group, and the outcome."""

    key: str
    entity: str
    entity_id: int | None
    group_key: str | None
    outcome: Outcome


def ledger_entries(
    session: Session, run_id: int, status: ItemStatus | str | None = None, members: bool = False
) -> Iterator[LedgerEntry]:
    """The run's entries in ledger order, streamed; ``status`` keeps only one status
    (``done``, ``failed``, ``skipped``, ``held_out``, ``unclear``, ``pending``, ``claimed``)."""
    query = select(RunItem).where(RunItem.run_id == run_id).order_by(RunItem.id)
    if not members:
        query = query.where(RunItem.kind != ItemKind.MEMBER)
    if status is not None:
        query = query.where(RunItem.status == ItemStatus(status))
    for item in session.scalars(query.execution_options(yield_per=PAGE)):
        outcome = Outcome(item.status.value, item.detail or "", item.units, item.reference)
        yield LedgerEntry(item.key, item.entity, item.entity_id, item.group_key, outcome)


def run_outcomes(session: Session, run_id: int) -> dict[str, Outcome]:
    """Each recipient's (or group's) outcome by its key; for tests and small runs."""
    return {entry.key: entry.outcome for entry in ledger_entries(session, run_id)}


def status_counts(session: Session, run_id: int) -> dict[str, int]:
    """How many entries the run has of each status, counted in the database."""
    rows = session.execute(
        select(RunItem.status, func.count())
        .where(RunItem.run_id == run_id, RunItem.kind != ItemKind.MEMBER)
        .group_by(RunItem.status)
    )
    return {status.value: count for status, count in rows}


def total_units(session: Session, run_id: int) -> int:
    """The units of the run's done entries: what the action's ``cost_unit`` counts."""
    return session.scalar(
        select(func.coalesce(func.sum(RunItem.units), 0)).where(
            RunItem.run_id == run_id,
            RunItem.kind != ItemKind.MEMBER,
            RunItem.status == ItemStatus.DONE,
        )
    )


def run_state(session: Session, run_id: int) -> str:
    """The run's state (``queued``, ``running``, ``completed`` ...)."""
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"there is no run {run_id}")
    return run.state.value
