"""Starting, confirming, cancelling, resuming and retrying runs; the work happens in jobs.

Nothing reaches people unless a person confirmed the count in front of them: a real run
stops after targeting in ``awaiting_confirmation`` (``core.engine.confirmation`` shows what
it would do) and sends only after ``confirm_run``. Dry runs reach nobody and need no
confirmation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.engine.campaigns import ActionOverride, CampaignConfig, CampaignError, build_plugins
from core.engine.confirmation import confirmation_summary
from core.engine.events import notify
from core.engine.leases import FINISHING_STEP, TARGETING_STEP, chunk_job_id, record_attempts
from core.jobs.queue import BULK, get_queue
from core.ledger import status_counts
from core.messages import ExplainedError, StoredText, stored
from core.models import (
    ACTIVE_RUN_STATES,
    Campaign,
    CampaignStatus,
    ItemKind,
    ItemStatus,
    Run,
    RunItem,
    RunState,
)
from core.models.campaigns import CLOSED_CAMPAIGN_STATES
from core.notifications import settle_confirmation_requests
from core.runtime import Runtime

log = logging.getLogger(__name__)

JOB_TIMEOUT_SECONDS = 3600
STEP_JOBS = {
    TARGETING_STEP: ("core.engine.targeting.target_run", 4 * JOB_TIMEOUT_SECONDS),
    FINISHING_STEP: ("core.engine.dispatch.finish_run", JOB_TIMEOUT_SECONDS),
}
CONFIRMATION_TIMEOUT = timedelta(hours=24)
"""An analysis nobody confirmed for this long is too old to send on: recovery discards it."""

RUN_STATE_NAMES = {
    RunState.QUEUED: stored("queued"),
    RunState.TARGETING: stored("targeting"),
    RunState.AWAITING_CONFIRMATION: stored("awaiting confirmation"),
    RunState.RUNNING: stored("running"),
    RunState.FINISHING: stored("finishing"),
    RunState.COMPLETED: stored("completed"),
    RunState.COMPLETED_WITH_ERRORS: stored("completed with errors"),
    RunState.FAILED: stored("failed"),
    RunState.CANCELLED: stored("cancelled"),
}
CAMPAIGN_STATUS_NAMES = {
    CampaignStatus.EDITING: stored("being edited"),
    CampaignStatus.TO_VALIDATE: stored("to validate"),
    CampaignStatus.IN_PROGRESS: stored("in progress"),
    CampaignStatus.FINISHED: stored("finished"),
    CampaignStatus.CANCELLED: stored("cancelled"),
}
Refusal = Callable[..., StoredText]
"""One text per refused change, so that each language words it its own way."""


class RunError(ExplainedError):
    """A run cannot be started or changed as asked; says why (``text`` for the panel)."""


class RunAlreadyActiveError(RunError):
    """The campaign already has a run in progress."""


class CampaignClosedError(RunError):
    """The campaign is finished or cancelled: it starts again only after being reopened."""


class QueueDeferredError(RuntimeError):
    """The change was saved but Redis refused its jobs; the scheduler's tick enqueues them
    (``core.engine.leases``) as soon as Redis answers."""


class ConfirmationCountError(RunError):
    """The count confirmed is not the count the run would reach."""


def check_campaign_open(campaign: Campaign) -> None:
    """Refuse a real run of a finished or cancelled campaign (dry runs send nothing)."""
    if campaign.status in CLOSED_CAMPAIGN_STATES:
        raise CampaignClosedError(
            stored(
                "campaign '{campaign}' is {status}; reopen it before starting a run",
                campaign=campaign.name,
                status=CAMPAIGN_STATUS_NAMES[campaign.status],
            )
        )


def enqueue_chunks(runtime: Runtime, run_id: int, chunks: Iterable[int]) -> int:
    """Record a new attempt of each chunk, then enqueue their jobs in one round trip."""
    with runtime.database.session() as session:
        attempts = record_attempts(session, run_id, chunks, runtime.clock.now())
    return enqueue_attempts(runtime, [(run_id, chunk, n) for chunk, n in attempts.items()])


def enqueue_attempts(runtime: Runtime, attempts: Iterable[tuple[int, int, int]]) -> int:
    """One job per recorded (run, chunk or step, attempt); its id names the attempt. Without
    RQ retries: a part whose job dies is enqueued again through its lease."""
    queue = get_queue(runtime.redis, BULK)
    jobs = []
    for run_id, chunk, attempt in attempts:
        function, timeout = STEP_JOBS.get(
            chunk, ("core.engine.dispatch.process_chunk", JOB_TIMEOUT_SECONDS)
        )
        args = (run_id, attempt) if chunk in STEP_JOBS else (run_id, chunk, attempt)
        job_id = chunk_job_id(run_id, chunk, attempt)
        jobs.append(queue.prepare_data(function, args=args, job_id=job_id, timeout=timeout))
    if jobs:
        queue.enqueue_many(jobs)
    return len(jobs)


def _enqueue_recorded(runtime: Runtime, run_id: int, attempts: dict[int, int]) -> None:
    """Enqueue attempts recorded with a state change, or finish the run if there are none;
    if Redis refuses, the change stands and the leases' recovery enqueues them later."""
    if not attempts:
        finish_if_complete(runtime, run_id)
        return
    try:
        enqueue_attempts(runtime, [(run_id, chunk, n) for chunk, n in attempts.items()])
    except RedisError as exc:
        raise QueueDeferredError(str(exc)) from exc


