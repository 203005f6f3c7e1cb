import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from core import SettingsError, Workflow
from core.audit import audit_query
from core.jobs.functions import workflow_job_id, workflow_lock_key
from core.jobs.queue import get_queue
from core.jobs.worker import build_worker
from core.models import WorkflowRun, WorkflowRunStatus, WorkflowSchedule, WorkflowTrigger
from core.plugins import UnknownPluginError
from core.workflows.operating import (
    LOST_JOB_GRACE,
    enqueue_due,
    list_workflows,
    recover_workflow_runs,
    request_run,
    run_history,
    run_inline,
    set_schedule,
    set_settings,
    set_started,
    stopped_warning,
    stopped_workflows,
)
from core.workflows.schedules import ScheduleError

from workflow_plugins import (
    START,
    Broken,
    CountContacts,
    Hourly,
    Nightly,
    WaitForRelease,
    change,
    runtime_with,
)


class Eager(Workflow):
    name = "eager"
    title = "Would like to run every five minutes"
    default_interval = timedelta(minutes=5)

    def run(self, context):
        return "done"


class EagerCron(Workflow):
    name = "eagerCron"
    title = "Would like to run every five minutes, by cron"
    default_cron = "*/5 * * * *"

    def run(self, context):
        return "done"


class Reminder(Workflow):
    name = "reminder"
    title = "Reminds before a deadline"

    class Params(BaseModel):
        days_before: int = Field(3, ge=1)
        subject: str = "Erinnerung"

        @field_validator("subject")
        @classmethod
        def _not_blank(cls, subject: str) -> str:
            if not subject.strip():
                raise ValueError("must not be blank")
            return subject

    def run(self, context):
        assert context.params is self.params
        return f"{self.params.subject}: {self.params.days_before} days before"


@pytest.fixture
def build(runtime_factory):
    return lambda *workflows: runtime_with(runtime_factory, *workflows)


def call(runtime, function, *args, **kwargs):
    with runtime.database.session() as session:
        return function(session, runtime.plugins, runtime.settings, *args, **kwargs)


def listing(runtime):
    return {state.name: state for state in call(runtime, list_workflows, runtime.clock.now())}


def test_each_workflow_is_listed_started_with_its_default_schedule(build):
    runtime = build(Hourly, Nightly, CountContacts)
    listed = listing(runtime)
    assert list(listed) == ["countContacts", "hourly", "nightly"]
    hourly = listed["hourly"]
    assert (hourly.title, hourly.schedule_text) == ("Every hour", "every hour")
    assert hourly.enabled
    assert hourly.next_run_at == START  # due at once
    assert hourly.last_run is None and hourly.changed_by is None
    assert listed["nightly"].schedule_text == "cron 0 2 * * * (Europe/Berlin)"
    assert listed["nightly"].next_run_at == datetime(2026, 3, 3, 1, tzinfo=UTC)
    assert listed["countContacts"].schedule_text == "every 15 minutes"


def test_defaults_more_frequent_than_the_minimum_are_held_to_it(build, caplog):
    runtime = build(Eager, EagerCron)
    with caplog.at_level(logging.WARNING, logger="core.workflows.operating"):
        listed = listing(runtime)
    assert listed["eager"].schedule_text == "every 15 minutes"
    assert listed["eagerCron"].schedule_text == "every 15 minutes"
    assert "default interval 0:05:00 raised to the minimum 0:15:00" in caplog.text
    assert "eagerCron: default cron not used" in caplog.text


def test_a_lower_minimum_lets_a_default_run_more_often(build):
    runtime = build(Eager)
    runtime.settings = dataclasses.replace(
        runtime.settings, workflow_min_interval=timedelta(minutes=1)
    )
    assert listing(runtime)["eager"].schedule_text == "every 5 minutes"
    change(runtime, set_schedule, "eager", "every 2m")
    assert listing(runtime)["eager"].schedule_text == "every 2 minutes"


