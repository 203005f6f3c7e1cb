"""The demo: ``campaign demo`` fills an installation with made-up data to try it on.

A built-in plugin (listed in ``core.plugins.DEFAULT_PLUGINS``) that adds its command through
``register_commands``. The command loads the German demo address book (``address_book``),
the default reports and the ready campaign of the domain's worked example (``campaign``),
then asks every plugin for its demo data through the ``install_demo_data`` hook, handing it
that campaign to build on: the campaign processes put it into their plan with deliveries,
budget and task. ``CAMPAIGN_DISABLE_PLUGINS=plugins.demo`` leaves the command out of an
installation that must never hold made-up people.
"""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy.orm import Session

from core import hookimpl
from core.cli import CliState, pass_state
from core.clock import utcnow
from core.db.database import Database
from core.plugins import PluginHost
from plugins.demo.address_book import load_demo
from plugins.demo.campaign import install_demo_campaign
from plugins.demo.default_reports import install_default_reports


def install_demo(
    session: Session, plugins: PluginHost, now: datetime, seed: int = 2026, contacts: int = 2000
) -> list[str]:
    """Everything ``campaign demo`` loads, added where missing; a line for each part that
    says what was added. The caller commits."""
    lines = [load_demo(session, seed=seed, contacts=contacts).describe()]
    installed = install_default_reports(session)
    if installed:
        lines.append(f"default reports installed: {', '.join(installed)}")
    campaign, added = install_demo_campaign(session, plugins, now)
    if added:
        lines.append(f"demo campaign installed: {', '.join(added)}")
    from_plugins = plugins.hook.install_demo_data(
        session=session, plugins=plugins, campaign=campaign
    )
    lines.extend(line for line in reversed(from_plugins) if line)
    return lines


@click.command("demo")
@click.option("--seed", default=2026, show_default=True, help="Same seed, same data.")
@click.option("--contacts", type=click.IntRange(min=0), default=2000, show_default=True)
@pass_state
def demo_command(state: CliState, seed: int, contacts: int) -> None:
    """Load the German demo address book, the default reports, the ready campaign
    "Informationskampagne" and every plugin's demo data (the campaign processes: plan,
    budgets, providers, stock); safe to run again."""
    database = Database(state.settings.database_url, state.plugins)
    with database.session() as session:
        lines = install_demo(session, state.plugins, utcnow(), seed=seed, contacts=contacts)
    for line in lines:
        click.echo(line)


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(demo_command)
