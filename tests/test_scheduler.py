import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from core import hookimpl
from core.clock import FrozenClock
from core.jobs.scheduler import Scheduler
from core.jobs.worker import build_worker
from core.models import WorkflowRun, WorkflowRunStatus, WorkflowSchedule, WorkflowTrigger
from core.workflows.operating import enqueue_due, set_schedule, set_started

from workflow_plugins import (
    START,
    Broken,
    CountContacts,
    Hourly,
    Nightly,
    Only,
    change,
    runtime_with,
)


class Ticks:
    """A plugin with periodic work (``scheduler_tick``) that fails the first time."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def scheduler_tick(self, runtime) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the receiver is down")


@pytest.fixture
def build(runtime_factory):
    return lambda *workflows: runtime_with(runtime_factory, *workflows)


def queued_jobs(runtime) -> int:
    return Queue("default", connection=runtime.redis).count


def runs(runtime, name=None) -> list[WorkflowRun]:
    query = select(WorkflowRun).order_by(WorkflowRun.id)
    if name is not None:
        query = query.where(WorkflowRun.workflow == name)
    with runtime.database.session() as session:
        return list(session.scalars(query))


def schedule_row(runtime, name) -> WorkflowSchedule:
    with runtime.database.session() as session:
        return session.scalar(select(WorkflowSchedule).where(WorkflowSchedule.name == name))


def test_a_workflow_is_enqueued_once_per_interval_and_its_next_run_is_kept(build):
    runtime = build(Hourly)
    scheduler = Scheduler(runtime)
    assert scheduler.tick() == ["hourly"]
    assert schedule_row(runtime, "hourly").next_run_at == START + timedelta(hours=1)
    build_worker(runtime).work(burst=True)
    runtime.clock.advance(timedelta(minutes=59))
    assert scheduler.tick() == []
    runtime.clock.advance(timedelta(minutes=1))
    assert scheduler.tick() == ["hourly"]
    build_worker(runtime).work(burst=True)
    recorded = runs(runtime)
    assert [(run.trigger, run.status) for run in recorded] == [
        (WorkflowTrigger.SCHEDULED, WorkflowRunStatus.SUCCEEDED)
    ] * 2
    assert [run.enqueued_at for run in recorded] == [START, START + timedelta(hours=1)]


def test_a_new_workflow_starts_with_its_default_schedule(build):
    runtime = build(Hourly, Nightly)
    scheduler = Scheduler(runtime)
    assert scheduler.tick() == ["hourly"]  # an interval runs at once, a cron waits
    build_worker(runtime).work(burst=True)
    nightly = schedule_row(runtime, "nightly")
    assert nightly.enabled and nightly.cron == "0 2 * * *" and nightly.changed_by is None
    assert nightly.next_run_at == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 02:00 in Berlin
    runtime.clock.advance(nightly.next_run_at - START)
    assert scheduler.tick() == ["hourly", "nightly"]


def test_a_run_still_waiting_for_a_worker_gets_no_second_one(build):
    runtime = build(Hourly)
    scheduler = Scheduler(runtime)
    assert scheduler.tick() == ["hourly"]
    runtime.clock.advance(timedelta(hours=3))
    assert scheduler.tick() == []
    assert queued_jobs(runtime) == 1
    assert schedule_row(runtime, "hourly").next_run_at == START + timedelta(hours=4)


def test_changes_from_the_panel_apply_at_the_next_tick_without_a_restart(build):
    runtime = build(Hourly)
    scheduler = Scheduler(runtime)
    assert scheduler.tick() == ["hourly"]
    build_worker(runtime).work(burst=True)

    runtime.clock.advance(timedelta(minutes=5))
    change(runtime, set_schedule, "hourly", "15m")
    runtime.clock.advance(timedelta(minutes=10))  # 08:15, one quarter after the last run
    assert scheduler.tick() == ["hourly"]
    build_worker(runtime).work(burst=True)

    change(runtime, set_started, "hourly", False)
    runtime.clock.advance(timedelta(hours=2))
    assert scheduler.tick() == []
    change(runtime, set_started, "hourly", True)
    assert scheduler.tick() == ["hourly"]  # its interval has long passed
    build_worker(runtime).work(burst=True)

    change(runtime, set_schedule, "hourly", "30 12 * * *")
    assert schedule_row(runtime, "hourly").next_run_at == datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    runtime.clock.advance(timedelta(hours=1))
    assert scheduler.tick() == []
    runtime.clock.advance(timedelta(hours=1, minutes=15))  # 12:30 in Berlin
    assert scheduler.tick() == ["hourly"]
    assert len(runs(runtime, "hourly")) == 4


def test_an_error_is_recorded_and_the_next_run_still_happens(build):
    runtime = build(Broken)
    scheduler = Scheduler(runtime)
    for _ in range(2):
        assert scheduler.tick() == ["broken"]
        build_worker(runtime).work(burst=True)
        runtime.clock.advance(timedelta(minutes=30))
    recorded = runs(runtime, "broken")
    assert [run.status for run in recorded] == [WorkflowRunStatus.FAILED] * 2
    assert all("RuntimeError: the provider is down" in run.error for run in recorded)
    assert scheduler.tick() == ["broken"]


def at_once(*calls):
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index):
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_schedulers_ticking_at_once_enqueue_a_workflow_once(build, runtime_factory):
    runtime = build(Hourly, CountContacts)
    other = runtime_factory(("workflows", Only(Hourly, CountContacts)))
    other.clock = runtime.clock
    results = at_once(Scheduler(runtime).tick, Scheduler(other).tick)
    assert sorted(results) == [[], ["countContacts", "hourly"]]
    assert queued_jobs(runtime) == 2


def test_even_two_leaders_at_once_enqueue_a_due_workflow_once(build, runtime_factory):
    """Leadership can lapse mid-tick; the claim on the due time in the database still holds."""
    runtime = build(Hourly, CountContacts)
    other = runtime_factory(("workflows", Only(Hourly, CountContacts)))
    other.clock = runtime.clock
    for _ in range(3):
        first, second = at_once(lambda: enqueue_due(runtime), lambda: enqueue_due(other))
        assert sorted(first + second) == ["countContacts", "hourly"]
        build_worker(runtime).work(burst=True)
        runtime.clock.advance(timedelta(hours=1))
    assert len(runs(runtime)) == 6


def test_leadership_passes_on_when_the_leader_stops(build):
    runtime = build(Hourly)
    first, second = Scheduler(runtime, tick_seconds=1), Scheduler(runtime, tick_seconds=1)
    assert first.is_leader()
    assert not second.is_leader()
    runtime.redis.delete("campaign:scheduler:leader")  # as if its key had expired
    assert second.is_leader()
    assert not first.is_leader()


def test_the_scheduler_warns_at_start_when_a_workflow_is_stopped(build, caplog):
    runtime = build(Hourly, Broken)
    change(runtime, set_started, "broken", False)
    stop = threading.Event()
    stop.set()
    with caplog.at_level(logging.WARNING, logger="core.workflows.operating"):
        Scheduler(runtime).run_forever(stop)
    assert "stopped workflows: broken. Campaign processes will not run" in caplog.text


def test_plugins_work_at_each_leading_tick_and_a_failure_keeps_no_workflow_back(
    runtime_factory, caplog
):
    ticks = Ticks()
    runtime = runtime_factory(("workflows", Only(Hourly)), ("ticks", ticks))
    runtime.clock = FrozenClock(START)
    leader, follower = Scheduler(runtime), Scheduler(runtime)

    with caplog.at_level(logging.ERROR, logger="core.jobs.scheduler"):
        assert leader.tick() == ["hourly"]
    assert "a scheduler_tick listener failed" in caplog.text
    assert follower.tick() == []
    runtime.clock.advance(timedelta(minutes=1))
    assert leader.tick() == []
    assert ticks.calls == 2, "once per tick of the leader"