def _check_no_active_run(session: Session, run: Run) -> None:
    if run.exclusive and _active_run(session, run.campaign_id) is not None:
        raise RunAlreadyActiveError(stored("another run of this campaign is in progress"))


def _active_run(session: Session, campaign_id: int) -> Run | None:
    return session.scalar(
        select(Run).where(
            Run.campaign_id == campaign_id, Run.exclusive, Run.state.in_(ACTIVE_RUN_STATES)
        )
    )


def start_run(
    runtime: Runtime,
    campaign_id: int,
    started_by: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    allow_parallel: bool = False,
    preview_count: int = 5,
    delivery_id: int | None = None,
    action: ActionOverride | None = None,
    confirmed_by: str | None = None,
    confirmed_up_to: int | None = None,
) -> Run:
    """Create a queued run with a snapshot of the campaign and hand it to a worker.

    ``confirmed_by`` starts and confirms at once: only for a caller whose person confirmed
    already (a delivery confirmed ahead of its planned start), tests and benchmarks; the
    panel and the command line never pass it. ``confirmed_up_to`` is the count that person
    had in front of them: a run that would reach more waits for a new confirmation after
    targeting. ``delivery_id`` names the process bundle's delivery the run performs (opaque
    to the engine); ``action`` replaces the campaign's.
    """
    if dry_run:
        confirmed_by = None
    confirmed = confirmed_by is not None and confirmed_up_to is not None
    ceiling = {"confirmed_up_to": confirmed_up_to} if confirmed else {}
    if limit is not None and limit < 1:
        raise RunError(stored("limit: must be at least 1"))
    for _attempt in range(3):
        try:
            with runtime.database.session() as session:
                campaign = session.get(Campaign, campaign_id)
                if campaign is None:
                    raise RunError(stored("no campaign with id {id}", id=str(campaign_id)))
                if not dry_run:
                    check_campaign_open(campaign)
                config = CampaignConfig.of(campaign, action)
                try:
                    build_plugins(runtime.plugins, config)
                except CampaignError as exc:
                    raise RunError(
                        stored(
                            "campaign '{campaign}' cannot start: {problem}",
                            campaign=campaign.name,
                            problem=exc.text,
                        )
                    ) from None
                last = select(func.max(Run.number)).where(Run.campaign_id == campaign_id)
                now = runtime.clock.now()
                run = Run(
                    campaign_id=campaign_id,
                    delivery_id=delivery_id,
                    number=(session.scalar(last) or 0) + 1,
                    state=RunState.QUEUED,
                    exclusive=not allow_parallel,
                    dry_run=dry_run,
                    limit=limit,
                    config=config.snapshot() | {"preview_count": preview_count} | ceiling,
                    started_by=started_by,
                    confirmed_by=confirmed_by,
                    confirmed_at=now if confirmed_by else None,
                    created_at=now,
                )
                session.add(run)
                session.flush()
                targeting = record_attempts(session, run.id, [TARGETING_STEP], now)
            break
        except IntegrityError:
            with runtime.database.session() as session:
                active = _active_run(session, campaign_id)
                if active is not None:
                    raise RunAlreadyActiveError(
                        stored(
                            "run #{number} of this campaign is still {state}; wait for it, "
                            "cancel it, or start with allow_parallel",
                            number=str(active.number),
                            state=RUN_STATE_NAMES[active.state],
                        )
                    ) from None
    else:
        raise RunError(stored("could not allocate a run number; try again"))
    try:
        enqueue_attempts(runtime, [(run.id, TARGETING_STEP, targeting[TARGETING_STEP])])
    except RedisError:
        with runtime.database.session() as session:  # the person sees it failed: undone
            session.execute(delete(Run).where(Run.id == run.id))
        raise
    return run


def _move(
    session: Session, run_id: int, states: Iterable[RunState], refusal: Refusal, **values
) -> None:
    """Change the run's state only from one of ``states``: of two changes at the same moment
    the conditional update lets exactly one through."""
    changed = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state.in_(states))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise RunError(_cannot(session, run_id, refusal))


