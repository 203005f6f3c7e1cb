from datetime import UTC, datetime, timedelta

from core.clock import FrozenClock
from core.workflows.context import WorkflowContext


def test_a_pass_reads_the_clock_once_and_keeps_its_log(runtime_factory):
    runtime = runtime_factory()
    runtime.clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    context = WorkflowContext.start(runtime, "tidy")
    started = context.now
    runtime.clock.advance(timedelta(minutes=5))
    context.log("removed 3 files")
    context.log("nothing else to do")
    assert context.now == started
    assert context.lines == ["removed 3 files", "nothing else to do"]
    assert context.database is runtime.database
    assert context.settings is runtime.settings
