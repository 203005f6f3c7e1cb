"""SIGKILL of real worker processes in the middle of a run, on SQLite and PostgreSQL."""

import collections
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.engine.dispatch import recover_runs
from core.engine.runs import start_run
from core.models import ItemStatus, RunState
from core.queue import BULK, get_queue

from engine_plugins import tag_counts


def wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("action", ["test_tag", "test_notify"])
def test_killed_workers_leave_every_recipient_processed_once(engine, tmp_path, action):
    engine.add_contacts(150)
    out = tmp_path / "sent.txt"
    settings = {"delay_ms": 20} | ({"path": str(out)} if action == "test_notify" else {})
    run = start_run(
        engine.runtime,
        engine.campaign(action=action, action_settings=settings),
        confirmed_by="test",
    )
    log = tmp_path / "worker.log"
    first = engine.start_worker_process(log)
    wait_for(lambda: engine.run(run.id).done >= 40, 60, "the first recipients", log)
    engine.kill_worker(first)  # worker and work horse, mid-chunk
    killed_at = engine.run(run.id).done
    assert killed_at < 150

    second = engine.start_worker_process(log)
    try:
        # The surviving worker does everything it can; the killed chunk waits.
        queue = get_queue(engine.runtime.redis, BULK)

        def settled():
            before = engine.run(run.id)
            time.sleep(1.5)  # a chunk takes well under a second
            after = engine.run(run.id)
            quiet = queue.count == 0 and (after.done, after.failed) == (before.done, before.failed)
            return after.state != RunState.RUNNING or quiet

        wait_for(settled, 60, "the surviving worker to run out of work", log)
        # Two minutes later the scheduler's recovery finds the run stalled.
        engine.runtime.clock = FrozenClock(datetime.now(UTC) + timedelta(minutes=3))
        recover_runs(engine.runtime)
        final_states = (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS)
        final = wait_for(
            lambda: (now := engine.run(run.id)).state in final_states and now,
            60,
            "the run to finish",
            log,
        )
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)

    statuses = collections.Counter(item.status for item in engine.items(run.id))
    if action == "test_tag":
        # Effects inside the database commit with the ledger: exactly once, nothing unclear.
        assert (final.state, final.done, final.unclear) == (RunState.COMPLETED, 150, 0)
        with engine.runtime.database.session() as session:
            assert set(tag_counts(session).values()) == {1}
    else:
        # Outside effects: never twice; the row in flight at the kill is reported unclear.
        lines = collections.Counter(out.read_text().splitlines())
        assert max(lines.values()) == 1
        done = {item.key for item in engine.items(run.id) if item.status == ItemStatus.DONE}
        assert done <= set(lines)
        assert final.done + final.unclear == 150
        assert final.unclear <= 1
        assert statuses[ItemStatus.UNCLEAR] == final.unclear
