import collections
import dataclasses
import os
import signal
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import Action, Outcome, Workflow, hookimpl
from core.clock import Clock
from core.engine.runs import start_run
from core.jobs import embedded_redis
from core.jobs.functions import STOP_SIGNAL, stop_requested
from core.jobs.queue import get_queue
from core.jobs.worker import CampaignWorker, build_worker
from core.models import ChunkLease, Contact, ItemStatus, WorkflowRun
from core.workflows.operating import request_run

from waiting import poll, wait_for, wait_for_exit


class ReportPid(Workflow):
    name = "reportPid"
    title = "Report the process and the contacts it sees"

    def run(self, context):
        with context.database.session() as session:
            count = session.scalar(select(func.count()).select_from(Contact))
        return f"{os.getpid()}:{count}"


class PidPlugin:
    @staticmethod
    @hookimpl
    def register_workflows(register):
        register(ReportPid)


def test_a_forked_work_horse_runs_a_job_with_its_own_database_connection(runtime_factory):
    runtime = runtime_factory(("pid", PidPlugin))
    with runtime.database.session() as session:  # the parent's pool now holds a connection
        session.add(Contact(number="K-1", last_name="Müller"))
    queued = request_run(runtime, "reportPid", None)
    worker = build_worker(runtime)
    assert worker.work(burst=True)
    with runtime.database.session() as session:
        run = session.get(WorkflowRun, queued.id)
    assert run.status == "succeeded", run.error
    pid, count = run.summary.split(":")
    assert int(pid) != os.getpid()
    assert count == "1"


# -- shutdown -----------------------------------------------------------------------------------


@pytest.fixture
def short_data_dir():
    """A data directory whose embedded Redis socket path fits a Unix socket."""
    with tempfile.TemporaryDirectory(prefix="cmp-") as path:
        yield Path(path)


def test_an_idle_worker_stops_at_the_first_sigterm_and_takes_its_redis_with_it(
    engine, tmp_path, short_data_dir
):
    settings = engine.runtime.settings
    engine.runtime.settings = dataclasses.replace(settings, data_dir=short_data_dir)
    log = tmp_path / "worker.log"
    env_without_redis = {"CAMPAIGN_REDIS_URL": ""}
    worker = engine.start_process("worker", log, env_without_redis)
    socket = embedded_redis.socket_path(short_data_dir)
    try:
        wait_for(lambda: "Listening on" in log.read_text(), "the worker to listen", log=log)
        assert embedded_redis._answers(socket)  # the worker started the embedded server
    finally:
        os.killpg(worker.pid, signal.SIGTERM)  # one signal, no second one
    assert wait_for_exit(worker, "the idle worker to exit after one SIGTERM") == 0
    assert not embedded_redis._answers(socket)


def test_a_busy_worker_stops_between_recipients_and_hands_the_rest_back(engine, tmp_path):
    engine.runtime.clock = Clock()  # the worker keeps real time
    engine.add_contacts(10, email="post@example.de")  # one chunk
    out = tmp_path / "sent.txt"
    settings = {"path": str(out), "delay_ms": 1000}
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify", action_settings=settings),
        confirmed_by="test",
    )
    log = tmp_path / "worker.log"
    worker = engine.start_worker_process(log)
    try:
        wait_for(lambda: engine.run(run.id).done >= 1, "the first recipient", log=log)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
    assert wait_for_exit(worker, "the busy worker to exit after one SIGTERM") == 0

    statuses = collections.Counter(item.status for item in engine.items(run.id))
    sent = out.read_text().splitlines()
    assert statuses[ItemStatus.CLAIMED] == 0  # nothing left half done
    assert statuses[ItemStatus.DONE] == len(sent) == len(set(sent)) < 10
    assert statuses[ItemStatus.PENDING] == 10 - len(sent)
    with engine.runtime.database.session() as session:
        lease = session.scalar(select(ChunkLease).where(ChunkLease.run_id == run.id))
    assert lease.expires_at <= datetime.now(UTC)  # handed back to the scheduler's next tick


def test_a_worker_stopped_before_it_forks_the_chunks_work_horse_stops_the_chunk(engine, tmp_path):
    """A SIGTERM while the worker takes a chunk job (here: during the action's warm-up, before
    the work horse exists) stops the chunk before its first recipient, not after its last."""
    engine.runtime.clock = Clock()
    engine.add_contacts(10, email="post@example.de")  # one chunk
    out, warming = tmp_path / "sent.txt", tmp_path / "warming"
    settings = {"path": str(out), "delay_ms": 200, "warming_path": str(warming)}
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_notify_after_warm_up", action_settings=settings),
        confirmed_by="test",
    )
    log = tmp_path / "worker.log"
    worker = engine.start_worker_process(log)
    try:
        wait_for(warming.exists, "the worker to warm the chunk's action up", log=log)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        warming.with_name("warming.go").touch()
    assert wait_for_exit(worker, "the worker to exit after one SIGTERM") == 0

    assert not out.exists()  # nobody was sent to
    assert {item.status for item in engine.items(run.id)} == {ItemStatus.PENDING}
    with engine.runtime.database.session() as session:
        lease = session.scalar(select(ChunkLease).where(ChunkLease.run_id == run.id))
    assert lease.expires_at <= datetime.now(UTC)  # handed back to the scheduler's next tick


class StopSentAtOnce(CampaignWorker):
    """Sends the stop signal the moment its work horse's pid is known, as a SIGTERM arriving
    then does, while the horse may not yet be able to take it."""

    def fork_work_horse(self, job, queue):
        super().fork_work_horse(job, queue)
        os.kill(self.horse_pid, STOP_SIGNAL)


def until_asked_to_stop() -> bool:
    """A job: whether its work horse was asked to stop within a generous 30 s."""
    return poll(stop_requested, timeout=30)


def test_a_work_horse_takes_a_stop_sent_the_moment_it_was_forked(engine):
    build_worker(engine.runtime)  # the runtime and the stop signal's handler, as a worker has
    queue = get_queue(engine.runtime.redis)
    jobs = [queue.enqueue(until_asked_to_stop) for _ in range(6)]  # the race is lost often
    StopSentAtOnce([queue], connection=engine.runtime.redis).work(burst=True)
    assert [job.return_value() for job in jobs] == [True] * 6


# -- warming up a run's action before forking ---------------------------------------------------

WARMED: dict[str, object] = {}
"""What the warm-up loaded: in the worker, and in its work horses as they inherit it."""


class WarmedAction(Action):
    name = "test_warmed"
    title = "Say whether the warm-up's work was inherited"
    chunk_size = 2

    def warm_up(self, recipient, context):
        WARMED.setdefault("calls", []).append((os.getpid(), recipient.key))

    def process(self, recipient, context):
        return Outcome.done(repr(WARMED.get("calls")))


class WarmedPlugin:
    @staticmethod
    @hookimpl
    def register_actions(register):
        register(WarmedAction)


def test_a_runs_action_warms_up_once_in_the_worker_and_its_work_horses_inherit_it(engine):
    engine.runtime.plugins.add(WarmedPlugin, "warmed", "test")
    engine.add_contacts(5)  # three chunks, three work horses
    WARMED.clear()
    run = start_run(engine.runtime, engine.campaign(action="test_warmed"), confirmed_by="test")
    assert build_worker(engine.runtime).work(burst=True)

    warmed_up = [(os.getpid(), engine.items(run.id)[0].key)]
    assert WARMED["calls"] == warmed_up
    assert [item.detail for item in engine.items(run.id)] == [repr(warmed_up)] * 5
