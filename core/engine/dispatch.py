"""Chunk jobs: the action for each ledger row, exactly once, and the finishing step.

Actions whose effects live in our database (``external_effects = False``) process a
batch of rows in one transaction: claim, effects and outcomes commit together or not
at all, so a killed worker leaves the rows pending and a retry does them once.
Actions with outside effects claim each row in its own commit before the effect;
a row left claimed by a dead worker is reported as unclear, never repeated.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta

from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from core.engine.campaigns import CampaignConfig, CampaignPlugins, build_plugins
from core.engine.context import RunContext
from core.engine.events import notify
from core.engine.runs import enqueue_chunks, enqueue_finish, open_chunks
from core.events import ItemEvent
from core.jobs import current_runtime, worker_identity
from core.models import Campaign, ItemKind, ItemStatus, Run, RunItem, RunState
from core.plugin_kinds import Outcome, Recipient
from core.queue import BULK, get_queue
from core.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 100
STATE_CHECK_SECONDS = 0.5
run_items = RunItem.__table__
STALE_CLAIM = timedelta(minutes=2)
STALLED_RUN = timedelta(minutes=2)
COUNTER = {
    ItemStatus.DONE: "done",
    ItemStatus.FAILED: "failed",
    ItemStatus.SKIPPED: "skipped",
    ItemStatus.UNCLEAR: "unclear",
}


def process_chunk(run_id: int, chunk: int) -> str:
    """RQ job: run the action for the pending rows of one chunk."""
    runtime = current_runtime()
    with runtime.database.session() as session:
        run = session.get(Run, run_id)
        if run is None or run.state != RunState.RUNNING:
            return f"run {run_id} chunk {chunk}: skipped, run is {run.state if run else 'gone'}"
        built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
        campaign_name = session.get(Campaign, run.campaign_id).name
        item_ids = list(
            session.scalars(
                select(RunItem.id)
                .where(
                    RunItem.run_id == run_id,
                    RunItem.chunk == chunk,
                    RunItem.status == ItemStatus.PENDING,
                )
                .order_by(RunItem.id)
            )
        )
    listeners = bool(runtime.plugins.hook.item_processed.get_hookimpls())
    worker = Dispatcher(runtime, run, campaign_name, built, listeners)
    processed = (
        worker.run_claimed_one_by_one(item_ids)
        if built.action.external_effects
        else worker.run_in_batches(item_ids)
    )
    finish_if_complete(runtime, run_id)
    return f"run {run_id} chunk {chunk}: {processed} processed"


class BatchResult(enum.Enum):
    """Why a batch produced no outcomes."""

    STOPPED = "the run is no longer running"
    ISOLATE = "a recipient failed: repeat with a savepoint each"
    RACED = "another worker claimed some rows: read the batch again"


class Dispatcher:
    """Runs one chunk's rows through the action and records each outcome."""

    def __init__(
        self,
        runtime: Runtime,
        run: Run,
        campaign_name: str,
        built: CampaignPlugins,
        listeners: bool,
    ):
        self.runtime = runtime
        self.run = run
        self.campaign_name = campaign_name
        self.built = built
        self.listeners = listeners
        self.identity = worker_identity()

    def context(self, session: Session) -> RunContext:
        return RunContext(
            runtime=self.runtime,
            session=session,
            campaign_id=self.run.campaign_id,
            campaign_name=self.campaign_name,
            run_id=self.run.id,
            channel=self.built.action.channel,
            entity=self.built.datasource.entity(),
        )

    def still_running(self, session: Session) -> bool:
        return session.scalar(select(Run.state).where(Run.id == self.run.id)) == RunState.RUNNING

    def run_in_batches(self, item_ids: Sequence[int]) -> int:
        processed = 0
        for start in range(0, len(item_ids), BATCH):
            batch = item_ids[start : start + BATCH]
            isolate = False
            while True:
                result = self._batch(batch, isolate)
                if result is BatchResult.ISOLATE:
                    isolate = True
                elif result is not BatchResult.RACED:
                    break
            if result is BatchResult.STOPPED:
                break
            self._announce(result)
            processed += len(result)
        return processed

    def _batch(
        self, batch: Sequence[int], isolate: bool
    ) -> list[tuple[Row, Outcome]] | BatchResult:
        """Process one batch and record it in one transaction, claiming its rows last.

        The action runs first and the rows are claimed just before the outcomes are
        written, so SQLite's single write lock is held for milliseconds, not for the
        whole batch. If another worker claimed some of the rows meanwhile, everything is
        rolled back and the batch is read again (RACED). Without ``isolate`` nothing keeps
        one recipient's effects apart from another's, so the first outcome other than
        done rolls the batch back and asks for a run with a savepoint per recipient.
        """
        with self.runtime.database.sessions() as session, session.begin():
            if not self.still_running(session):
                return BatchResult.STOPPED
            items = self._pending(session, batch)
            context = self.context(session)
            recipients = load_recipients(context, self.built, items)
            outcomes = []
            for item in items:
                savepoint = session.begin_nested() if isolate else None
                outcome = self._outcome(context, item, recipients.get(item.id))
                if outcome.status != ItemStatus.DONE:
                    if savepoint is None:
                        session.rollback()
                        return BatchResult.ISOLATE
                    savepoint.rollback()  # a failed recipient leaves no half-done effect
                elif savepoint is not None:
                    savepoint.commit()
                outcomes.append((item, outcome))
            if not self._claim_and_record(session, outcomes):
                session.rollback()
                return BatchResult.RACED
        return outcomes

    def _pending(self, session: Session, item_ids: Sequence[int]) -> list[Row]:
        return session.execute(
            select(
                run_items.c.id,
                run_items.c.key,
                run_items.c.kind,
                run_items.c.entity_id,
                run_items.c.group_key,
            )
            .where(run_items.c.id.in_(item_ids), run_items.c.status == ItemStatus.PENDING.value)
            .order_by(run_items.c.id)
        ).all()

    def run_claimed_one_by_one(self, item_ids: Sequence[int]) -> int:
        """Claim each row in its own commit, act, then record the outcome in another.

        Recipients are loaded a batch at a time and the run's state is checked at most
        every ``STATE_CHECK_SECONDS``, so a row costs two short commits and the effect.
        """
        processed = 0
        last_check = 0.0
        with self.runtime.database.sessions() as session:
            for start in range(0, len(item_ids), BATCH):
                with session.begin():
                    items = self._pending(session, item_ids[start : start + BATCH])
                    recipients = load_recipients(self.context(session), self.built, items)
                for item in items:
                    with session.begin():
                        if time.monotonic() - last_check > STATE_CHECK_SECONDS:
                            if not self.still_running(session):
                                return processed
                            last_check = time.monotonic()
                        if not self._claim(session, [item.id]):
                            continue
                    with session.begin():
                        context = self.context(session)
                        outcome = self._outcome(context, item, recipients.get(item.id))
                        self._record_claimed(session, item, outcome)
                    self._announce([(item, outcome)])
                    processed += 1
        return processed

    def _claim(self, session: Session, item_ids: Sequence[int]) -> list[Row]:
        """Take the rows that are still pending; rows another worker took are left alone."""
        now = self.runtime.clock.now()
        rows = session.execute(
            run_items.update()
            .where(run_items.c.id.in_(item_ids), run_items.c.status == ItemStatus.PENDING.value)
            .values(status=ItemStatus.CLAIMED.value, claimed_by=self.identity, claimed_at=now)
            .returning(
                run_items.c.id,
                run_items.c.key,
                run_items.c.kind,
                run_items.c.entity_id,
                run_items.c.group_key,
            )
        ).all()
        return sorted(rows, key=lambda row: row.id)

    def _outcome(self, context: RunContext, item: Row, recipient: Recipient | None) -> Outcome:
        if recipient is None:
            return Outcome.skipped("the record no longer exists")
        try:
            outcome = self.built.action.process(recipient, context)
        except Exception as exc:
            log.warning("run %s item %s failed", self.run.id, item.key, exc_info=True)
            return Outcome.failed(f"{type(exc).__name__}: {exc}")
        if not isinstance(outcome, Outcome):
            return Outcome.failed(f"the action returned {outcome!r}, not an Outcome")
        return outcome

    def _claim_and_record(self, session: Session, outcomes: list[tuple[Row, Outcome]]) -> bool:
        """Claim the batch's rows and write their outcomes in one round of updates.

        Each update only touches a row still pending, so the summed row count tells
        whether another worker claimed any of them first; the caller then rolls back.
        """
        if not outcomes:
            return True
        now = self.runtime.clock.now()
        claimed = session.execute(
            run_items.update()
            .where(
                run_items.c.id == bindparam("item_id"),
                run_items.c.status == ItemStatus.PENDING.value,
            )
            .values(
                status=bindparam("new_status"),
                detail=bindparam("new_detail"),
                units=bindparam("new_units"),
                reference=bindparam("new_reference"),
                claimed_by=self.identity,
                claimed_at=now,
                finished_at=now,
            ),
            [
                {
                    "item_id": item.id,
                    "new_status": outcome.status,
                    "new_detail": outcome.detail or None,
                    "new_units": outcome.units,
                    "new_reference": outcome.reference,
                }
                for item, outcome in outcomes
            ],
        ).rowcount
        if claimed != len(outcomes):
            return False
        increments: dict[str, int] = {}
        for item, outcome in outcomes:
            self._settle_members(session, item, outcome)
            counter = COUNTER[ItemStatus(outcome.status)]
            increments[counter] = increments.get(counter, 0) + 1
        self._count(session, increments)
        return True

    def _settle_members(self, session: Session, item: Row, outcome: Outcome) -> None:
        """The members of a group share the outcome of their group."""
        if item.kind != ItemKind.GROUP:
            return
        session.execute(
            run_items.update()
            .where(
                run_items.c.run_id == self.run.id,
                run_items.c.kind == ItemKind.MEMBER.value,
                run_items.c.group_key == item.group_key,
                run_items.c.status == ItemStatus.PENDING.value,
            )
            .values(status=outcome.status, finished_at=self.runtime.clock.now())
        )

    def _record_claimed(self, session: Session, item: Row, outcome: Outcome) -> None:
        """Record the outcome of a row claimed in its own commit, if it is still ours.

        Recovery may have reported the row unclear meanwhile (the effect took longer than
        ``STALE_CLAIM``); the worker then knows better, so its outcome replaces that report.
        """
        values = {
            "status": outcome.status,
            "detail": outcome.detail or None,
            "units": outcome.units,
            "reference": outcome.reference,
            "finished_at": self.runtime.clock.now(),
        }
        self._settle_members(session, item, outcome)
        mine = (run_items.c.id == item.id, run_items.c.claimed_by == self.identity)
        if session.execute(
            run_items.update()
            .where(*mine, run_items.c.status == ItemStatus.CLAIMED.value)
            .values(**values)
        ).rowcount:
            self._count(session, {COUNTER[ItemStatus(outcome.status)]: 1})
        elif session.execute(
            run_items.update()
            .where(*mine, run_items.c.status == ItemStatus.UNCLEAR.value)
            .values(**values)
        ).rowcount:
            self._count(session, {COUNTER[ItemStatus(outcome.status)]: 1, "unclear": -1})
        else:
            log.warning(
                "run %s: %s was taken from this worker; outcome %s not recorded",
                self.run.id,
                item.key,
                outcome.status,
            )

    def _count(self, session: Session, increments: dict[str, int]) -> None:
        session.execute(
            update(Run)
            .where(Run.id == self.run.id)
            .values(
                heartbeat_at=self.runtime.clock.now(),
                **{column: getattr(Run, column) + count for column, count in increments.items()},
            )
        )

    def _announce(self, outcomes: list[tuple[Row, Outcome]]) -> None:
        if not self.listeners:
            return
        from core.engine.events import run_event

        event = run_event(self.run, self.campaign_name)
        for item, outcome in outcomes:
            try:
                self.runtime.plugins.hook.item_processed(
                    run=event, item=ItemEvent(item.key, outcome.status, outcome.detail)
                )
            except Exception:
                log.exception("an item_processed listener failed")


