"""The ``campaign`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click

from core.config import ConfigError, Settings
from core.db.database import Database
from core.jobs.queue import QUEUE_NAMES
from core.plugins import (
    REGISTER_HOOKS,
    PluginConflictError,
    PluginHost,
    UnknownPluginError,
    plugins_for,
)
from core.runtime import Runtime, SchemaOutdatedError


@dataclass
class CliState:
    settings: Settings
    plugins: PluginHost


pass_state = click.pass_obj
"""Hands a command the ``CliState``; plugin commands use it too. ``ctx.obj`` rather than a
lookup by class, so it works when a plugin's command imports this module a second time
(``python -m core.cli``)."""


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@contextmanager
def refusing(*errors: type[Exception]) -> Iterator[None]:
    """End the command with the message of an error it expects."""
    try:
        yield
    except errors as exc:
        raise click.ClickException(str(exc)) from None


def start_runtime(state: CliState) -> Runtime:
    """The runtime of a command that works with the queue; a bad setting or an outdated
    schema ends the command with the reason."""
    with refusing(ConfigError, SchemaOutdatedError):
        return Runtime.start(state.settings, state.plugins)


@click.group()
def cli() -> None:
    """Campaign: marketing campaigns and mass print."""


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option(
    "--revision",
    default="heads",
    show_default=True,
    help="A revision, or BRANCH@head (the core's branch is 'core', a plugin's its name).",
)
@pass_state
def db_upgrade(state: CliState, revision: str) -> None:
    """Create or upgrade the database schema: the core's and every enabled plugin's tables."""
    from alembic.util import CommandError

    from core.db.schema import upgrade

    database = Database(state.settings.database_url)
    with refusing(ConfigError, CommandError):
        database.check()
        upgrade(database.engine, revision, state.plugins)
    _echo_branches(database, state.plugins)


@db.command("downgrade")
@click.argument("revision")
@pass_state
def db_downgrade(state: CliState, revision: str) -> None:
    """Go back to REVISION, e.g. 'hello@base' to drop the tables of the plugin 'hello'."""
    from alembic.util import CommandError

    from core.db.schema import UnloadedBranchError, downgrade

    database = Database(state.settings.database_url)
    with refusing(UnloadedBranchError, CommandError):
        downgrade(database.engine, revision, state.plugins)
    _echo_branches(database, state.plugins)


@db.command("current")
@pass_state
def db_current(state: CliState) -> None:
    """Show the schema revision of each branch (the core's, each plugin's) in the database and
    in the code."""
    _echo_branches(Database(state.settings.database_url), state.plugins)


def _echo_branches(database: Database, plugins: PluginHost) -> None:
    from core.db.schema import branch_states

    for branch in branch_states(database.engine, plugins):
        name = branch.name or "(plugin not loaded)"
        click.echo(f"{name}: database {branch.database or 'empty'}, code {branch.code or '-'}")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def plugins_command(state: CliState, as_json: bool) -> None:
    """List loaded plugins, what they register, and load errors."""
    host = state.plugins
    if as_json:
        click.echo(json.dumps(host.describe(), indent=2))
        return
    loaded = host.loaded()
    for plugin in loaded:
        click.secho(plugin.name, bold=True, nl=False)
        click.echo(f"  ({plugin.source})")
        for kind, name in plugin.registrations:
            click.echo(f"    {kind:<16} {name:<24} {host.registries[kind].get(name).title}")
        if other_hooks := [hook for hook in plugin.hooks if hook not in REGISTER_HOOKS]:
            click.echo(f"    hooks: {', '.join(other_hooks)}")
    if not loaded:
        click.echo("no plugins loaded")
    for name in host.disabled:
        click.secho(f"{name}  disabled by CAMPAIGN_DISABLE_PLUGINS", fg="yellow")
    for error in host.errors:
        click.secho(f"{error.plugin}  NOT LOADED: {error.reason}", fg="red")


@cli.command("run")
@click.argument("campaign")
@click.option("--dry-run", is_flag=True, help="Target and preview without side effects.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N.")
@click.option("--parallel", is_flag=True, help="Allow it to overlap a run already in progress.")
@click.option("--wait", is_flag=True, help="Show progress until the run ends.")
@click.option("--yes", is_flag=True, help="Send without asking, after showing the numbers.")
@pass_state
def run_command(
    state: CliState,
    campaign: str,
    dry_run: bool,
    limit: int | None,
    parallel: bool,
    wait: bool,
    yes: bool,
) -> None:
    """Run CAMPAIGN (its name or id): a worker analyses it, then, shown the recipients it
    would reach, you confirm the send (``--yes`` confirms without asking). A dry run sends
    nothing and asks nothing."""
    from core.engine.campaigns import CampaignError, find_campaign
    from core.engine.runs import RunError, start_run

    runtime = start_runtime(state)
    with refusing(CampaignError, RunError):
        with runtime.database.session() as session:
            campaign_id = find_campaign(session, campaign).id
        run = start_run(
            runtime,
            campaign_id,
            started_by=_who(),
            dry_run=dry_run,
            limit=limit,
            allow_parallel=parallel,
        )
    click.echo(f"run #{run.number} of {campaign!r} queued (id {run.id})")
    if not dry_run:
        _confirm(runtime, run.id, yes)
    if wait:
        _follow(runtime, run.id)


@cli.group()
def campaigns() -> None:
    """Campaigns: create, show and list them (the services the HTTP API uses)."""


MAX_SPEC_BYTES = 1024 * 1024
CAMPAIGN_SPEC_KEYS = {
    "name",
    "description",
    "datasource",
    "datasource_settings",
    "filters",
    "action",
    "action_settings",
}


@campaigns.command("create")
@click.argument("spec", type=click.File("rb"))
@click.option("--name", default=None, help="Name (default: the file's, else a generated one).")
@pass_state
def campaigns_create(state: CliState, spec, name: str | None) -> None:
    """Create a campaign from SPEC, a JSON file ("-" for standard input) in the format of
    the API's ``POST /campaigns``: datasource, datasource_settings, filters, action,
    action_settings, name, description. Each plugin's settings are checked by its model."""
    from core.engine import operations
    from core.engine.campaigns import CampaignConfig, CampaignError

    raw = spec.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise click.ClickException(f"SPEC: larger than {MAX_SPEC_BYTES // 1024} KB")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise click.ClickException(f"SPEC: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise click.ClickException("SPEC: must be a JSON object")
    if unknown := sorted(set(data) - CAMPAIGN_SPEC_KEYS):
        raise click.ClickException(f"SPEC: unknown key(s) {', '.join(unknown)}")
    for key in ("datasource", "action"):
        if not isinstance(data.get(key), str):
            raise click.ClickException(f"SPEC: {key} must name a plugin")
    config = CampaignConfig(
        datasource=data["datasource"],
        action=data["action"],
        datasource_settings=data.get("datasource_settings") or {},
        action_settings=data.get("action_settings") or {},
        filters=tuple(data.get("filters") or ()),
    )
    runtime = start_runtime(state)
    with refusing(CampaignError), runtime.database.session() as session:
        campaign = operations.create(
            session,
            runtime.plugins,
            config,
            runtime.clock.now(),
            _who(),
            name=name or data.get("name"),
            description=str(data.get("description") or ""),
            via={"cli": True},
        )
    click.echo(f"campaign {campaign.name!r} created (id {campaign.id})")


@campaigns.command("show")
@click.argument("campaign")
@pass_state
def campaigns_show(state: CliState, campaign: str) -> None:
    """CAMPAIGN (its name or id) as JSON: its state, plugins, settings and last run."""
    from core.engine.campaigns import CampaignError, find_campaign, last_execution

    runtime = start_runtime(state)
    with refusing(CampaignError), runtime.database.session() as session:
        found = find_campaign(session, campaign)
        last = last_execution(session, found.id)
    shown = {
        "id": found.id,
        "name": found.name,
        "description": found.description,
        "state": found.status.value,
        "datasource": found.datasource,
        "datasource_settings": found.datasource_settings,
        "filters": found.filters,
        "action": found.action,
        "action_settings": found.action_settings,
        "created_by": found.created_by,
        "last_execution": last.isoformat() if last else None,
    }
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False))


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON lines.")
@pass_state
def campaigns_list(state: CliState, as_json: bool) -> None:
    """Every campaign: id, state, data source, action and name."""
    from sqlalchemy import select

    from core.models import Campaign

    runtime = start_runtime(state)
    with runtime.database.session() as session:
        for found in session.scalars(select(Campaign).order_by(Campaign.id)):
            row = {
                "id": found.id,
                "name": found.name,
                "state": found.status.value,
                "datasource": found.datasource,
                "action": found.action,
            }
            if as_json:
                click.echo(json.dumps(row, ensure_ascii=False))
            else:
                click.echo(
                    f"{found.id:>5}  {row['state']:<12} {found.datasource:<12} "
                    f"{found.action:<16} {found.name}"
                )


