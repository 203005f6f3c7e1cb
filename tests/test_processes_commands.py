"""The bundle's commands (``plugins.processes.commands``) on the real ``campaign`` group:
voiding a run, listing and showing campaign templates."""

import json
from datetime import UTC, datetime

import click
import pytest
from click.testing import CliRunner

from core.cli import CliState, cli
from core.db.database import Database
from core.models import ArchiveDeletion, Campaign, Run, RunState
from core.plugins import load_plugins
from plugins.processes.models import CampaignTemplate, Frequency, TemplateKind, TemplateOccurrence


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


def test_templates_are_listed_and_shown_with_their_next_dates(invoke, settings):
    database = Database(settings.database_url)
    first = datetime(2990, 2, 1, 8, 0, tzinfo=UTC)
    with database.session() as session:
        models = [Campaign(name=name, datasource="static", action="print_reports")
                  for name in ("Newsletter (Muster)", "Brief (Muster)")]  # fmt: skip
        session.add_all(models)
        session.flush()
        weekly = CampaignTemplate(name="Newsletter", kind=TemplateKind.RECURRING,
                                  campaign_id=models[0].id, frequency=Frequency.WEEKLY, every=2,
                                  first_at=first)  # fmt: skip
        unique = CampaignTemplate(name="Brief", kind=TemplateKind.UNIQUE,
                                  campaign_id=models[1].id, active=False)  # fmt: skip
        session.add_all([weekly, unique])
        session.flush()
        session.add(TemplateOccurrence.for_template(weekly, 1, first))
        weekly_id, unique_id = weekly.id, unique.id
    database.dispose()

    listed = invoke("templates", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        f"{weekly_id:>5}  recurring  active  2990-02-01T08:00:00+00:00 Newsletter",
        f"{unique_id:>5}  unique     paused  -                         Brief",
    ]
    rows = [json.loads(line) for line in invoke("templates", "list", "--json").output.splitlines()]
    assert [(row["name"], row["next_line"] and row["next_line"]["label"]) for row in rows] == [
        ("Newsletter", "Newsletter #1"),
        ("Brief", None),
    ]
    shown = invoke("templates", "show", "Newsletter")
    assert shown.exit_code == 0, shown.output
    template = json.loads(shown.output)
    assert (template["id"], template["campaign"], template["frequency"], template["every"]) == (
        weekly_id,
        "Newsletter (Muster)",
        "weekly",
        2,
    )
    assert [line["planned_at"] for line in template["planned_lines"]] == [
        "2990-02-01T08:00:00+00:00"
    ]
    assert json.loads(invoke("templates", "show", str(unique_id)).output)["name"] == "Brief"
    for missing in ("Quartalsbrief", "999", str(2**40)):
        result = invoke("templates", "show", missing)
        assert result.exit_code == 1 and f"no campaign template '{missing}'" in result.output


def test_without_the_process_bundle_there_are_no_template_commands(settings):
    plugins = load_plugins(disabled=["plugins.processes"])
    group = click.Group(commands=dict(cli.commands))
    plugins.add_commands(group)
    result = CliRunner().invoke(group, ["templates", "list"], obj=CliState(settings, plugins))
    assert result.exit_code == 2 and "No such command 'templates'" in result.output