def confirm_run(runtime: Runtime, run_id: int, confirmed_by: str, expected_count: int) -> Run:
    """A person's go for a run awaiting confirmation: dispatch exactly the ledger rows that
    were counted, no new targeting, so the count shown is the count sent; refused if the
    run is no longer awaiting or ``expected_count`` is not the count it would reach."""
    if not confirmed_by:
        raise RunError(stored("a confirmation needs the name of the person who gave it"))
    now = runtime.clock.now()
    with runtime.database.session() as session:
        # the conditional update comes first: it takes the write lock before anything is read
        _move(
            session,
            run_id,
            [RunState.AWAITING_CONFIRMATION],
            lambda **run: stored("run #{number} is {state} and cannot be confirmed", **run),
            state=RunState.RUNNING,
            confirmed_by=confirmed_by,
            confirmed_at=now,
            heartbeat_at=now,
        )
        settle_confirmation_requests(session, run_id, now)
        reached = confirmation_summary(session, run_id).reached
        if reached != expected_count:  # raising rolls the update back
            raise ConfirmationCountError(
                stored(
                    "run #{number} would reach {reached} recipients, not the {confirmed} "
                    "confirmed; look at the numbers again",
                    number=str(session.scalar(select(Run.number).where(Run.id == run_id))),
                    reached=reached,
                    confirmed=expected_count,
                )
            )
        attempts = record_attempts(session, run_id, open_chunks(session, run_id), now)
    notify(runtime, run_id, "run_started")
    _enqueue_recorded(runtime, run_id, attempts)
    with runtime.database.session() as session:
        return session.get(Run, run_id)


def discard_run(runtime: Runtime, run_id: int, reason: str | None = None) -> None:
    """Drop a run awaiting confirmation: it ends cancelled with nothing sent. Refused once
    it was confirmed (a discard never stops a run someone else let go)."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        _move(
            session,
            run_id,
            [RunState.AWAITING_CONFIRMATION],
            lambda **run: stored("run #{number} is {state} and cannot be discarded", **run),
            state=RunState.CANCELLED,
            finished_at=now,
            error=reason,
        )
        settle_confirmation_requests(session, run_id, now)
    notify(runtime, run_id, "run_finished")


def discard_unconfirmed(runtime: Runtime) -> list[str]:
    """Scheduler duty: discard the analyses nobody confirmed within ``CONFIRMATION_TIMEOUT``."""
    limit = runtime.clock.now() - CONFIRMATION_TIMEOUT
    with runtime.database.session() as session:
        expired = session.execute(
            select(Run.id, Run.number).where(
                Run.state == RunState.AWAITING_CONFIRMATION, Run.targeted_at < limit
            )
        ).all()
    discarded = []
    hours = int(CONFIRMATION_TIMEOUT.total_seconds() // 3600)
    for run_id, number in expired:
        try:
            discard_run(runtime, run_id, f"not confirmed within {hours} hours; nothing was sent")
        except RunError:
            continue  # confirmed or discarded meanwhile
        discarded.append(f"run {run_id}: #{number} not confirmed in time, discarded")
    return discarded


def cancel_run(runtime: Runtime, run_id: int) -> None:
    """Stop a run between recipients; what is done stays done, the rest stays pending."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        _move(
            session,
            run_id,
            [RunState.QUEUED, RunState.TARGETING, RunState.AWAITING_CONFIRMATION, RunState.RUNNING],
            lambda **run: stored("run #{number} is {state} and cannot be cancelled", **run),
            state=RunState.CANCELLED,
            finished_at=now,
        )
        settle_confirmation_requests(session, run_id, now)
    notify(runtime, run_id, "run_finished")


def resume_run(runtime: Runtime, run_id: int) -> None:
    """Continue a cancelled run where it stopped (targeting again if it never finished)."""
    with runtime.database.session() as session:
        run = _run_in(
            session,
            run_id,
            [RunState.CANCELLED],
            lambda **run: stored("run #{number} is {state} and cannot be resumed", **run),
        )
        if not run.dry_run:
            check_campaign_open(run.campaign)
        _check_no_active_run(session, run)
        retarget = run.targeted_at is None
        if not retarget and not run.dry_run and run.confirmed_by is None:
            raise RunError(
                stored(
                    "run #{number} was never confirmed and cannot be resumed; start a new run",
                    number=str(run.number),
                )
            )
        if retarget:
            session.execute(delete(RunItem).where(RunItem.run_id == run_id))
        cancelled_at = run.finished_at
        run.state = RunState.QUEUED if retarget else RunState.RUNNING
        run.finished_at = None
        chunks = [TARGETING_STEP] if retarget else open_chunks(session, run_id)
        attempts = record_attempts(session, run_id, chunks, runtime.clock.now())
    if not retarget:
        _enqueue_recorded(runtime, run_id, attempts)
        return
    try:
        enqueue_attempts(runtime, [(run_id, TARGETING_STEP, attempts[TARGETING_STEP])])
    except RedisError:
        with runtime.database.session() as session:  # still cancelled, as before
            session.execute(
                update(Run)
                .where(Run.id == run_id, Run.state == RunState.QUEUED)
                .values(state=RunState.CANCELLED, finished_at=cancelled_at)
            )
        raise


