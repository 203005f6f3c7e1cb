"""``campaign run``, ``campaigns`` and ``documents move`` (``plugins.commands.campaigns``)."""

import json
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.cli import CliState
from core.db.database import Database
from core.documents.archive import archive_document, open_store, read_document
from core.models import ArchivedDocument, DocumentKind
from core.plugins import load_plugins
from core.testing import disabled_plugins
from plugins.commands.campaigns import run_command

from waiting import stop_group, wait_for


@pytest.fixture
def run_cli(engine):
    """``campaign run`` on the installation of the engine's test plugins."""
    state = CliState(engine.runtime.settings, engine.runtime.plugins)

    def run(*args, input=None):
        return CliRunner().invoke(run_command, list(args), obj=state, input=input)

    return run


def test_run_starts_a_campaign_and_waits_with_a_progress_bar(engine, run_cli, tmp_path):
    from core.engine.campaigns import find_campaign

    engine.add_contacts(30)
    engine.campaign(name="Informationskampagne")
    worker = engine.start_worker_process(tmp_path / "worker.log")
    try:
        result = run_cli("Informationskampagne", "--wait", "--yes")
    finally:
        stop_group(worker)
    assert result.exit_code == 0, result.output
    assert "run #1 of 'Informationskampagne' queued" in result.output
    assert "would reach:   30 recipients" in result.output
    assert "channel:       none (Count a tag on the contact" in result.output
    assert "cost estimate: none (no provider service and no estimated cost set)" in result.output
    assert "Send to 30 recipients? yes (--yes)" in result.output
    assert "completed: 30 targeted, 30 done, 0 failed" in result.output
    with engine.runtime.database.session() as session:
        assert find_campaign(session, "Informationskampagne").runs[0].done == 30


def test_run_asks_before_sending_and_without_an_answer_sends_nothing(engine, run_cli, tmp_path):
    import signal

    from sqlalchemy import select

    from core.models import Run, RunState

    engine.add_contacts(6)
    engine.campaign(name="Infobrief")
    worker = engine.start_worker_process(tmp_path / "worker.log")
    try:
        unanswered = run_cli("Infobrief")
        declined = run_cli("Infobrief", input="n\n")
        answered = run_cli("Infobrief", "--wait", input="y\n")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert unanswered.exit_code == 1
    assert "would reach:   6 recipients" in unanswered.output
    assert "Send to 6 recipients? [y/N]" in unanswered.output
    assert "no answer (no terminal?): nothing was sent and the analysis is discarded" in (
        unanswered.output
    )
    assert declined.exit_code == 1
    assert "not confirmed: nothing was sent" in declined.output
    assert answered.exit_code == 0, answered.output
    assert "run #3 confirmed: sending to 6 recipients" in answered.output
    with engine.runtime.database.session() as session:
        runs = session.scalars(select(Run).order_by(Run.number)).all()
        assert [(run.state, run.done) for run in runs] == [
            (RunState.CANCELLED, 0),
            (RunState.CANCELLED, 0),
            (RunState.COMPLETED, 6),
        ]
        assert runs[2].confirmed_by == os.environ.get("USER", "cli")


def test_a_run_confirmed_outside_its_window_says_when_it_starts_and_names_its_limit(
    engine, run_cli, tmp_path
):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from core.models import Campaign, ChunkLease, Run, RunState

    engine.add_contacts(2)
    campaign_id = engine.campaign(name="Wochenendpost")
    tomorrow = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=1)).date()
    window = {"days": [tomorrow.weekday()], "start": "08:00", "end": "20:00"}
    with engine.runtime.database.session() as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(sending_window=window, hourly_limit=600)
        )
    opens_at = datetime.combine(tomorrow, time(8), tzinfo=ZoneInfo("Europe/Berlin"))

    def chunk_waits_for_the_window():
        with engine.runtime.database.session() as session:
            return session.scalar(select(ChunkLease.expires_at)) == opens_at

    worker = engine.start_worker_process(tmp_path / "worker.log")
    try:
        result = run_cli("Wochenendpost", "--yes")
        wait_for(chunk_waits_for_the_window, "the worker to hand the chunk back until 08:00")
    finally:
        stop_group(worker)
    assert result.exit_code == 0, result.output
    assert (
        f"its sending window is closed: sending starts {tomorrow:%Y-%m-%d} 08:00 Europe/Berlin"
        in result.output
    )
    assert "its hourly limit: at most 600 sends in any hour" in result.output
    with engine.runtime.database.session() as session:
        run = session.scalar(select(Run).where(Run.campaign_id == campaign_id))
        assert (run.state, run.done) == (RunState.RUNNING, 0)


def test_a_dry_run_asks_nothing(engine, run_cli, tmp_path):
    engine.add_contacts(3)
    engine.campaign(name="Probe")
    worker = engine.start_worker_process(tmp_path / "worker.log")
    try:
        result = run_cli("Probe", "--dry-run", "--wait")
    finally:
        stop_group(worker)
    assert result.exit_code == 0, result.output
    assert "Send to" not in result.output
    assert "completed: 3 targeted, 0 done" in result.output