@cli.group()
def documents() -> None:
    """The archived documents' stores."""


@documents.command("move")
@click.option("--to", "target", required=True, help="Document store to move them into.")
@click.option("--from", "source", default=None, help="Only the documents of this store.")
@pass_state
def documents_move(state: CliState, target: str, source: str | None) -> None:
    """Move archived documents and run files into the store TO, checking each copy's
    SHA-256 before the database points at it and the source copy is deleted; run files
    still in this machine's <data_dir>/runs/ are taken into TO the same way. Run it again
    to finish; then set CAMPAIGN_RUN_FILE_STORE=TO everywhere."""
    from core.db.schema import missing_heads
    from core.documents.archive import move_documents
    from core.documents.run_files import RunFiles, import_legacy_run_files, move_run_files

    run_files = RunFiles(state.plugins, state.settings)
    database = Database(state.settings.database_url)
    try:
        if missing := missing_heads(database.engine, state.plugins):
            raise click.ClickException(
                f"the database lacks revisions {', '.join(missing)}: run 'campaign db upgrade'"
            )
        with refusing(UnknownPluginError, ValueError):
            for name in filter(None, (target, source)):
                run_files.store(name)
            report = move_documents(database, run_files.store, target, source=source)
            files = move_run_files(database, run_files, target, source=source)
            if source in (None, "filesystem"):
                import_legacy_run_files(database, run_files, target, report=files)
    finally:
        database.dispose()
    for what, reason in report.failed + files.failed:
        click.secho(f"{what} not moved: {reason}", fg="red", err=True)
    for store_name, reference in report.orphans + files.orphans:
        click.echo(f"{store_name}:{reference} moved but not deleted from its old store")
    click.echo(f"{report.moved} documents moved to {target!r}, {len(report.failed)} not moved")
    click.echo(
        f"{files.moved + files.imported} run files moved to {target!r} "
        f"({files.imported} from {state.settings.data_dir / 'runs'}), "
        f"{len(files.failed)} not moved"
    )
    if report.failed or files.failed:
        sys.exit(1)


