"""The bundle's commands (``plugins.processes.commands``) on the real ``campaign`` group."""

from datetime import UTC, datetime

import click
import pytest
from click.testing import CliRunner

from core.cli import CliState, cli
from core.db.database import Database
from core.models import ArchiveDeletion, Campaign, Run, RunState
from core.plugins import load_plugins


@pytest.fixture
def invoke(settings):
    plugins = load_plugins()
    group = click.Group(commands=dict(cli.commands))
    plugins.add_commands(group)

    def run(*args):
        return CliRunner().invoke(group, list(args), obj=CliState(settings, plugins))

    return run


def test_void_run_voids_a_run_once_and_names_what_is_missing(invoke, settings):
    database = Database(settings.database_url)
    with database.session() as session:
        campaign = Campaign(name="Infobrief", datasource="static", action="print_reports")
        session.add(campaign)
        session.flush()
        session.add(Run(campaign_id=campaign.id, number=1, config={}, state=RunState.COMPLETED,
                        finished_at=datetime(2026, 3, 2, tzinfo=UTC)))  # fmt: skip
    blank = invoke("void-run", "Infobrief", "1", "--reason", " ")
    assert blank.exit_code == 1 and "a reason is needed" in blank.output
    result = invoke("void-run", "Infobrief", "1", "--reason", "ersetzt durch Lauf 2")
    assert result.exit_code == 0, result.output
    assert "run #1 of 'Infobrief' voided" in result.output
    assert "voided already" in invoke("void-run", "Infobrief", "1", "--reason", "x").output
    missing = invoke("void-run", "Infobrief", "7", "--reason", "x")
    assert missing.exit_code == 1 and "campaign 'Infobrief' has no run #7" in missing.output
    with database.session() as session:
        run = session.query(Run).one()
        assert run.superseded_reason == "ersetzt durch Lauf 2"
        assert session.query(ArchiveDeletion).one().reason == "run voided: ersetzt durch Lauf 2"
    database.dispose()