def load_recipients(
    context: RunContext, built: CampaignPlugins, items: Sequence[Row | RunItem]
) -> dict[int, Recipient]:
    """The recipient of each ledger row, loaded in one go; groups become group recipients."""
    wanted = [item.entity_id for item in items if item.kind != ItemKind.GROUP]
    loaded = built.datasource.load(context, wanted) if wanted else {}
    result = {}
    for item in items:
        if item.kind == ItemKind.GROUP:
            result[item.id] = Recipient(
                item.key, "group", None, {"group": item.group_key}, group=item.group_key
            )
        elif item.entity_id in loaded:
            result[item.id] = loaded[item.entity_id]
    return result


def group_member_pages(
    context: RunContext, group_key: str | None, size: int = BATCH
) -> Iterator[list[int]]:
    """The entity ids of one group's members in ledger order, ``size`` at a time, streamed
    from one query so memory stays flat however large the group; held-out members are left
    out."""
    rows = context.session.execute(
        select(RunItem.entity_id)
        .where(
            RunItem.run_id == context.run_id,
            RunItem.kind == ItemKind.MEMBER,
            RunItem.group_key == group_key,
            RunItem.status != ItemStatus.HELD_OUT,
        )
        .order_by(RunItem.id)
        .execution_options(yield_per=size)
    )
    for batch in rows.partitions():
        yield [row.entity_id for row in batch]