def _confirm(runtime: Runtime, run_id: int, yes: bool) -> None:
    """Wait for the analysis, show its numbers and send only on the person's yes."""
    from core.engine.confirmation import confirmation
    from core.engine.runs import QueueDeferredError, RunError, cancel_run, confirm_run, discard_run
    from core.models import Run, RunState

    click.echo("analysing (a worker targets the recipients) ...")
    try:
        run = _until_targeted(runtime, run_id)
    except KeyboardInterrupt:
        cancel_run(runtime, run_id)
        raise click.ClickException("interrupted: the run is cancelled, nothing was sent") from None
    if run.state != RunState.AWAITING_CONFIRMATION:
        raise click.ClickException(
            f"run #{run.number} is {run.state}" + (f": {run.error}" if run.error else "")
        )
    with runtime.database.session() as session:
        shown = confirmation(session, runtime.plugins, session.get(Run, run_id))
    _print_confirmation(shown)
    question = f"Send to {shown.reached} recipients?"
    if yes:
        click.echo(f"{question} yes (--yes)")
    else:
        try:
            answer = click.confirm(question, default=False)
        except click.Abort:
            discard_run(runtime, run_id, "no answer to the confirmation; nothing was sent")
            raise click.ClickException(
                "no answer (no terminal?): nothing was sent and the analysis is discarded; "
                "run again with --yes to send without asking"
            ) from None
        if not answer:
            discard_run(runtime, run_id, "not confirmed; nothing was sent")
            raise click.ClickException("not confirmed: nothing was sent, the analysis is discarded")
    try:
        confirm_run(runtime, run_id, _who(), shown.reached)
    except RunError as exc:
        raise click.ClickException(f"not sent: {exc}") from None
    except QueueDeferredError as exc:
        click.echo(f"confirmed, but the queue did not answer ({exc}); the scheduler enqueues it")
    click.echo(f"run #{shown.number} confirmed: sending to {shown.reached} recipients")


