"""Leases: the one owner of "this part of a run is abandoned, enqueue it again".

Each enqueue of a chunk or step records an attempt; its work horse holds and renews the
part's lease. A part whose lease expired, or whose job nobody took and Redis lost, gets its
next attempt by a conditional update, so it is enqueued once and a slow holder stops. RQ's
own retries would wait for RQ's scheduler for good (docs/engine.md, "Recovery").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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

leases = ChunkLease.__table__

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


def part_name(chunk: int) -> str:
    return STEP_NAMES.get(chunk, f"chunk {chunk}")


def chunk_job_id(run_id: int, chunk: int, attempt: int) -> str:
    """The job id of one attempt of a chunk or step."""
    return f"run-{run_id}-{part_name(chunk).replace(' ', '-')}-{attempt}"


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
    untaken = {"run_id": run_id, "enqueued_at": now, "holder": None, "expires_at": None}
    rows = [untaken | {"chunk": chunk, "attempt": attempt} for chunk, attempt in attempts.items()]
    if fresh := [row for row in rows if row["chunk"] not in known]:
        session.execute(insert(ChunkLease), fresh)
    if again := [row for row in rows if row["chunk"] in known]:
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
    pause_from: datetime | None = None
    resume_at: datetime | None = None

    def pause(self, start: datetime, until: datetime) -> None:
        """Stop from ``start`` on (a sending window closes, an hourly limit is reached) and
        hand the part back expiring ``until``, so recovery gives it out again only then."""
        self.pause_from, self.resume_at = start, until

    def paused(self) -> bool:
        return self.pause_from is not None and self.runtime.clock.now() >= self.pause_from

    def should_stop(self) -> bool:
        return self.lost.is_set() or stop_requested() or self.paused()

    def renew(self) -> None:
        with self.runtime.database.session() as session:
            renewed = self._extend(session)
        if not renewed:
            log.warning("run %s chunk %s: lease lost; stopping", self.run_id, self.chunk)
            self.lost.set()

    def still_ours(self, session: Session) -> bool:
        """Renew the lease inside the caller's transaction: a step commits its result only
        while nobody enqueued it again, and recovery cannot take a lease so renewed."""
        return self.attempt is None or self._extend(session)

    def _extend(self, session: Session) -> bool:
        expires_at = self.runtime.clock.now() + LEASE
        return bool(self._execute(session, update(leases).values(expires_at=expires_at)))

    def replaced(self) -> bool:
        """Whether a later attempt took the part over; asked after a failure, which may be
        that attempt's doing (a write conflict, a lock)."""
        if self.attempt is None:
            return False
        self.renew()
        return self.lost.is_set()

    def hand_back(self, through: bool) -> None:
        """Delete the lease once the chunk is through; else expire it for the next tick (or
        when the pause ends)."""
        expires_at = self.resume_at if self.paused() else self.runtime.clock.now()
        expired = update(leases).values(expires_at=expires_at)
        with self.runtime.database.session() as session:
            self._execute(session, delete(leases) if through else expired)

    def _execute(self, session: Session, statement) -> int:
        holder = leases.c.holder == worker_identity()
        mine = statement.where(leases.c.run_id == self.run_id, leases.c.chunk == self.chunk, holder)
        return session.execute(mine).rowcount


@contextmanager
def held(
    runtime: Runtime, run_id: int, chunk: int, attempt: int | None
) -> Iterator[HeldLease | None]:
    """Take the lease of ``attempt`` (None: a job from before leases) and renew it while the
    block runs; None if a later attempt replaced this job. An exception lets it expire."""
    lease = HeldLease(runtime, run_id, chunk, attempt)
    if attempt is None:
        yield lease
        return
    now = runtime.clock.now()
    with runtime.database.session() as session:
        taken = session.execute(
            update(leases)
            .where(
                leases.c.run_id == run_id,
                leases.c.chunk == chunk,
                leases.c.attempt == attempt,
                or_(leases.c.expires_at.is_(None), leases.c.expires_at < now),
            )
            .values(holder=worker_identity(), expires_at=now + LEASE)
        ).rowcount
    if not taken:
        yield None
        return
    with beating(lease.renew, RENEW_SECONDS):
        yield lease
    lease.hand_back(through=not lease.should_stop())