def iter_group_members(context: RunContext, group_key: str | None) -> Iterator[Recipient]:
    """Members of one group of the current run, loaded in batches."""
    built = build_plugins(
        context.runtime.plugins,
        CampaignConfig.from_snapshot(context.session.get(Run, context.run_id).config),
    )
    for batch in group_member_pages(context, group_key):
        loaded = built.datasource.load(context, batch)
        for entity_id in batch:
            if entity_id in loaded:
                yield loaded[entity_id]


def keep_claimed(runtime: Runtime, run_id: int, key: str) -> None:
    """Renew this worker's claim on a row, so that recovery does not take a long outside
    effect (a large upload) for the claim of a worker that died."""
    with runtime.database.session() as session:
        session.execute(
            update(RunItem)
            .where(
                RunItem.run_id == run_id,
                RunItem.key == key,
                RunItem.status == ItemStatus.CLAIMED,
                RunItem.claimed_by == worker_identity(),
            )
            .values(claimed_at=runtime.clock.now())
        )


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
        moved = session.execute(
            update(Run)
            .where(Run.id == run_id, Run.state == RunState.RUNNING)
            .values(state=RunState.FINISHING, heartbeat_at=runtime.clock.now())
        ).rowcount
    if moved:
        enqueue_finish(runtime, run_id)
    return bool(moved)