def _load_run(runtime: Runtime, run_id: int):
    from core.models import Run

    with runtime.database.session() as session:
        return session.get(Run, run_id)


def _until_targeted(runtime: Runtime, run_id: int):
    from core.models import RunState

    while (run := _load_run(runtime, run_id)).state in (RunState.QUEUED, RunState.TARGETING):
        time.sleep(0.5)
    return run


def _print_confirmation(shown) -> None:
    """The numbers the person confirms, the same as the panel's confirmation shows."""
    from core.messages import english_text
    from core.reach import reason_text

    unit = "groups" if shown.group_scoped else "recipients"
    click.echo(f"would reach:   {shown.reached} {unit}")
    if shown.group_scoped:
        click.echo(f"               ({shown.summary.members} recipients in those groups)")
    if shown.summary.skipped:
        click.echo("skipped:")
        for reason, count in shown.summary.skipped.items():
            click.echo(f"  {count:>8}  {reason_text(reason) or '(no reason given)'}")
    else:
        click.echo("skipped:       none")
    if shown.summary.held_out:
        click.echo(f"held out:      {shown.summary.held_out} (control group)")
    click.echo(f"channel:       {shown.channel.value} ({shown.action_title})")
    cost = shown.cost
    if cost.source == "service":
        click.echo(f"cost estimate: {cost.amount} EUR (prices of the service {cost.service!r})")
    elif cost.source == "estimate":
        click.echo(f"cost estimate: {cost.amount} EUR (the campaign's estimated cost)")
    elif cost.source == "error":
        problem = english_text(cost.problem)
        click.echo(f"cost estimate: none, the prices of {cost.service!r} fail: {problem}")
    else:
        click.echo("cost estimate: none (no provider service and no estimated cost set)")


def _follow(runtime: Runtime, run_id: int) -> None:
    """A progress bar fed by the run's counters until it reaches a final state."""
    from core.models import FINAL_RUN_STATES, RunState

    run = _until_targeted(runtime, run_id)
    total = max(run.targeted - run.held_out, 0)
    with click.progressbar(length=total, label=f"run #{run.number}", show_pos=True) as bar:
        shown = 0
        while True:
            run = _load_run(runtime, run_id)
            progressed = min(run.done + run.failed + run.skipped + run.unclear, total)
            bar.update(progressed - shown)
            shown = progressed
            if run.state in FINAL_RUN_STATES:
                break
            time.sleep(0.5)
    click.echo(
        f"{run.state}: {run.targeted} targeted, {run.done} done, {run.failed} failed, "
        f"{run.skipped} skipped, {run.unclear} unclear, {run.held_out} held out"
    )
    if run.error:
        click.echo(run.error)
    if run.state != RunState.COMPLETED:
        raise SystemExit(1)