def test_run_names_an_unknown_campaign(run_cli):
    result = run_cli("Sommeraktion")
    assert result.exit_code == 1
    assert "no campaign 'Sommeraktion'" in result.output


def test_run_refuses_a_cancelled_campaign(engine, run_cli):
    from core.models import Campaign, CampaignStatus

    campaign_id = engine.campaign(name="Sommeraktion")
    with engine.runtime.database.session() as session:
        session.get(Campaign, campaign_id).status = CampaignStatus.CANCELLED
    result = run_cli("Sommeraktion")
    assert result.exit_code == 1
    assert "campaign 'Sommeraktion' is cancelled; reopen it before starting a run" in result.output


def test_documents_move_to_the_database_store_and_back(invoke, settings):
    plugins = load_plugins(disabled=disabled_plugins())
    filesystem = open_store(plugins, settings, "filesystem")
    letters = [f"Brief {number}".encode() * 1000 for number in range(3)]
    database = Database(settings.database_url)
    with database.session() as session:
        for number, data in enumerate(letters):
            archive_document(
                session,
                filesystem,
                contact_id=None,
                campaign_id=None,
                run_id=None,
                report_id=None,
                kind=DocumentKind.LETTER,
                title="Brief",
                filename=f"brief-{number}.pdf",
                data=data,
            )

    moved = invoke("documents", "move", "--to", "database", plugins=plugins)
    assert moved.exit_code == 0, moved.output
    assert "3 documents moved to 'database', 0 not moved" in moved.output
    assert not [path for path in (settings.data_dir / "archive").rglob("*") if path.is_file()]
    again = invoke("documents", "move", "--to", "database", plugins=plugins)
    assert "0 documents moved to 'database'" in again.output
    back = invoke("documents", "move", "--to", "filesystem", "--from", "database", plugins=plugins)
    assert "3 documents moved to 'filesystem'" in back.output
    with database.session() as session:
        documents = session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
        assert [read_document(filesystem, document) for document in documents] == letters
    database.dispose()

    unknown = invoke("documents", "move", "--to", "dropbox", plugins=plugins)
    assert unknown.exit_code == 1 and "dropbox" in unknown.output


def test_documents_move_names_the_documents_it_could_not_move(invoke, settings):
    plugins = load_plugins(disabled=disabled_plugins())
    filesystem = open_store(plugins, settings, "filesystem")
    database = Database(settings.database_url)
    with database.session() as session:
        document = archive_document(
            session,
            filesystem,
            contact_id=None,
            campaign_id=None,
            run_id=None,
            report_id=None,
            kind=DocumentKind.LETTER,
            title="Brief",
            filename="brief.pdf",
            data=b"%PDF-1.4 Brief",
        )
    database.dispose()
    (settings.data_dir / "archive" / document.store_ref).unlink()
    result = invoke("documents", "move", "--to", "database", plugins=plugins)
    assert result.exit_code == 1
    assert f"document {document.id} not moved" in result.output
    assert "0 documents moved to 'database', 1 not moved" in result.output


def test_documents_move_asks_for_the_migrations_the_database_store_needs(invoke):
    invoke("db", "downgrade", "database_store@base")
    result = invoke("documents", "move", "--to", "database")
    assert result.exit_code == 1
    assert "_0001_chunks that the code needs: run 'campaign db upgrade'" in result.output


def test_campaigns_create_show_and_list_use_the_apis_format(invoke, tmp_path, redis_url):
    spec = {
        "name": "Grüße",
        "datasource": "query",
        "datasource_settings": {"definition": {"root": "contacts"}},
        "action": "greeting_file",
        "action_settings": {"path": str(tmp_path / "g.txt")},
    }
    created = invoke("campaigns", "create", "-", input=json.dumps(spec))
    assert created.exit_code == 0, created.output
    assert "campaign 'Grüße' created" in created.output
    shown = json.loads(invoke("campaigns", "show", "Grüße").output)
    assert shown["action_settings"] == {
        "path": str(tmp_path / "g.txt"),
        "greeting": "Hallo",
        "price": "0.10",
    }
    listed = [
        json.loads(line) for line in invoke("campaigns", "list", "--json").output.splitlines()
    ]
    assert [row["name"] for row in listed] == ["Grüße"]
    spec["action_settings"] = {}
    refused = invoke("campaigns", "create", "-", "--name", "Zwei", input=json.dumps(spec))
    assert refused.exit_code == 1 and "action.settings.path" in refused.output
    assert invoke("campaigns", "show", "nope").exit_code == 1
    bad = invoke("campaigns", "create", "-", input="[1]")
    assert bad.exit_code == 1 and "must be a JSON object" in bad.output
