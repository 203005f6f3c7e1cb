"""The bundle's commands on the ``campaign`` command line, added through ``register_commands``."""

from __future__ import annotations

import json
import os
from functools import partial

import click
from sqlalchemy import select

from core.cli import CliState, pass_state, refusing, start_runtime
from core.documents.archive import open_store
from core.engine.campaigns import CampaignError, find_campaign
from core.models import Run
from plugins.processes.models import CampaignTemplate
from plugins.processes.run_voiding import VoidError, void_run
from plugins.processes.template_setup import (
    TemplateNotFoundError,
    find_template,
    planned_lines,
    template_facts,
)


@click.command("void-run")
@click.argument("campaign")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the run no longer counts; kept with it.")
@pass_state
def void_run_command(state: CliState, campaign: str, number: int, reason: str) -> None:
    """Void run NUMBER of CAMPAIGN (replaced or cancelled for good): its letters leave the
    archive now, its counts leave the costs and stock at the workflows' next passes."""
    runtime = start_runtime(state)
    stores = partial(open_store, runtime.plugins, runtime.settings)
    try:
        with runtime.database.session() as session:
            found = find_campaign(session, campaign)
            run_id = session.scalar(
                select(Run.id).where(Run.campaign_id == found.id, Run.number == number)
            )
            if run_id is None:
                raise VoidError(f"campaign {found.name!r} has no run #{number}")
            voided = void_run(
                session,
                stores,
                run_id,
                now=runtime.clock.now(),
                by=os.environ.get("USER", "cli"),
                reason=reason,
                plugins=runtime.plugins,
            )
    except (CampaignError, VoidError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"run #{number} of {campaign!r} voided" if voided else f"run #{number} was voided already"
    )


@click.group("templates")
def templates_group() -> None:
    """Campaign templates: list and show them with their schedule (as the HTTP API does)."""


@templates_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON lines.")
@pass_state
def templates_list(state: CliState, as_json: bool) -> None:
    """Every campaign template: id, kind, whether it is active, its next line or date (as
    the panel's list), and its name."""
    runtime = start_runtime(state)
    with runtime.database.session() as session:
        rows = session.scalars(select(CampaignTemplate).order_by(CampaignTemplate.id)).all()
        facts = template_facts(session, rows, runtime.clock.now())
    for row in facts:
        if as_json:
            click.echo(_json(row, indent=None))
            continue
        line = row["next_line"]
        upcoming = line["planned_at"] if line else row["next_date"]
        click.echo(
            f"{row['id']:>5}  {row['kind']:<10} {'active' if row['active'] else 'paused':<7} "
            f"{upcoming.isoformat() if upcoming else '-':<25} {row['name']}"
        )


@templates_group.command("show")
@click.argument("template")
@pass_state
def templates_show(state: CliState, template: str) -> None:
    """TEMPLATE (its name or id) as JSON: its schedule, its next line or date and its
    planned lines."""
    runtime = start_runtime(state)
    with refusing(TemplateNotFoundError), runtime.database.session() as session:
        found = find_template(session, template)
        (facts,) = template_facts(session, [found], runtime.clock.now())
        facts["planned_lines"] = planned_lines(session, found)
    click.echo(_json(facts, indent=2))


def _json(value: dict, indent: int | None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=lambda at: at.isoformat())