def retry_failed(runtime: Runtime, run_id: int, include_unclear: bool = False) -> int:
    """Put the failed rows (and, if asked, the unclear ones) back to work; return how many."""
    statuses = [ItemStatus.FAILED] + ([ItemStatus.UNCLEAR] if include_unclear else [])
    with runtime.database.session() as session:
        run = _run_in(
            session,
            run_id,
            [RunState.COMPLETED_WITH_ERRORS, RunState.COMPLETED, RunState.CANCELLED],
            lambda **run: stored("run #{number} is {state} and cannot be retried", **run),
        )
        if run.dry_run:
            raise RunError(stored("a dry run has nothing to retry"))
        check_campaign_open(run.campaign)
        _check_no_active_run(session, run)
        counts = status_counts(session, run_id)  # members share their group's outcome
        failed = counts.get(ItemStatus.FAILED.value, 0)
        unclear = counts.get(ItemStatus.UNCLEAR.value, 0) if include_unclear else 0
        if not failed + unclear:
            return 0
        session.execute(
            update(RunItem)
            .where(RunItem.run_id == run_id, RunItem.status.in_(statuses))
            .values(
                status=ItemStatus.PENDING,
                detail=None,
                claimed_by=None,
                claimed_at=None,
                attempts=RunItem.attempts + 1,
            )
        )
        run.failed -= failed
        run.unclear -= unclear
        run.state = RunState.RUNNING
        run.finished_at = None
        now = runtime.clock.now()
        attempts = record_attempts(session, run_id, open_chunks(session, run_id), now)
    _enqueue_recorded(runtime, run_id, attempts)
    return failed + unclear


def finish_if_complete(runtime: Runtime, run_id: int) -> bool:
    """Hand the run to the finishing step once no row is pending or claimed (only once)."""
    with runtime.database.session() as session:
        open_row = session.scalar(
            select(RunItem.id)
            .where(
                RunItem.run_id == run_id,
                RunItem.status.in_([ItemStatus.PENDING, ItemStatus.CLAIMED]),
                RunItem.kind != ItemKind.MEMBER,
            )
            .limit(1)
        )
        if open_row is not None:
            return False
        now = runtime.clock.now()
        moved = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.state == RunState.RUNNING)
            .values(state=RunState.FINISHING, heartbeat_at=now)
        ).rowcount
        # recorded with the state change: if the enqueue fails, the lease's recovery does it
        attempts = record_attempts(session, run_id, [FINISHING_STEP] if moved else [], now)
    if moved:
        try:
            enqueue_attempts(runtime, [(run_id, FINISHING_STEP, attempts[FINISHING_STEP])])
        except RedisError as exc:
            log.warning("run %s: finishing step not enqueued (%s); recovery will", run_id, exc)
    return bool(moved)


def open_chunks(session: Session, run_id: int) -> list[int]:
    """The chunks that still have pending rows."""
    return list(
        session.scalars(
            select(RunItem.chunk)
            .where(
                RunItem.run_id == run_id,
                RunItem.status == ItemStatus.PENDING,
                RunItem.chunk.is_not(None),
            )
            .distinct()
            .order_by(RunItem.chunk)
        )
    )


def _run_in(session: Session, run_id: int, states: list[RunState], refusal: Refusal) -> Run:
    """The run, if it is in one of ``states`` and not voided; otherwise ``RunError``: with
    ``refusal``, or saying that a voided run (out of the books, its letters out of the
    archive) never goes on."""
    run = session.get(Run, run_id)
    if run is None or run.state not in states:
        raise RunError(_cannot(session, run_id, refusal))
    if run.superseded_at is not None:
        raise RunError(
            stored(
                "run #{number} was voided and cannot go on; start a new run", number=str(run.number)
            )
        )
    return run


def _cannot(session: Session, run_id: int, refusal: Refusal) -> StoredText:
    """Why the run cannot be changed: ``refusal`` of its number and state, or that there is
    no such run."""
    run = session.get(Run, run_id)
    if run is None:
        return stored("no run with id {id}", id=str(run_id))
    return refusal(number=str(run.number), state=RUN_STATE_NAMES[run.state])
