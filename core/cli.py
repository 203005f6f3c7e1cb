"""The ``campaign`` command line: the root group, the kernel's own commands (schema, plugins,
worker, scheduler) and the helpers of the commands plugins add with ``register_commands``."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click

from core.config import ConfigError, Settings
from core.db.database import Database
from core.jobs.queue import QUEUE_NAMES
from core.plugins import REGISTER_HOOKS, PluginConflictError, PluginHost, plugins_for
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
    # A long-running process only checks the schema, and Alembic would name the dialect at
    # each check ("Context impl SQLiteImpl."), which tells an operator nothing.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


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
    from alembic.util import CommandError

    with refusing(CommandError):
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
