"""Leases: the one owner of "this part of a run is abandoned, enqueue it again".

A run's parts are its chunks and its two steps, targeting and finishing (recorded under the
negative chunk numbers ``TARGETING_STEP`` and ``FINISHING_STEP``). Every enqueue of a part
records an attempt in ``chunk_leases``; the job's id names the attempt, so one attempt is
one job. The work horse running the job takes the chunk's
lease and renews it every ``RENEW_SECONDS`` from a thread while it works. When it ends it
hands the lease back: deleted once the chunk is through (or its run stopped), expired at
once when it stopped early (shutdown). A chunk is abandoned when

- its lease expired: the holder died, was killed or lost its database, or
- nobody took it and its job is neither waiting in the queue nor just started: Redis
  lost the queue, or the enqueue itself failed.

The scheduler's tick (:func:`recover_abandoned`) reports the rows such a chunk had claimed
as unclear at once (its holder cannot record them any more) and enqueues the chunk's
pending rows as the next attempt; an abandoned step is enqueued again while the run is
still in it. The attempt is bumped with a conditional update, so two ticks or two
schedulers enqueue it once, and a holder that was only slow loses its lease and stops
(:meth:`HeldLease.still_ours`). RQ's own retries are not used: without a process running
RQ's scheduler, a retried job would wait in RQ's scheduled registry for good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from rq.utils import str_to_date
from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from core.jobs.functions import stop_requested, worker_identity
from core.jobs.heartbeat import beating
from core.jobs.queue import BULK, get_queue
from core.models import ChunkLease, ItemStatus, Run, RunItem, RunState
from core.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
"""A lease not renewed for this long belonged to a work horse that stopped."""
RENEW_SECONDS = 10.0
QUEUE_GRACE = LEASE
"""How long a new job may take to show up in Redis and to be taken by a work horse."""

TARGETING_STEP = -1
FINISHING_STEP = -2
STEP_STATES = {
    TARGETING_STEP: (RunState.QUEUED, RunState.TARGETING),
    FINISHING_STEP: (RunState.FINISHING,),
}
"""The run states in which a step's lease still speaks for work to do."""
STEP_NAMES = {TARGETING_STEP: "targeting", FINISHING_STEP: "finishing"}


def chunk_job_id(run_id: int, chunk: int, attempt: int) -> str:
    """The job id of one attempt of a chunk or step."""
    if chunk in STEP_NAMES:
        return f"run-{run_id}-{STEP_NAMES[chunk]}-{attempt}"
    return f"run-{run_id}-chunk-{chunk}-{attempt}"


def part_name(chunk: int) -> str:
    return STEP_NAMES.get(chunk, f"chunk {chunk}")


def record_attempts(session: Session, run_id: int, chunks: Iterable[int], now) -> dict[int, int]:
    """Record a new, untaken attempt for each chunk; return chunk -> attempt number."""
    chunks = list(chunks)
    if not chunks:
        return {}
    known = dict(
        session.execute(
            select(ChunkLease.chunk, ChunkLease.attempt).where(ChunkLease.run_id == run_id)
        ).all()
    )
    attempts = {chunk: known.get(chunk, 0) + 1 for chunk in chunks}
    rows = [
        {
            "run_id": run_id,
            "chunk": chunk,
            "attempt": attempt,
            "enqueued_at": now,
            "holder": None,
            "expires_at": None,
        }
        for chunk, attempt in attempts.items()
    ]
    fresh = [row for row in rows if row["chunk"] not in known]
    again = [row for row in rows if row["chunk"] in known]
    if fresh:
        session.execute(insert(ChunkLease), fresh)
    if again:
        session.execute(update(ChunkLease), again)  # by primary key
    return attempts


