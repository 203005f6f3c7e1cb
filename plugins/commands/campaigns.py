"""``campaign run``, ``campaigns`` and ``documents move``: what the panel does with campaigns,
runs and archived documents, for a terminal and for scripts."""

from __future__ import annotations

import json
import os
import sys
import time
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from core.cli import CliState, pass_state, refusing, start_runtime
from core.db.database import Database
from core.documents.archive import move_documents
from core.documents.run_files import RunFiles, import_legacy_run_files, move_run_files
from core.engine import operations
from core.engine.campaigns import CampaignConfig, CampaignError, find_campaign, last_execution
from core.engine.confirmation import confirmation
from core.engine.runs import (
    QueueDeferredError,
    RunError,
    cancel_run,
    confirm_run,
    discard_run,
    start_run,
)
from core.engine.sending_window import SendingWindow
from core.messages import english_text
from core.models import FINAL_RUN_STATES, Campaign, Run, RunState
from core.plugins import UnknownPluginError
from core.reach import reason_text
from core.runtime import Runtime, SchemaOutdatedError, check_schema


@click.command("run")
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
    runtime = start_runtime(state)
    with refusing(CampaignError, RunError):
        with runtime.database.session() as session:
            campaign_id = find_campaign(session, campaign).id
        run = start_run(
            runtime,
            campaign_id,
            started_by=who(),
            dry_run=dry_run,
            limit=limit,
            allow_parallel=parallel,
        )
    click.echo(f"run #{run.number} of {campaign!r} queued (id {run.id})")
    if not dry_run:
        _confirm(runtime, run.id, yes)
    if wait:
        _follow(runtime, run.id)


@click.group()
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
            who(),
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


@click.group()
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
    run_files = RunFiles(state.plugins, state.settings)
    database = Database(state.settings.database_url)
    try:
        with refusing(SchemaOutdatedError):
            check_schema(database, state.plugins)
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
        confirm_run(runtime, run_id, who(), shown.reached)
    except RunError as exc:
        raise click.ClickException(f"not sent: {exc}") from None
    except QueueDeferredError as exc:
        click.echo(f"confirmed, but the queue did not answer ({exc}); the scheduler enqueues it")
    click.echo(f"run #{shown.number} confirmed: sending to {shown.reached} recipients")
    _print_pace(runtime, run_id)


def _print_pace(runtime: Runtime, run_id: int) -> None:
    """When sending starts, if the run's sending window is closed now, and its hourly limit."""
    config = _load_run(runtime, run_id).config
    window = SendingWindow.from_json(config.get("sending_window"))
    zone = runtime.settings.timezone
    if window and (opens_at := window.waits_until(runtime.clock.now(), ZoneInfo(zone))):
        click.echo(f"its sending window is closed: sending starts {opens_at:%Y-%m-%d %H:%M} {zone}")
    if limit := config.get("hourly_limit"):
        click.echo(f"its hourly limit: at most {limit} sends in any hour")


def _load_run(runtime: Runtime, run_id: int) -> Run:
    with runtime.database.session() as session:
        return session.get(Run, run_id)


def _until_targeted(runtime: Runtime, run_id: int) -> Run:
    while (run := _load_run(runtime, run_id)).state in (RunState.QUEUED, RunState.TARGETING):
        time.sleep(0.5)
    return run


def _print_confirmation(shown) -> None:
    """The numbers the person confirms, the same as the panel's confirmation shows."""
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


def who() -> str:
    """Who a command acts for in the audit log and the runs: the login, else "cli"."""
    return os.environ.get("USER", "cli")