def finish_run(run_id: int) -> str:
    """RQ job: the action's finishing step, then the final state."""
    runtime = current_runtime()
    with runtime.database.session() as session:
        run = session.get(Run, run_id)
        if run is None or run.state != RunState.FINISHING:
            return f"run {run_id}: not finishing"
        built = build_plugins(runtime.plugins, CampaignConfig.from_snapshot(run.config))
        campaign_name = session.get(Campaign, run.campaign_id).name
    error = None
    if not run.dry_run:
        try:
            with runtime.database.session() as session:
                context = Dispatcher(runtime, run, campaign_name, built, False).context(session)
                built.action.finish(context)
        except Exception as exc:
            log.exception("finishing run %s failed", run_id)
            error = f"finishing step failed: {type(exc).__name__}: {exc}"
    with runtime.database.session() as session:
        run = session.get(Run, run_id)
        if error:
            run.state, run.error = RunState.FAILED, error
        elif run.failed or run.unclear:
            run.state = RunState.COMPLETED_WITH_ERRORS
        else:
            run.state = RunState.COMPLETED
        run.finished_at = runtime.clock.now()
        state = run.state
    notify(runtime, run_id, "run_finished")
    return f"run {run_id}: {state}"


def recover_runs(runtime: Runtime) -> list[str]:
    """Scheduler duty: settle rows of dead workers and restart stalled runs.

    A row claimed longer ago than ``STALE_CLAIM`` belonged to a worker that died between
    claim and outcome: its effect may or may not have happened, so it becomes unclear.
    A running run whose heartbeat is older than ``STALLED_RUN`` and that has no job
    waiting, scheduled for retry or held by a live worker gets its open chunks enqueued
    again; the ledger would make a duplicate job harmless, but a busy queue stays lean.
    """
    now = runtime.clock.now()
    actions = []
    outstanding = _runs_with_outstanding_jobs(runtime)
    with runtime.database.session() as session:
        running = session.scalars(select(Run).where(Run.state == RunState.RUNNING)).all()
        for run in running:
            stale = session.execute(
                update(RunItem)
                .where(
                    RunItem.run_id == run.id,
                    RunItem.status == ItemStatus.CLAIMED,
                    RunItem.claimed_at < now - STALE_CLAIM,
                )
                .values(
                    status=ItemStatus.UNCLEAR,
                    finished_at=now,
                    detail="the worker stopped after claiming this row; "
                    "whether the action happened is unknown",
                )
            ).rowcount
            if stale:
                run.unclear += stale
                actions.append(f"run {run.id}: {stale} rows unclear")
    for run in running:
        if finish_if_complete(runtime, run.id):
            actions.append(f"run {run.id}: finishing")
            continue
        heartbeat = run.heartbeat_at or run.targeted_at
        stalled = heartbeat is not None and heartbeat < now - STALLED_RUN
        if stalled and run.id not in outstanding:
            with runtime.database.session() as session:
                chunks = open_chunks(session, run.id)
                session.execute(update(Run).where(Run.id == run.id).values(heartbeat_at=now))
            enqueue_chunks(runtime, run.id, chunks)
            actions.append(f"run {run.id}: {len(chunks)} chunks enqueued again")
    return actions


def _runs_with_outstanding_jobs(runtime: Runtime) -> set[int]:
    """Runs with a job queued, waiting for a retry, or started by a worker that still lives."""
    queue = get_queue(runtime.redis, BULK)
    started = StartedJobRegistry(queue=queue)
    alive = set(started.get_job_ids(cleanup=False)) - set(
        started.get_expired_job_ids(runtime.clock.now().timestamp())
    )
    job_ids = (
        set(queue.get_job_ids())
        | set(ScheduledJobRegistry(queue=queue).get_job_ids(cleanup=False))
        | alive
    )
    return {int(job_id.split("-")[1]) for job_id in job_ids if job_id.startswith("run-")}
