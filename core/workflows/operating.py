"""Operating the background workflows: schedules, on/off, running one now, history, and the
scheduler's tick. Functions that only touch the database leave the commit to the caller;
those that enqueue commit first, so a worker always finds the run it is given."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.config import Settings
from core.jobs.functions import (
    WORKFLOW_JOB_TIMEOUT_SECONDS,
    execute_workflow_run,
    workflow_job_id,
    workflow_lock_key,
    workflow_lock_token,
)
from core.jobs.queue import DEFAULT, get_queue
from core.messages import stored
from core.models import WorkflowRun, WorkflowRunStatus, WorkflowSchedule, WorkflowTrigger
from core.plugin_base import SettingsError, Workflow
from core.plugins import PluginHost
from core.runtime import Runtime
from core.workflows.schedules import Schedule, ScheduleError, check_cron, load_zone

log = logging.getLogger(__name__)

LOST_JOB_GRACE = timedelta(minutes=1)
"""A run still queued this long after it was enqueued, without a job, will never start."""


@dataclass(frozen=True, slots=True)
class WorkflowState:
    """One registered workflow as the listing shows it."""

    name: str
    title: str
    enabled: bool
    schedule: Schedule
    schedule_text: str
    next_run_at: datetime | None
    last_run: WorkflowRun | None
    changed_by: str | None
    changed_at: datetime
    settings: dict[str, Any]
    """The workflow's own settings as it runs with them (``Params``: saved or default)."""
    settings_problems: list[tuple[str, str]]
    """Why saved settings no longer fit the workflow's ``Params``; empty when they fit."""

    def as_dict(self) -> dict[str, Any]:
        interval = self.schedule.interval
        return {
            "name": self.name,
            "title": self.title,
            "state": "started" if self.enabled else "stopped",
            "schedule": self.schedule_text,
            "interval_seconds": None if interval is None else interval.total_seconds(),
            "cron": self.schedule.cron,
            "timezone": self.schedule.timezone,
            "next_run_at": _iso(self.next_run_at),
            "last_run": None if self.last_run is None else run_as_dict(self.last_run),
            "changed_by": self.changed_by,
            "changed_at": _iso(self.changed_at),
            "settings": self.settings,
        }


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of a workflow's runs, newest first."""

    runs: list[WorkflowRun]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def run_as_dict(run: WorkflowRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow": run.workflow,
        "trigger": run.trigger.value,
        "status": run.status.value,
        "requested_by": run.requested_by,
        "enqueued_at": _iso(run.enqueued_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "summary": run.summary,
        "log": list(run.log),
        "error": run.error,
        "worker": run.worker,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def default_schedule(workflow: type[Workflow], settings: Settings, now: datetime) -> Schedule:
    """The workflow's declared schedule within the installation's minimum: a shorter default
    interval is raised to it, a more frequent default cron expression gives way to the interval."""
    minimum = settings.workflow_min_interval
    if workflow.default_cron is not None:
        schedule = Schedule(cron=check_cron(workflow.default_cron))
        try:
            schedule.check_minimum(minimum, now, settings.timezone)
            return schedule
        except ScheduleError as exc:
            log.warning("workflow %s: default cron not used: %s", workflow.name, exc)
    if workflow.default_interval < minimum:
        log.warning(
            "workflow %s: default interval %s raised to the minimum %s",
            workflow.name,
            workflow.default_interval,
            minimum,
        )
    return Schedule(interval=max(workflow.default_interval, minimum))


def ensure_schedules(
    session: Session, plugins: PluginHost, settings: Settings, now: datetime
) -> dict[str, WorkflowSchedule]:
    """The schedule rows of the registered workflows, creating the missing ones started and
    with their defaults (safe when several processes do it at once)."""
    rows = _schedule_rows(session)
    missing = [workflow for workflow in plugins.workflows if workflow.name not in rows]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for workflow in missing:  # the loop below sets when they are first due
        columns = WorkflowSchedule.columns_for(default_schedule(workflow, settings, now))
        values = columns | {"name": workflow.name, "enabled": True, "changed_at": now}
        session.execute(
            insert(WorkflowSchedule).values(values).on_conflict_do_nothing(index_elements=["name"])
        )
    if missing:
        rows = _schedule_rows(session)
    registered = {workflow.name: rows[workflow.name] for workflow in plugins.workflows}
    for row in registered.values():
        if row.enabled and row.next_run_at is None:
            row.next_run_at = _first_due(row, settings, now)
    return registered


def _schedule_rows(session: Session) -> dict[str, WorkflowSchedule]:
    return {row.name: row for row in session.scalars(select(WorkflowSchedule))}


def _schedule_row(
    session: Session, plugins: PluginHost, settings: Settings, name: str, now: datetime
) -> tuple[type[Workflow], WorkflowSchedule]:
    workflow = plugins.workflows.get(name)
    return workflow, ensure_schedules(session, plugins, settings, now)[name]


def _zone(row: WorkflowSchedule, settings: Settings):
    return load_zone(row.timezone or settings.timezone)


def _first_due(row: WorkflowSchedule, settings: Settings, now: datetime) -> datetime:
    return row.schedule.first_due(
        now, row.last_enqueued_at, _zone(row, settings), settings.workflow_min_interval
    )


def set_started(
    session: Session,
    plugins: PluginHost,
    settings: Settings,
    name: str,
    started: bool,
    changed_by: str,
    now: datetime,
) -> WorkflowSchedule:
    """Start a workflow (an interval that has passed since its last run makes it due at
    once) or stop it (the scheduler enqueues no more runs; a pass already running ends)."""
    _workflow, row = _schedule_row(session, plugins, settings, name, now)
    if row.enabled != started:
        row.enabled = started
        row.next_run_at = _first_due(row, settings, now) if started else None
        row.changed_by, row.changed_at = changed_by, now
        verb = "start" if started else "stop"
        record_audit(session, changed_by, f"workflow.{verb}", "workflow", name)
    return row


def set_schedule(
    session: Session,
    plugins: PluginHost,
    settings: Settings,
    name: str,
    expression: str,
    changed_by: str,
    now: datetime,
    timezone: str | None = None,
) -> WorkflowSchedule:
    """Give the workflow a new schedule ("30m", "every 2h", "0 6 * * 1-5", or "default");
    raises ScheduleError, naming the problem, for one it cannot have."""
    workflow, row = _schedule_row(session, plugins, settings, name, now)
    if expression.strip().lower() == "default":
        if timezone is not None:
            raise ScheduleError(
                stored("'default' takes no time zone; it is the workflow's own schedule")
            )
        schedule = default_schedule(workflow, settings, now)
    else:
        schedule = Schedule.parse(expression, timezone)
        schedule.check_minimum(settings.workflow_min_interval, now, settings.timezone)
    row.schedule = schedule
    if row.enabled:
        row.next_run_at = _first_due(row, settings, now)
    row.changed_by, row.changed_at = changed_by, now
    record_audit(session, changed_by, "workflow.schedule", "workflow", name, expression.strip())
    return row


def set_settings(
    session: Session,
    plugins: PluginHost,
    settings: Settings,
    name: str,
    raw: Mapping[str, Any],
    changed_by: str,
    now: datetime,
) -> WorkflowSchedule:
    """Save the workflow's own settings, checked by its ``Params`` model (``SettingsError``
    names each bad field; nothing is saved then). Its next pass runs with them."""
    workflow, row = _schedule_row(session, plugins, settings, name, now)
    row.settings = workflow.validate_params(raw).model_dump(mode="json")
    row.changed_by, row.changed_at = changed_by, now
    details = dict(row.settings)
    record_audit(session, changed_by, "workflow.settings", "workflow", name, details=details)
    return row


def saved_settings(workflow: type[Workflow], row: WorkflowSchedule) -> tuple[dict, list]:
    """The settings a pass of the workflow gets, as JSON values, and the problems of saved
    settings that no longer fit its ``Params`` (then the saved values are shown as saved)."""
    try:
        return workflow.validate_params(row.settings or {}).model_dump(mode="json"), []
    except SettingsError as exc:
        return dict(row.settings or {}), list(exc.problems)


def list_workflows(
    session: Session, plugins: PluginHost, settings: Settings, now: datetime
) -> list[WorkflowState]:
    """Every registered workflow with its state, schedule, last run and next run."""
    rows = ensure_schedules(session, plugins, settings, now)
    latest = [  # one index lookup per workflow, however many runs are kept
        select(func.max(WorkflowRun.id)).where(WorkflowRun.workflow == name).scalar_subquery()
        for name in rows
    ]
    last_runs = {
        run.workflow: run
        for run in session.scalars(select(WorkflowRun).where(WorkflowRun.id.in_(latest)))
    }
    states = []
    for workflow in plugins.workflows:
        row = rows[workflow.name]
        values, problems = saved_settings(workflow, row)
        states.append(
            WorkflowState(
                name=workflow.name,
                title=workflow.title,
                enabled=row.enabled,
                schedule=row.schedule,
                schedule_text=row.schedule.describe(settings.timezone),
                next_run_at=row.next_run_at,
                last_run=last_runs.get(workflow.name),
                changed_by=row.changed_by,
                changed_at=row.changed_at,
                settings=values,
                settings_problems=problems,
            )
        )
    return states


def stopped_workflows(session: Session, plugins: PluginHost) -> list[str]:
    """The registered workflows someone stopped; while any is, campaign processes stall."""
    return list(
        session.scalars(
            select(WorkflowSchedule.name)
            .where(
                WorkflowSchedule.enabled.is_(False),
                WorkflowSchedule.name.in_(plugins.workflows.names()),
            )
            .order_by(WorkflowSchedule.name)
        )
    )


def stopped_warning(names: list[str]) -> str | None:
    """The warning the listing prints and ``campaign serve`` logs, or None."""
    if not names:
        return None
    return (
        f"stopped workflows: {', '.join(names)}. Campaign processes will not run until "
        "they are started again (campaign workflows start NAME)."
    )


def warn_about_stopped(runtime: Runtime) -> str | None:
    """Log the warning if any workflow is stopped (at the start of serve and the scheduler)."""
    with runtime.database.session() as session:
        warning = stopped_warning(stopped_workflows(session, runtime.plugins))
    if warning:
        log.warning(warning)
    return warning


def run_history(session: Session, name: str, page: int = 1, per_page: int = 20) -> RunPage:
    """The runs of one workflow, newest first, with their logs and errors."""
    where = WorkflowRun.workflow == name
    total = session.scalar(select(func.count()).select_from(WorkflowRun).where(where))
    runs = session.scalars(
        select(WorkflowRun)
        .where(where)
        .order_by(WorkflowRun.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return RunPage(list(runs), page, per_page, total or 0)


def _new_run(
    runtime: Runtime, name: str, trigger: WorkflowTrigger, requested_by: str | None
) -> WorkflowRun:
    runtime.plugins.workflows.get(name)
    with runtime.database.session() as session:
        run = WorkflowRun(
            workflow=name,
            trigger=trigger,
            requested_by=requested_by,
            enqueued_at=runtime.clock.now(),
        )
        session.add(run)
    return run


def enqueue_run(runtime: Runtime, run_id: int) -> None:
    get_queue(runtime.redis, DEFAULT).enqueue(
        "core.jobs.functions.run_workflow",
        run_id,
        job_id=workflow_job_id(run_id),
        job_timeout=WORKFLOW_JOB_TIMEOUT_SECONDS,
    )


def _fail_run(
    runtime: Runtime, run_id: int, status: WorkflowRunStatus, reason: str, now: datetime
) -> bool:
    """Settle a run still in ``status`` as failed for ``reason``; False if it moved on."""
    with runtime.database.session() as session:
        return bool(
            session.execute(
                update(WorkflowRun)
                .where(WorkflowRun.id == run_id, WorkflowRun.status == status)
                .values(status=WorkflowRunStatus.FAILED, finished_at=now, error=reason)
            ).rowcount
        )


def request_run(runtime: Runtime, name: str, requested_by: str | None) -> WorkflowRun:
    """Run it now on a worker (the web panel's "run now"), taking the scheduled runs' path,
    lock included, without moving the schedule; returns the queued run."""
    run = _new_run(runtime, name, WorkflowTrigger.MANUAL, requested_by)
    try:
        enqueue_run(runtime, run.id)
    except RedisError as exc:  # never a queued record without a job
        reason = f"could not be queued: {exc}"
        _fail_run(runtime, run.id, WorkflowRunStatus.QUEUED, reason, runtime.clock.now())
        raise
    return run


def run_inline(runtime: Runtime, name: str, requested_by: str | None) -> WorkflowRun:
    """Run it now in this process, recorded like any run; returns the finished run."""
    run = _new_run(runtime, name, WorkflowTrigger.MANUAL, requested_by)
    return execute_workflow_run(runtime, run.id)


def enqueue_due(runtime: Runtime) -> list[str]:
    """Scheduler duty: enqueue every started workflow whose time has come; return the names.

    A due row is claimed by a conditional update of its next run time, so two schedulers
    enqueue it once; a workflow whose run still waits for a worker gets no second one."""
    settings, now = runtime.settings, runtime.clock.now()
    with runtime.database.session() as session:
        rows = ensure_schedules(session, runtime.plugins, settings, now)
        due = [
            (row.id, name, row.next_run_at, row.schedule, _zone(row, settings))
            for name, row in rows.items()
            if row.enabled and row.next_run_at is not None and row.next_run_at <= now
        ]
    enqueued = []
    for schedule_id, name, previous, schedule, zone in due:
        following = schedule.next_due(previous, now, zone, settings.workflow_min_interval)
        with runtime.database.session() as session:
            claimed = session.execute(
                update(WorkflowSchedule)
                .where(
                    WorkflowSchedule.id == schedule_id,
                    WorkflowSchedule.enabled.is_(True),
                    WorkflowSchedule.next_run_at == previous,
                    *[
                        getattr(WorkflowSchedule, column).is_not_distinct_from(value)
                        for column, value in WorkflowSchedule.columns_for(schedule).items()
                    ],
                )
                .values(next_run_at=following)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                continue
            waiting = session.scalar(
                select(WorkflowRun.id).where(
                    WorkflowRun.workflow == name, WorkflowRun.status == WorkflowRunStatus.QUEUED
                )
            )
            if waiting is not None:
                log.warning("workflow %s: run %s still waits for a worker", name, waiting)
                continue
            session.execute(
                update(WorkflowSchedule)
                .where(WorkflowSchedule.id == schedule_id)
                .values(last_enqueued_at=now)
                .execution_options(synchronize_session=False)
            )
            run = WorkflowRun(workflow=name, trigger=WorkflowTrigger.SCHEDULED, enqueued_at=now)
            session.add(run)
        enqueue_run(runtime, run.id)
        log.info("enqueued workflow %s (run %s)", name, run.id)
        enqueued.append(name)
    return enqueued


def recover_workflow_runs(runtime: Runtime) -> list[str]:
    """Scheduler duty: fail the runs that will never finish on their own, with the reason.

    A running run whose lock no longer holds its token lost its worker (the lock lapses
    soon after a worker dies); a queued run whose job is gone or ended never starts. The
    reasons are entries of the panel's catalog (a prefix where an error follows), which the
    workflows page shows them through.
    """
    now = runtime.clock.now()
    with runtime.database.session() as session:
        open_runs = session.execute(
            select(
                WorkflowRun.id, WorkflowRun.workflow, WorkflowRun.status, WorkflowRun.enqueued_at
            ).where(WorkflowRun.status.in_([WorkflowRunStatus.QUEUED, WorkflowRunStatus.RUNNING]))
        ).all()
    actions = []
    for run_id, name, status, enqueued_at in open_runs:
        if status == WorkflowRunStatus.RUNNING:
            holder = runtime.redis.get(workflow_lock_key(name))
            if holder is not None and holder.decode() == workflow_lock_token(run_id):
                continue
            reason = "the worker stopped before the pass finished (its lock lapsed)"
        elif enqueued_at < now - LOST_JOB_GRACE:
            reason = _lost_job_reason(runtime, run_id)
        else:
            continue
        if reason is not None and _fail_run(runtime, run_id, status, reason, now):
            actions.append(f"workflow {name} run {run_id}: failed, {reason}")
    return actions


def _lost_job_reason(runtime: Runtime, run_id: int) -> str | None:
    """Why the job of a queued run will never start it, or None if it still may."""
    try:
        job = Job.fetch(workflow_job_id(run_id), connection=runtime.redis)
    except NoSuchJobError:
        return "it has no job (Redis lost or deleted it, or the command running it stopped)"
    except RedisError:
        return None
    status = job.get_status(refresh=False)
    if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        result = job.latest_result()
        detail = f": {result.exc_string}" if result is not None and result.exc_string else ""
        return f"its job {status.value} before the pass began{detail}"
    return None
