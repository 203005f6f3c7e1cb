"""SIGKILL in the middle of a run, with real worker processes, a real scheduler and real time,
on SQLite and PostgreSQL: the run ends by itself, every recipient processed once, whether
the work horse died in a chunk, while targeting or while finishing."""

import collections
import functools
import os
import signal
import socket

import pytest
from sqlalchemy import select

from core.clock import Clock
from core.engine.dispatch import MAX_CLAIM
from core.engine.leases import FINISHING_STEP, TARGETING_STEP, part_name
from core.engine.runs import start_run
from core.models import ChunkLease, ItemStatus, RunState

from engine_plugins import tag_counts
from waiting import stop_group, wait_for

RECIPIENTS = 300


def holding(engine, pid: int | None, part: int | None = None) -> int | None:
    """``pid`` if that work horse holds the lease of a chunk (or of step ``part``), i.e. is in
    the middle of it."""
    if pid is None:
        return None
    query = select(ChunkLease).where(ChunkLease.holder == f"{socket.gethostname()}:{pid}")
    if part is not None:
        query = query.where(ChunkLease.chunk == part)
    with engine.runtime.database.session() as session:
        return pid if session.scalar(query) else None


def in_step(engine, run_id: int, state: RunState, worker, step: int) -> int | None:
    """The worker's work horse once the run is in ``state`` and the horse holds the lease of
    ``step`` (it takes the lease just before it moves the run into the step)."""
    if engine.run(run_id).state != state:
        return None
    return holding(engine, engine.work_horse(worker), step)


FINAL_STATES = (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS)


@pytest.mark.parametrize(
    ("action", "victim"),
    [("test_notify", "work horse"), ("test_tag", "worker and work horse")],
)
def test_a_killed_worker_leaves_every_recipient_processed_once(engine, tmp_path, action, victim):
    engine.runtime.clock = Clock()  # the processes keep real time
    engine.add_contacts(RECIPIENTS, email="post@example.de")
    out = tmp_path / "sent.txt"
    settings = {"delay_ms": 30} | ({"path": str(out)} if action == "test_notify" else {})
    run = start_run(
        engine.runtime,
        engine.campaign(action=action, action_settings=settings),
        confirmed_by="test",
    )
    log = tmp_path / "processes.log"
    processes = [engine.start_process("scheduler", log)]
    try:
        first = engine.start_worker_process(log)
        processes += [first, engine.start_worker_process(log)]
        wait_for(lambda: engine.run(run.id).done >= 40, "the first recipients", log=log)
        horse = wait_for(
            lambda: holding(engine, engine.work_horse(first)),
            "the first worker's work horse in the middle of a chunk",
            log=log,
        )
        if victim == "work horse":
            os.kill(horse, signal.SIGKILL)  # the worker lives on and takes other chunks
        else:
            engine.kill_worker(first)
            processes.remove(first)
        assert engine.run(run.id).done < RECIPIENTS

        # Nobody calls the recovery by hand: the scheduler's tick finds the abandoned chunk.
        final = wait_for(
            lambda: (now := engine.run(run.id)).state in FINAL_STATES and now,
            "the run to end by itself",
            log=log,
        )
    finally:
        for process in processes:
            stop_group(process)

    statuses = collections.Counter(item.status for item in engine.items(run.id))
    assert statuses[ItemStatus.PENDING] == statuses[ItemStatus.CLAIMED] == 0
    if action == "test_tag":
        # Effects inside the database commit with the ledger: exactly once, nothing unclear.
        assert (final.state, final.done, final.unclear) == (RunState.COMPLETED, RECIPIENTS, 0)
        with engine.runtime.database.session() as session:
            assert set(tag_counts(session).values()) == {1}
    else:
        # Outside effects: never twice; the rows of the claim in flight at the kill are
        # reported unclear.
        lines = collections.Counter(out.read_text().splitlines())
        assert max(lines.values()) == 1
        done = {item.key for item in engine.items(run.id) if item.status == ItemStatus.DONE}
        assert done <= set(lines)
        assert final.done + final.unclear == RECIPIENTS
        assert final.unclear <= MAX_CLAIM
        assert statuses[ItemStatus.UNCLEAR] == final.unclear


def test_a_worker_killed_while_targeting_and_again_while_finishing_leaves_no_run_stuck(
    engine, tmp_path
):
    """RQ would retry a killed job through its own scheduler, which no process runs; the
    steps' leases enqueue them again instead."""
    engine.runtime.clock = Clock()
    engine.add_contacts(40, email="post@example.de")
    out, finished = tmp_path / "sent.txt", tmp_path / "finished.txt"
    settings = {"path": str(out), "finished_path": str(finished), "finish_delay_ms": 4000}
    campaign = engine.campaign(
        action="test_notify",
        action_settings=settings,
        filters=[{"name": "test_slow", "settings": {"delay_ms": 100}}],
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    log = tmp_path / "processes.log"
    processes = [engine.start_process("scheduler", log)]
    try:
        for step, state in (
            (TARGETING_STEP, RunState.TARGETING),
            (FINISHING_STEP, RunState.FINISHING),
        ):
            worker = engine.start_worker_process(log)
            processes.append(worker)
            wait_for(
                functools.partial(in_step, engine, run.id, state, worker, step),
                f"a work horse in the middle of {part_name(step)}",
                log=log,
            )
            engine.kill_worker(worker)
            processes.remove(worker)
            assert engine.run(run.id).state == state
        processes.append(engine.start_worker_process(log))
        final = wait_for(
            lambda: (now := engine.run(run.id)).state in FINAL_STATES and now,
            "the run to end by itself",
            log=log,
        )
    finally:
        for process in processes:
            stop_group(process)

    assert (final.state, final.done) == (RunState.COMPLETED, 40)
    assert set(collections.Counter(out.read_text().splitlines()).values()) == {1}
    assert finished.read_text().splitlines() == ["finished"]
