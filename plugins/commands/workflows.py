"""``campaign workflows``: the background workflows' state, schedules and runs, as the panel's
workflow screen shows and changes them."""

from __future__ import annotations

import json
import time

import click

from core.cli import CliState, pass_state, refusing, start_runtime
from core.config import Settings
from core.models import WorkflowRun, WorkflowRunStatus
from core.plugins import UnknownPluginError
from core.workflows.operating import (
    list_workflows,
    request_run,
    run_history,
    run_inline,
    set_schedule,
    set_started,
    stopped_warning,
    stopped_workflows,
)
from core.workflows.schedules import ScheduleError, load_zone
from plugins.commands.campaigns import who


def _local_time(value, settings: Settings, seconds: bool = False) -> str:
    if value is None:
        return "-"
    pattern = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return value.astimezone(load_zone(settings.timezone)).strftime(pattern)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable listing.")
@click.pass_context
def workflows(ctx: click.Context, as_json: bool) -> None:
    """The background workflows: state, schedule, last and next run."""
    if ctx.invoked_subcommand is not None:
        return
    state: CliState = ctx.obj
    runtime = start_runtime(state)
    with runtime.database.session() as session:
        listed = list_workflows(session, runtime.plugins, state.settings, runtime.clock.now())
    if as_json:
        click.echo(json.dumps([workflow.as_dict() for workflow in listed], indent=2))
    elif not listed:
        click.echo("no workflows registered")
    else:
        rows = [("NAME", "STATE", "SCHEDULE", "NEXT RUN", "LAST RUN")]
        for workflow in listed:
            last, last_text = workflow.last_run, "never"
            if last is not None:
                when = last.finished_at or last.started_at or last.enqueued_at
                outcome = last.summary or last.error_line
                last_text = f"{last.status} {_local_time(when, state.settings)}"
                last_text += f": {outcome}" if outcome else ""
            rows.append(
                (
                    workflow.name,
                    "started" if workflow.enabled else "STOPPED",
                    workflow.schedule_text,
                    _local_time(workflow.next_run_at, state.settings),
                    last_text,
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            click.echo("  ".join([*cells, row[4]]).rstrip())
    _warn_if_stopped(stopped_warning([each.name for each in listed if not each.enabled]))


def _warn_if_stopped(warning: str | None) -> None:
    if warning:
        click.secho(f"WARNING: {warning}", fg="red", err=True)


@workflows.command("run")
@click.argument("name")
@click.option("--enqueue", is_flag=True, help="Hand it to a worker and return at once.")
@click.option("--wait", is_flag=True, help="Hand it to a worker and wait for the outcome.")
@pass_state
def workflows_run(state: CliState, name: str, enqueue: bool, wait: bool) -> None:
    """Run workflow NAME now, here (or on a worker with --enqueue/--wait)."""
    runtime = start_runtime(state)
    with refusing(UnknownPluginError):
        if enqueue or wait:
            run = request_run(runtime, name, who())
            click.echo(f"{name} run {run.id} queued for a worker")
            if not wait:
                return
            while not run.finished:
                time.sleep(0.5)
                with runtime.database.session() as session:
                    run = session.get(WorkflowRun, run.id)
        else:
            run = run_inline(runtime, name, who())
    for line in run.log:
        click.echo(f"  {line}")
    click.echo(f"{name} run {run.id} {run.status}" + (f": {run.summary}" if run.summary else ""))
    if run.error:
        click.echo(run.error.rstrip(), err=True)
    if run.status != WorkflowRunStatus.SUCCEEDED:
        raise SystemExit(1)


def _change_workflow(state: CliState, change, name: str, *args, **kwargs) -> None:
    runtime = start_runtime(state)
    now = runtime.clock.now()
    with refusing(UnknownPluginError, ScheduleError), runtime.database.session() as session:
        row = change(session, runtime.plugins, state.settings, name, *args, who(), now, **kwargs)
        stopped = stopped_workflows(session, runtime.plugins)
    schedule = row.schedule.describe(state.settings.timezone)
    if row.enabled:
        next_run = _local_time(row.next_run_at, state.settings)
        click.echo(f"{name} started, {schedule}, next run {next_run}")
    else:
        click.echo(f"{name} stopped ({schedule}); the scheduler will not run it")
    _warn_if_stopped(stopped_warning(stopped))


@workflows.command("start")
@click.argument("name")
@pass_state
def workflows_start(state: CliState, name: str) -> None:
    """Let the scheduler run workflow NAME again."""
    _change_workflow(state, set_started, name, True)


@workflows.command("stop")
@click.argument("name")
@pass_state
def workflows_stop(state: CliState, name: str) -> None:
    """Stop scheduling workflow NAME (a pass already running finishes)."""
    _change_workflow(state, set_started, name, False)


@workflows.command("schedule")
@click.argument("name")
@click.argument("expression", nargs=-1, required=True)
@click.option("--timezone", default=None, help="Zone a cron expression is read in.")
@pass_state
def workflows_schedule(
    state: CliState, name: str, expression: tuple[str, ...], timezone: str | None
) -> None:
    """Set when NAME runs: an interval ("30m", "every 2h"), a quoted cron expression
    ("0 6 * * 1-5") or "default"."""
    _change_workflow(state, set_schedule, name, " ".join(expression), timezone=timezone)


@workflows.command("history")
@click.argument("name")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--log", "with_log", is_flag=True, help="Show each run's log and full error.")
@pass_state
def workflows_history(state: CliState, name: str, page: int, per_page: int, with_log: bool) -> None:
    """The runs of workflow NAME, newest first."""
    runtime = start_runtime(state)
    with runtime.database.session() as session:
        history = run_history(session, name, page, per_page)
    if not history.total:
        click.echo(f"{name} has not run yet")
        return
    for run in history.runs:
        started = _local_time(run.started_at or run.enqueued_at, state.settings, seconds=True)
        took = ""
        if run.started_at and run.finished_at:
            took = f" ({(run.finished_at - run.started_at).total_seconds():.1f}s)"
        worker = f" on {run.worker}" if run.worker else ""
        by = f" by {run.requested_by}" if run.requested_by else ""
        click.echo(f"run {run.id}  {run.status}  {run.trigger}{by}  {started}{took}{worker}")
        if run.summary:
            click.echo(f"  {run.summary}")
        if with_log:
            for line in run.log:
                click.echo(f"  | {line}")
        if run.error:
            error = run.error.rstrip() if with_log else run.error_line
            click.echo("  error: " + error.replace("\n", "\n  "))
    click.echo(f"page {history.page} of {history.pages} ({history.total} runs)")