def test_the_listing_shows_the_last_run_and_the_next_one(build):
    runtime = build(Hourly, Broken)
    enqueue_due(runtime)
    build_worker(runtime).work(burst=True)
    runtime.clock.advance(timedelta(minutes=10))
    run_inline(runtime, "hourly", "erika")
    listed = listing(runtime)
    last = listed["hourly"].last_run
    assert (last.trigger, last.status, last.summary) == (
        WorkflowTrigger.MANUAL,
        WorkflowRunStatus.SUCCEEDED,
        "ran",
    )
    assert listed["hourly"].next_run_at == START + timedelta(hours=1)  # manual runs keep it
    assert listed["broken"].last_run.status == WorkflowRunStatus.FAILED
    as_dict = listed["broken"].as_dict()
    assert as_dict["state"] == "started"
    assert as_dict["next_run_at"] == "2026-03-02T08:30:00+00:00"
    assert as_dict["last_run"]["log"] == ["asking the provider"]
    assert "RuntimeError: the provider is down" in as_dict["last_run"]["error"]


def test_stopping_and_starting_are_recorded_with_who_and_when(build):
    runtime = build(Hourly, Broken)
    listing(runtime)
    runtime.clock.advance(timedelta(minutes=3))
    stopped = change(runtime, set_started, "broken", False)
    assert (stopped.enabled, stopped.next_run_at) == (False, None)
    assert (stopped.changed_by, stopped.changed_at) == ("carla", START + timedelta(minutes=3))
    with runtime.database.session() as session:
        assert stopped_workflows(session, runtime.plugins) == ["broken"]
    assert stopped_warning(["broken"]) == (
        "stopped workflows: broken. Campaign processes will not run until they are "
        "started again (campaign workflows start NAME)."
    )
    assert stopped_warning([]) is None
    started = change(runtime, set_started, "broken", True)
    assert started.enabled and started.next_run_at == runtime.clock.now()
    with runtime.database.session() as session:
        assert stopped_workflows(session, runtime.plugins) == []
        audit = [(e.actor, e.action, e.target_id) for e in session.scalars(audit_query())]
    assert audit == [("carla", "workflow.start", "broken"), ("carla", "workflow.stop", "broken")]


def test_a_new_schedule_is_validated_and_kept_with_its_zone(build):
    runtime = build(Hourly)
    row = change(runtime, set_schedule, "hourly", "0 6 * * 1-5", timezone="America/New_York")
    assert (row.cron, row.interval_seconds) == ("0 6 * * 1-5", None)
    assert row.timezone == "America/New_York"
    assert row.next_run_at == datetime(2026, 3, 2, 11, tzinfo=UTC)  # 06:00 in New York
    assert row.changed_by == "carla"
    with pytest.raises(ScheduleError, match="more often than the minimum of 15 minutes"):
        change(runtime, set_schedule, "hourly", "*/5 * * * *")
    with pytest.raises(ScheduleError, match="'every week': 'week' is not a duration"):
        change(runtime, set_schedule, "hourly", "every week")
    with runtime.database.session() as session:
        kept = session.scalar(select(WorkflowSchedule).where(WorkflowSchedule.name == "hourly"))
    assert kept.cron == "0 6 * * 1-5"  # a refused schedule changes nothing
    reset = change(runtime, set_schedule, "hourly", "default")
    assert (reset.interval_seconds, reset.cron, reset.timezone) == (3600, None, None)
    with runtime.database.session() as session:
        audit = [(e.action, e.summary) for e in session.scalars(audit_query())]
    assert audit == [("workflow.schedule", "default"), ("workflow.schedule", "0 6 * * 1-5")]


def test_an_unknown_workflow_is_named_with_the_known_ones(build):
    runtime = build(Hourly)
    with pytest.raises(UnknownPluginError, match=r"unknown workflow 'hurly'; available: hourly"):
        change(runtime, set_started, "hurly", False)
    with pytest.raises(UnknownPluginError):
        request_run(runtime, "hurly", None)


def test_history_pages_through_the_runs_newest_first_with_their_logs(build):
    runtime = build(CountContacts, Hourly)
    for _ in range(5):
        run_inline(runtime, "countContacts", None)
        runtime.clock.advance(timedelta(minutes=20))
    run_inline(runtime, "hourly", None)
    with runtime.database.session() as session:
        first = run_history(session, "countContacts", page=1, per_page=2)
        last = run_history(session, "countContacts", page=3, per_page=2)
    assert (first.total, first.pages) == (5, 3)
    assert [run.id for run in first.runs] == [5, 4]
    assert first.runs[0].log == ["counted at 09:20"]
    assert [run.id for run in last.runs] == [1]
    assert last.runs[0].log == ["counted at 08:00"]