@dataclass
class HeldLease:
    """A work horse's lease on one chunk; ``should_stop`` is asked between recipients."""

    runtime: Runtime
    run_id: int
    chunk: int
    attempt: int | None
    lost: threading.Event = field(default_factory=threading.Event)

    def should_stop(self) -> bool:
        return self.lost.is_set() or stop_requested()

    def renew(self) -> None:
        with self.runtime.database.session() as session:
            renewed = self._extend(session)
        if not renewed:
            log.warning("run %s chunk %s: lease lost; stopping", self.run_id, self.chunk)
            self.lost.set()

    def still_ours(self, session: Session) -> bool:
        """Renew the lease inside the caller's transaction: a step commits its result only
        while nobody enqueued it again, and recovery's conditional bump cannot take a lease
        renewed in a transaction that commits."""
        return self.attempt is None or self._extend(session)

    def _extend(self, session: Session) -> bool:
        """Push this holder's lease ``LEASE`` ahead; False if it is not ours any more."""
        return bool(
            session.execute(
                update(ChunkLease)
                .where(*self._ours())
                .values(expires_at=self.runtime.clock.now() + LEASE)
                .execution_options(synchronize_session=False)
            ).rowcount
        )

    def replaced(self) -> bool:
        """Whether a later attempt took the part over; asked after a failure, which may be
        that attempt's doing (a write conflict, a lock)."""
        if self.attempt is None:
            return False
        self.renew()
        return self.lost.is_set()

    def hand_back(self, through: bool) -> None:
        """Delete the lease once the chunk is through; else expire it for the next tick."""
        with self.runtime.database.session() as session:
            if through:
                statement = delete(ChunkLease).where(*self._ours())
            else:
                statement = (
                    update(ChunkLease)
                    .where(*self._ours())
                    .values(expires_at=self.runtime.clock.now())
                )
            session.execute(statement.execution_options(synchronize_session=False))

    def _ours(self) -> tuple:
        return (
            ChunkLease.run_id == self.run_id,
            ChunkLease.chunk == self.chunk,
            ChunkLease.holder == worker_identity(),
        )


