from datetime import UTC, datetime, timedelta

from core.clock import FrozenClock
from core.messages import stored
from core.workflows.context import WorkflowContext


def test_a_pass_reads_the_clock_once_and_keeps_its_log(runtime_factory):
    runtime = runtime_factory()
    runtime.clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    context = WorkflowContext.start(runtime, "tidy")
    started = context.now
    runtime.clock.advance(timedelta(minutes=5))
    context.log("removed {count} files", count=3)
    context.log(stored("nothing else to do"))
    assert context.now == started
    assert context.lines == ["removed 3 files", "nothing else to do"]
    assert context.messages == [  # "tidy" is no loaded workflow: the panel's catalog
        stored("removed {count} files", count=3),
        stored("nothing else to do"),
    ]
    assert context.database is runtime.database
    assert context.settings is runtime.settings


def test_a_line_names_the_plugin_of_its_workflow(runtime_factory):
    """So the panel looks its id up in that plugin's catalog first."""
    import workflow_plugins

    runtime = runtime_factory(("workflow_plugins", workflow_plugins))
    context = WorkflowContext.start(runtime, "countContacts")
    context.log("counted at {time}", time="08:00")
    assert [text.domain for text in context.messages] == ["workflow_plugins"]


def test_a_line_built_at_run_time_is_kept_as_it_is(runtime_factory):
    context = WorkflowContext.start(runtime_factory(), "tidy")
    context.log('read {"id": 3} from the feed')
    assert context.lines == ['read {"id": 3} from the feed']