def test_a_running_run_whose_worker_died_is_settled_as_failed(build):
    runtime = build(WaitForRelease)
    with runtime.database.session() as session:
        alive = WorkflowRun(
            workflow="waitForRelease",
            trigger=WorkflowTrigger.SCHEDULED,
            status=WorkflowRunStatus.RUNNING,
            enqueued_at=START,
        )
        dead = WorkflowRun(
            workflow="waitForRelease",
            trigger=WorkflowTrigger.SCHEDULED,
            status=WorkflowRunStatus.RUNNING,
            enqueued_at=START,
        )
        session.add_all([alive, dead])
    runtime.redis.set(workflow_lock_key("waitForRelease"), f"run-{alive.id}", ex=60)
    assert recover_workflow_runs(runtime) == [
        f"workflow waitForRelease run {dead.id}: failed, "
        "the worker stopped before the pass finished (its lock lapsed)"
    ]
    with runtime.database.session() as session:
        assert session.get(WorkflowRun, alive.id).status == WorkflowRunStatus.RUNNING
        settled = session.get(WorkflowRun, dead.id)
    assert (settled.status, settled.finished_at) == (WorkflowRunStatus.FAILED, START)


def test_a_queued_run_whose_job_is_gone_is_settled_after_a_grace_period(build):
    runtime = build(Hourly, CountContacts)
    lost = request_run(runtime, "hourly", None)
    waiting = request_run(runtime, "countContacts", None)
    get_queue(runtime.redis).remove(workflow_job_id(lost.id))
    runtime.redis.delete(f"rq:job:{workflow_job_id(lost.id)}")
    assert recover_workflow_runs(runtime) == []  # just enqueued: its job may be on the way
    runtime.clock.advance(LOST_JOB_GRACE + timedelta(seconds=1))
    actions = recover_workflow_runs(runtime)
    assert actions == [
        f"workflow hourly run {lost.id}: failed, "
        "it has no job (Redis lost or deleted it, or the command running it stopped)"
    ]
    build_worker(runtime).work(burst=True)
    with runtime.database.session() as session:
        assert session.get(WorkflowRun, waiting.id).status == WorkflowRunStatus.SUCCEEDED
    assert enqueue_due(runtime) == ["countContacts", "hourly"]  # nothing blocks the schedule


def test_a_workflows_own_settings_are_checked_saved_and_given_to_its_passes(build):
    runtime = build(Reminder)
    assert listing(runtime)["reminder"].settings == {"days_before": 3, "subject": "Erinnerung"}
    assert run_inline(runtime, "reminder", None).summary == "Erinnerung: 3 days before"
    with pytest.raises(SettingsError) as refused:
        change(runtime, set_settings, "reminder", {"days_before": "0", "subject": " "})
    assert refused.value.problems == [
        ("days_before", "Input should be greater than or equal to 1"),
        ("subject", "must not be blank"),  # without pydantic's "Value error, "
    ]
    row = change(runtime, set_settings, "reminder", {"days_before": "7"})
    assert row.settings == {"days_before": 7, "subject": "Erinnerung"}
    assert row.changed_by == "carla"
    assert listing(runtime)["reminder"].as_dict()["settings"]["days_before"] == 7
    assert run_inline(runtime, "reminder", None).summary == "Erinnerung: 7 days before"
    with runtime.database.session() as session:
        entry = session.scalars(audit_query()).first()
    assert (entry.action, entry.target_id, entry.details["days_before"]) == (
        "workflow.settings",
        "reminder",
        7,
    )


def test_saved_settings_that_no_longer_fit_are_shown_and_fail_the_pass(build):
    runtime = build(Reminder)
    listing(runtime)
    with runtime.database.session() as session:
        row = session.scalar(select(WorkflowSchedule).where(WorkflowSchedule.name == "reminder"))
        row.settings = {"days_before": 0}
    state = listing(runtime)["reminder"]
    assert state.settings == {"days_before": 0}
    assert state.settings_problems == [
        ("days_before", "Input should be greater than or equal to 1")
    ]
    run = run_inline(runtime, "reminder", None)
    assert run.status == WorkflowRunStatus.FAILED
    assert "invalid settings for workflow 'reminder'" in run.error