def _abandoned(now):
    return or_(
        leases.c.expires_at < now,
        and_(leases.c.expires_at.is_(None), leases.c.enqueued_at < now - QUEUE_GRACE),
    )


def recover_abandoned(runtime: Runtime) -> tuple[list[tuple[int, int, int]], list[str]]:
    """Settle abandoned chunks and steps of active runs; return the (run, chunk, attempt)
    to enqueue and what was done."""
    now = runtime.clock.now()
    still_due = or_(
        and_(leases.c.chunk >= 0, Run.state == RunState.RUNNING),
        *(
            and_(leases.c.chunk == step, Run.state.in_(states))
            for step, states in STEP_STATES.items()
        ),
    )
    with runtime.database.session() as session:
        candidates = session.execute(
            select(leases.c.run_id, leases.c.chunk, leases.c.attempt, leases.c.holder)
            .join(Run, Run.id == leases.c.run_id)
            .where(still_due, _abandoned(now))
        ).all()
    unheld = [chunk_job_id(r.run_id, r.chunk, r.attempt) for r in candidates if r.holder is None]
    waiting = _waiting_jobs(runtime, unheld, now)
    if waiting is None:  # Redis does not answer: nothing can be enqueued anyway
        return [], []
    enqueue, actions = [], []
    for run_id, chunk, attempt, holder in candidates:
        if holder is None and chunk_job_id(run_id, chunk, attempt) in waiting:
            continue
        this = (leases.c.run_id == run_id, leases.c.chunk == chunk, leases.c.attempt == attempt)
        with runtime.database.session() as session:
            if chunk >= 0:
                unclear = report_claims_unclear(session, run_id, now, RunItem.chunk == chunk)
                if unclear:
                    actions.append(f"run {run_id} chunk {chunk}: {unclear} rows unclear")
                pending = (
                    RunItem.run_id == run_id,
                    RunItem.chunk == chunk,
                    RunItem.status == ItemStatus.PENDING,
                )
                if not session.scalar(select(exists().where(*pending))):
                    session.execute(delete(leases).where(*this))
                    continue
            # The conditions hold again when the row is written: a lease renewed meanwhile (a
            # slow holder, still alive) is left alone.
            bumped = session.execute(
                update(leases)
                .where(*this, _abandoned(now))
                .values(attempt=attempt + 1, enqueued_at=now, holder=None, expires_at=None)
            ).rowcount
            if bumped:
                enqueue.append((run_id, chunk, attempt + 1))
                actions.append(f"run {run_id} {part_name(chunk)}: enqueued again")
    return enqueue, actions


def report_claims_unclear(session: Session, run_id: int, now, *where) -> int:
    """Report the run's claimed rows matching ``where`` unclear, their holder gone or hung:
    their effect may have happened."""
    count = session.execute(
        update(RunItem.__table__)
        .where(RunItem.run_id == run_id, RunItem.status == ItemStatus.CLAIMED, *where)
        .values(
            status=ItemStatus.UNCLEAR,
            finished_at=now,
            detail="the worker stopped after claiming this row; "
            "whether the action happened is unknown",
        )
    ).rowcount
    if count:
        session.execute(update(Run).where(Run.id == run_id).values(unclear=Run.unclear + count))
    return count


def _waiting_jobs(runtime: Runtime, job_ids: list[str], now) -> set[str] | None:
    """The jobs among ``job_ids`` that wait in the queue or were started a moment ago (a work
    horse is about to take the lease); None when Redis does not answer. A job's status is
    not enough: a worker killed right after taking a job off the queue leaves it "queued"."""
    if not job_ids:
        return set()
    queue_key = get_queue(runtime.redis, BULK).key
    pipeline = runtime.redis.pipeline(transaction=False)
    for job_id in job_ids:
        pipeline.lpos(queue_key, job_id)
        pipeline.hmget(Job.key_for(job_id), "status", "started_at")
    try:
        answers = pipeline.execute()
    except RedisError as exc:
        log.warning("cannot check the chunk jobs in Redis: %s", exc)
        return None
    started = JobStatus.STARTED.value.encode()
    return {
        job_id
        for job_id, position, (status, started_at) in zip(
            job_ids, answers[::2], answers[1::2], strict=True
        )
        if position is not None
        or (status == started and started_at and str_to_date(started_at) > now - QUEUE_GRACE)
    }
