from datetime import UTC, datetime, timedelta

from rq import Queue

from core import Workflow, hookimpl
from core.clock import FrozenClock
from core.scheduler import Scheduler


class Hourly(Workflow):
    name = "hourly"
    title = "Every hour"
    default_interval = timedelta(hours=1)

    def run(self, context):
        return "ran"


class HourlyPlugin:
    @staticmethod
    @hookimpl
    def register_workflows(register):
        register(Hourly)


def queued_functions(runtime):
    return [job.func_name for job in Queue("default", connection=runtime.redis).get_jobs()]


def test_a_workflow_is_enqueued_once_per_interval(runtime_factory):
    runtime = runtime_factory(("hourly", HourlyPlugin))
    runtime.clock = FrozenClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    scheduler = Scheduler(runtime)
    assert scheduler.tick() == ["hourly"]
    runtime.clock.advance(timedelta(minutes=59))
    assert scheduler.tick() == []
    runtime.clock.advance(timedelta(minutes=1))
    assert scheduler.tick() == ["hourly"]
    assert queued_functions(runtime) == ["core.jobs.run_workflow"] * 2


def test_two_schedulers_never_both_enqueue(runtime_factory):
    runtime = runtime_factory(("hourly", HourlyPlugin))
    runtime.clock = FrozenClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    first, second = Scheduler(runtime), Scheduler(runtime)
    assert first.tick() == ["hourly"]
    runtime.clock.advance(timedelta(hours=2))
    assert second.tick() == []
    assert first.tick() == ["hourly"]
    assert len(queued_functions(runtime)) == 2


def test_leadership_passes_on_when_the_leader_stops(runtime_factory):
    runtime = runtime_factory(("hourly", HourlyPlugin))
    first, second = Scheduler(runtime, tick_seconds=1), Scheduler(runtime, tick_seconds=1)
    assert first.is_leader()
    assert not second.is_leader()
    runtime.redis.delete("campaign:scheduler:leader")  # as if its key had expired
    assert second.is_leader()
    assert not first.is_leader()
