"""Runs the campaign-process workflows start, each exactly once.

A workflow first records what it is about to start, committed at a time ``since`` (a
delivery's conditional state change, a schedule line's claim), and then starts the run. A
pass that dies between starting the run and recording it leaves a run nobody noted: the
next pass finds it (the owner's run created at or after ``since``) and takes it instead of
starting a second one. Two starts at the same moment are kept apart by the engine's one
active run per campaign: the second one fails and its pass waits for the next time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.engine.campaigns import ActionOverride
from core.engine.runs import RunAlreadyActiveError, RunError, start_run
from core.messages import StoredText, stored_for
from core.models import ACTIVE_RUN_STATES, Campaign, Run, RunState
from core.runtime import Runtime
from plugins.processes.models import Delivery

stored = stored_for(__name__)

COMPLETED_RUN_STATES = (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS)


@dataclass(frozen=True)
class StartedRun:
    """The run of an owner: found (``new`` False), started now, or none and why."""

    run_id: int | None
    number: int | None = None
    state: RunState | None = None
    new: bool = False
    waiting: StoredText | None = None
    """Why no run exists yet: another run of the campaign is still active (in the reader's
    language wherever it is shown)."""


def find_run(
    session: Session,
    campaign_id: int,
    since: datetime | None,
    *,
    delivery_id: int | None = None,
    dry_run: bool = False,
    started_by: str | None = None,
) -> Run | None:
    """The newest run of the campaign (of the delivery, started by ``started_by``) created
    at or after ``since`` and not voided; with ``since`` None (an owner that never noted
    when), any."""
    query = select(Run).where(
        Run.campaign_id == campaign_id, Run.dry_run.is_(dry_run), Run.superseded_at.is_(None)
    )
    if since is not None:
        query = query.where(Run.created_at >= since)
    if delivery_id is not None:
        query = query.where(Run.delivery_id == delivery_id)
    if started_by is not None:
        query = query.where(Run.started_by == started_by)
    return session.scalar(query.order_by(Run.id.desc()).limit(1))


def delivery_action(delivery: Delivery) -> ActionOverride | None:
    """The delivery's own action and settings for its runs, if it has them (else the
    campaign's action runs)."""
    if delivery.action is None:
        return None
    return ActionOverride(delivery.action, delivery.action_settings or {})


def _checked_delivery(session: Session, campaign_id: int, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.campaign_id != campaign_id:
        campaign = session.get(Campaign, campaign_id)
        name = campaign.name if campaign else str(campaign_id)
        raise RunError(
            stored(
                "campaign '{campaign}' has no delivery with id {id}",
                campaign=name,
                id=str(delivery_id),
            )
        )
    return delivery


def start_once(
    runtime: Runtime,
    campaign_id: int,
    since: datetime | None,
    started_by: str,
    *,
    delivery_id: int | None = None,
    dry_run: bool = False,
    allow_parallel: bool = False,
    match_started_by: bool = False,
    wait_reason: Callable[[], StoredText | None] | None = None,
    confirmed_by: str | None = None,
    confirmed_up_to: int | None = None,
) -> StartedRun:
    """The owner's run since ``since``, started now if there is none.

    ``match_started_by`` finds only a run started by ``started_by`` (an owner that is not a
    delivery, such as a schedule line, is known by it). ``wait_reason`` is asked before a
    new run starts and may say why it must wait (a limit of runs at once). ``confirmed_by``
    names the person whose confirmation the run goes ahead on, for at most
    ``confirmed_up_to`` recipients (see ``core.engine.runs.start_run``); without it a real run
    waits for one after targeting. A campaign that cannot start raises
    ``core.engine.runs.RunError`` with the reason.
    """
    with runtime.database.session() as session:
        found = find_run(
            session,
            campaign_id,
            since,
            delivery_id=delivery_id,
            dry_run=dry_run,
            started_by=started_by if match_started_by else None,
        )
        if found is not None:
            return StartedRun(found.id, found.number, found.state)
        action = None
        if delivery_id is not None:
            action = delivery_action(_checked_delivery(session, campaign_id, delivery_id))
    reason = wait_reason() if wait_reason is not None else None
    if reason is not None:
        return StartedRun(None, waiting=reason)
    try:
        run = start_run(
            runtime,
            campaign_id,
            started_by=started_by,
            dry_run=dry_run,
            allow_parallel=allow_parallel,
            delivery_id=delivery_id,
            action=action,
            confirmed_by=confirmed_by,
            confirmed_up_to=confirmed_up_to,
        )
    except RunAlreadyActiveError as exc:
        return StartedRun(None, waiting=exc.text)
    return StartedRun(run.id, run.number, run.state, new=True)


def active_runs_started_by(session: Session, prefix: str) -> int:
    """How many runs started by a name beginning with ``prefix`` are at work. One awaiting
    a person's confirmation (a recurring line's, for up to a day) uses no worker and does
    not count."""
    working = [state for state in ACTIVE_RUN_STATES if state is not RunState.AWAITING_CONFIRMATION]
    return session.scalar(
        select(func.count())
        .select_from(Run)
        .where(Run.state.in_(working), Run.started_by.like(f"{prefix}%"))
    )
