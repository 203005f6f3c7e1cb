"""The platform's own commands on ``campaign``: runs, campaigns, documents and workflows."""

from __future__ import annotations

import click

from core import hookimpl
from plugins.commands.campaigns import campaigns, documents, run_command
from plugins.commands.workflows import workflows


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(run_command)
    cli.add_command(campaigns)
    cli.add_command(documents)
    cli.add_command(workflows)