@contextmanager
def held(
    runtime: Runtime, run_id: int, chunk: int, attempt: int | None
) -> Iterator[HeldLease | None]:
    """Take the lease of ``attempt`` and renew it while the block runs; None if a later
    attempt replaced this job. A job enqueued before leases existed (``attempt`` None)
    runs without one. An exception leaves the lease to expire, so the chunk is enqueued
    again once it has."""
    lease = HeldLease(runtime, run_id, chunk, attempt)
    if attempt is None:
        yield lease
        return
    now = runtime.clock.now()
    with runtime.database.session() as session:
        taken = session.execute(
            update(ChunkLease)
            .where(
                ChunkLease.run_id == run_id,
                ChunkLease.chunk == chunk,
                ChunkLease.attempt == attempt,
                or_(ChunkLease.expires_at.is_(None), ChunkLease.expires_at < now),
            )
            .values(holder=worker_identity(), expires_at=now + LEASE)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not taken:
        yield None
        return
    with beating(lease.renew, RENEW_SECONDS):
        yield lease
    lease.hand_back(through=not lease.should_stop())


def _abandoned(now):
    return or_(
        ChunkLease.expires_at < now,
        and_(ChunkLease.expires_at.is_(None), ChunkLease.enqueued_at < now - QUEUE_GRACE),
    )


def _still_due():
    """The part's run is still in the state the part works in."""
    return or_(
        and_(ChunkLease.chunk >= 0, Run.state == RunState.RUNNING),
        *(
            and_(ChunkLease.chunk == step, Run.state.in_(states))
            for step, states in STEP_STATES.items()
        ),
    )


def recover_abandoned(runtime: Runtime) -> tuple[list[tuple[int, int, int]], list[str]]:
    """Settle abandoned chunks and steps of active runs; return the (run, chunk, attempt)
    to enqueue and what was done."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        candidates = session.execute(
            select(ChunkLease.run_id, ChunkLease.chunk, ChunkLease.attempt, ChunkLease.holder)
            .join(Run, Run.id == ChunkLease.run_id)
            .where(_still_due(), _abandoned(now))
        ).all()
    unheld = [chunk_job_id(r.run_id, r.chunk, r.attempt) for r in candidates if r.holder is None]
    waiting = _waiting_jobs(runtime, unheld, now)
    if waiting is None:  # Redis does not answer: nothing can be enqueued anyway
        return [], []
    enqueue, actions = [], []
    for run_id, chunk, attempt, holder in candidates:
        if holder is None and chunk_job_id(run_id, chunk, attempt) in waiting:
            continue
        with runtime.database.session() as session:
            if chunk >= 0:
                unclear = _report_claims_unclear(session, run_id, chunk, now)
                if unclear:
                    actions.append(f"run {run_id} chunk {chunk}: {unclear} rows unclear")
            lease = (ChunkLease.run_id == run_id, ChunkLease.chunk == chunk)
            if chunk < 0 or _has_pending(session, run_id, chunk):
                # The conditions hold again when the row is written: a lease renewed
                # meanwhile (a slow holder, still alive) is left alone.
                bumped = session.execute(
                    update(ChunkLease)
                    .where(*lease, ChunkLease.attempt == attempt, _abandoned(now))
                    .values(attempt=attempt + 1, enqueued_at=now, holder=None, expires_at=None)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if bumped:
                    enqueue.append((run_id, chunk, attempt + 1))
                    actions.append(f"run {run_id} {part_name(chunk)}: enqueued again")
            else:
                session.execute(
                    delete(ChunkLease)
                    .where(*lease, ChunkLease.attempt == attempt)
                    .execution_options(synchronize_session=False)
                )
    return enqueue, actions


def runs_without_leases(session: Session) -> list[Run]:
    """Running runs no lease speaks for (targeting died before enqueueing, or the run
    predates leases): the caller enqueues their open chunks once they look stalled."""
    return list(
        session.scalars(
            select(Run).where(
                Run.state == RunState.RUNNING,
                ~exists().where(ChunkLease.run_id == Run.id),
            )
        )
    )


def _report_claims_unclear(session: Session, run_id: int, chunk: int, now) -> int:
    """Rows the chunk's last holder claimed and never settled: the effect may have happened."""
    count = session.execute(
        update(RunItem)
        .where(
            RunItem.run_id == run_id,
            RunItem.chunk == chunk,
            RunItem.status == ItemStatus.CLAIMED,
        )
        .values(
            status=ItemStatus.UNCLEAR,
            finished_at=now,
            detail="the worker stopped after claiming this row; "
            "whether the action happened is unknown",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if count:
        session.execute(update(Run).where(Run.id == run_id).values(unclear=Run.unclear + count))
    return count


def _has_pending(session: Session, run_id: int, chunk: int) -> bool:
    return (
        session.scalar(
            select(RunItem.id)
            .where(
                RunItem.run_id == run_id,
                RunItem.chunk == chunk,
                RunItem.status == ItemStatus.PENDING,
            )
            .limit(1)
        )
        is not None
    )


def _waiting_jobs(runtime: Runtime, job_ids: list[str], now) -> set[str] | None:
    """The jobs among ``job_ids`` that wait in the queue or were started a moment ago (a work
    horse is about to take the lease); None when Redis does not answer. A job's status is
    not enough: a worker killed right after taking a job off the queue leaves it "queued"."""
    if not job_ids:
        return set()
    queue = get_queue(runtime.redis, BULK)
    pipeline = runtime.redis.pipeline(transaction=False)
    for job_id in job_ids:
        pipeline.lpos(queue.key, job_id)
        pipeline.hmget(Job.key_for(job_id), "status", "started_at")
    try:
        answers = pipeline.execute()
    except RedisError as exc:
        log.warning("cannot check the chunk jobs in Redis: %s", exc)
        return None
    waiting = set()
    for job_id, position, (status, started_at) in zip(
        job_ids, answers[::2], answers[1::2], strict=True
    ):
        just_started = (
            status == JobStatus.STARTED.value.encode()
            and started_at
            and str_to_date(started_at) > now - QUEUE_GRACE
        )
        if position is not None or just_started:
            waiting.add(job_id)
    return waiting
