"""The bundle's commands on the ``campaign`` command line, added through ``register_commands``."""

from __future__ import annotations

import os
from functools import partial

import click
from sqlalchemy import select

from core.cli import CliState, pass_state, start_runtime
from core.documents.archive import open_store
from core.engine.campaigns import CampaignError, find_campaign
from core.models import Run
from plugins.processes.run_voiding import VoidError, void_run


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
            )
    except (CampaignError, VoidError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"run #{number} of {campaign!r} voided" if voided else f"run #{number} was voided already"
    )