def _who() -> str:
    return os.environ.get("USER", "cli")


def _local_time(value, settings: Settings, seconds: bool = False) -> str:
    from core.workflows.schedules import load_zone

    if value is None:
        return "-"
    pattern = "%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z"
    return value.astimezone(load_zone(settings.timezone)).strftime(pattern)


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable listing.")
@click.pass_context
def workflows(ctx: click.Context, as_json: bool) -> None:
    """The background workflows: state, schedule, last and next run."""
    if ctx.invoked_subcommand is not None:
        return
    from core.workflows.operating import list_workflows, stopped_warning

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
    from core.models import WorkflowRun, WorkflowRunStatus
    from core.workflows.operating import request_run, run_inline

    runtime = start_runtime(state)
    with refusing(UnknownPluginError):
        if enqueue or wait:
            run = request_run(runtime, name, _who())
            click.echo(f"{name} run {run.id} queued for a worker")
            if not wait:
                return
            while not run.finished:
                time.sleep(0.5)
                with runtime.database.session() as session:
                    run = session.get(WorkflowRun, run.id)
        else:
            run = run_inline(runtime, name, _who())
    for line in run.log:
        click.echo(f"  {line}")
    click.echo(f"{name} run {run.id} {run.status}" + (f": {run.summary}" if run.summary else ""))
    if run.error:
        click.echo(run.error.rstrip(), err=True)
    if run.status != WorkflowRunStatus.SUCCEEDED:
        raise SystemExit(1)


def _change_workflow(state: CliState, change, name: str, *args, **kwargs) -> None:
    from core.workflows.operating import stopped_warning, stopped_workflows
    from core.workflows.schedules import ScheduleError

    runtime = start_runtime(state)
    now = runtime.clock.now()
    with refusing(UnknownPluginError, ScheduleError), runtime.database.session() as session:
        row = change(session, runtime.plugins, state.settings, name, *args, _who(), now, **kwargs)
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
    from core.workflows.operating import set_started

    _change_workflow(state, set_started, name, True)


@workflows.command("stop")
@click.argument("name")
@pass_state
def workflows_stop(state: CliState, name: str) -> None:
    """Stop scheduling workflow NAME (a pass already running finishes)."""
    from core.workflows.operating import set_started

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
    from core.workflows.operating import set_schedule

    _change_workflow(state, set_schedule, name, " ".join(expression), timezone=timezone)


@workflows.command("history")
@click.argument("name")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--log", "with_log", is_flag=True, help="Show each run's log and full error.")
@pass_state
def workflows_history(state: CliState, name: str, page: int, per_page: int, with_log: bool) -> None:
    """The runs of workflow NAME, newest first."""
    from core.workflows.operating import run_history

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


@cli.command()
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queues to listen on (default: all, most urgent first).",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@pass_state
def worker(state: CliState, queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker that executes campaign runs and workflows."""
    from core.jobs.worker import run_worker

    configure_logging(state.settings.log_level)
    run_worker(start_runtime(state), queues or QUEUE_NAMES, burst=burst)


@cli.command()
@pass_state
def scheduler(state: CliState) -> None:
    """Run the scheduler that enqueues the background workflows."""
    from core.jobs.scheduler import Scheduler

    configure_logging(state.settings.log_level)
    Scheduler(start_runtime(state)).run_forever()


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings.from_env()
        plugins = plugins_for(settings)
        plugins.hook.check_settings(settings=settings)
    except (ConfigError, PluginConflictError) as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(2)
    plugins.add_commands(cli)
    cli.main(args=argv, obj=CliState(settings, plugins), prog_name="campaign")


if __name__ == "__main__":
    main()
