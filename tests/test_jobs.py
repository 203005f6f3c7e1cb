import os
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue

from core import Workflow, hookimpl
from core.clock import FrozenClock
from core.jobs import functions as jobs
from core.jobs.functions import (
    execute_workflow_run,
    install_runtime,
    workflow_job_id,
    workflow_lock_key,
)
from core.jobs.worker import build_worker
from core.models import WorkflowRun, WorkflowRunStatus, WorkflowTrigger
from core.workflows.operating import request_run, run_inline
from webapp.i18n import PANEL_CATALOGS

import workflow_plugins
from panel_helpers import detail_in
from waiting import DEADLINE


@pytest.fixture
def runtime(runtime_factory):
    runtime = runtime_factory(("workflow_plugins", workflow_plugins))
    runtime.clock = FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    install_runtime(runtime)
    return runtime


def load(runtime, run_id) -> WorkflowRun:
    with runtime.database.session() as session:
        return session.get(WorkflowRun, run_id)


def wait_for(condition, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_a_run_on_a_worker_is_recorded_from_queue_to_outcome(runtime):
    queued = request_run(runtime, "countContacts", "erika")
    assert load(runtime, queued.id).status == WorkflowRunStatus.QUEUED
    build_worker(runtime).work(burst=True)

    run = load(runtime, queued.id)
    assert run.status == WorkflowRunStatus.SUCCEEDED
    assert run.summary == "0 contacts"
    assert run.log == ["counted at 08:00"]
    assert run.log_messages == [  # shown in the reader's language through its plugin's catalog
        {"id": "counted at {time}", "params": {"time": "08:00"}, "domain": "workflow_plugins"}
    ]
    assert (run.trigger, run.requested_by) == (WorkflowTrigger.MANUAL, "erika")
    assert run.enqueued_at == run.started_at == run.finished_at == runtime.clock.now()
    host, pid = run.worker.rsplit(":", 1)
    assert host == socket.gethostname() and int(pid) != os.getpid()  # the forked work horse
    assert run.error is None
    job = Queue("default", connection=runtime.redis).fetch_job(workflow_job_id(run.id))
    assert job.return_value() == f"countContacts run {run.id}: succeeded"


def test_an_error_is_recorded_with_its_traceback_and_the_log_so_far(runtime):
    queued = request_run(runtime, "broken", None)
    build_worker(runtime).work(burst=True)

    run = load(runtime, queued.id)
    assert run.status == WorkflowRunStatus.FAILED
    assert run.log == ["asking the provider"]
    assert run.summary is None
    assert run.error.startswith("Traceback (most recent call last):")
    assert run.error.rstrip().endswith("RuntimeError: the provider is down")
    assert run.finished_at is not None
    job = Queue("default", connection=runtime.redis).fetch_job(workflow_job_id(run.id))
    assert job.get_status() == "finished"  # the failure is ours to record, not RQ's


def test_a_run_while_another_instance_holds_the_lock_is_recorded_as_skipped(runtime):
    runtime.redis.set(workflow_lock_key("countContacts"), "run-99", ex=60)
    skipped = run_inline(runtime, "countContacts", "cli")
    assert skipped.status == WorkflowRunStatus.SKIPPED
    assert skipped.summary == "skipped: run 99 of 'countContacts' was still running"
    german = detail_in("de", skipped.summary, PANEL_CATALOGS)
    assert german == "übersprungen: Lauf 99 von „countContacts“ lief noch"
    assert skipped.log == []
    assert runtime.redis.get(workflow_lock_key("countContacts")) == b"run-99"

    runtime.redis.delete(workflow_lock_key("countContacts"))
    assert run_inline(runtime, "countContacts", "cli").status == WorkflowRunStatus.SUCCEEDED
    assert not runtime.redis.exists(workflow_lock_key("countContacts"))


def test_two_workers_never_run_the_same_workflow_at_once(runtime, tmp_path):
    first = request_run(runtime, "waitForRelease", None)
    log = tmp_path / "worker.log"
    other_worker = workflow_plugins.start_worker_process(runtime.settings, log)
    try:
        wait_for(
            lambda: load(runtime, first.id).status == WorkflowRunStatus.RUNNING,
            "the worker process to start the first run",
        )
        second = request_run(runtime, "waitForRelease", None)
        build_worker(runtime).work(burst=True)  # runs while the other worker is busy
        skipped = load(runtime, second.id)
        assert skipped.status == WorkflowRunStatus.SKIPPED
        assert skipped.summary == f"skipped: run {first.id} of 'waitForRelease' was still running"

        runtime.redis.rpush(workflow_plugins.RELEASE_KEY, "go")
        assert other_worker.wait(timeout=120) == 0, log.read_text()
    finally:
        if other_worker.poll() is None:
            other_worker.kill()
            other_worker.wait()
    finished = load(runtime, first.id)
    assert finished.status == WorkflowRunStatus.SUCCEEDED, log.read_text()
    assert (finished.summary, finished.log) == ("released", ["waiting"])
    assert finished.worker != skipped.worker


def test_a_run_of_a_workflow_no_longer_loaded_fails_with_the_reason(runtime):
    with runtime.database.session() as session:
        run = WorkflowRun(workflow="retired", trigger=WorkflowTrigger.SCHEDULED)
        session.add(run)
    failed = execute_workflow_run(runtime, run.id)
    assert failed.status == WorkflowRunStatus.FAILED
    assert failed.error.startswith("unknown workflow 'retired'; available: broken, countContacts")


def test_a_run_that_was_settled_already_is_never_run_again(runtime):
    done = run_inline(runtime, "countContacts", None)
    runtime.clock.advance(timedelta(days=1))
    again = execute_workflow_run(runtime, done.id)
    assert (again.status, again.finished_at, again.log) == (
        WorkflowRunStatus.SUCCEEDED,
        done.finished_at,
        ["counted at 08:00"],
    )


class OutlivesItsLock(Workflow):
    name = "outlivesItsLock"
    title = "Runs longer than its lock would last without renewal"

    def run(self, context):
        key = workflow_lock_key(self.name)
        context.redis.pexpire(key, 300)
        deadline = time.monotonic() + DEADLINE
        while context.redis.pttl(key) <= 1000:
            if time.monotonic() > deadline:
                raise AssertionError("the lock was not renewed")
            time.sleep(0.05)
        return "the lock was renewed"


class OutlivesPlugin:
    @staticmethod
    @hookimpl
    def register_workflows(register):
        register(OutlivesItsLock)


def test_the_lock_is_renewed_while_a_long_pass_runs(runtime_factory, monkeypatch):
    monkeypatch.setattr(jobs, "WORKFLOW_HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(jobs, "WORKFLOW_LOCK_SECONDS", 5)
    runtime = runtime_factory(("outlives", OutlivesPlugin))
    run = run_inline(runtime, "outlivesItsLock", None)
    assert (run.status, run.summary) == (WorkflowRunStatus.SUCCEEDED, "the lock was renewed")
    assert not runtime.redis.exists(workflow_lock_key("outlivesItsLock"))
