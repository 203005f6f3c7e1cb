"""``campaign workflows`` (``plugins.commands.workflows``) on test workflows."""

import json
import re

import pytest

import plugins.commands
from core.plugins import PluginHost


@pytest.fixture
def workflows_cli(invoke):
    from workflow_plugins import Broken, CountContacts, Hourly, Nightly, Only

    host = PluginHost()
    host.add(plugins.commands, "plugins.commands", "built-in")
    host.add(Only(CountContacts, Hourly, Nightly, Broken), "workflows", "test")

    def run(*args):
        return invoke("workflows", *args, plugins=host)

    return run


def test_workflows_lists_state_schedule_and_runs(workflows_cli):
    listing = workflows_cli()
    assert listing.exit_code == 0, listing.output
    lines = listing.output.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "SCHEDULE", "NEXT", "RUN", "LAST", "RUN"]
    assert re.match(
        r"broken +started +every 30 minutes +\d{4}-\d\d-\d\d \d\d:\d\d CES?T +never$", lines[1]
    )
    assert re.match(r"nightly +started +cron 0 2 \* \* \* \(Europe/Berlin\) +\S+ 02:00 ", lines[4])
    assert "WARNING" not in listing.output

    workflows_cli("run", "countContacts")
    listed = {entry["name"]: entry for entry in json.loads(workflows_cli("--json").stdout)}
    assert listed["countContacts"]["last_run"]["summary"] == "0 contacts"
    assert listed["countContacts"]["state"] == "started"
    assert listed["hourly"]["interval_seconds"] == 3600
    assert re.search(
        r"countContacts .* succeeded \S+ \S+ CES?T: 0 contacts", workflows_cli().output
    )


def test_a_stopped_workflow_is_named_in_a_warning(workflows_cli):
    stopped = workflows_cli("stop", "broken")
    assert stopped.exit_code == 0, stopped.output
    assert stopped.stdout == "broken stopped (every 30 minutes); the scheduler will not run it\n"
    assert "WARNING: stopped workflows: broken. Campaign processes will not run" in stopped.stderr
    listing = workflows_cli()
    assert re.search(r"^broken +STOPPED +every 30 minutes +- ", listing.stdout, re.M)
    assert "WARNING: stopped workflows: broken." in listing.stderr
    as_json = workflows_cli("--json")
    assert json.loads(as_json.stdout)[0]["state"] == "stopped"
    assert "WARNING: stopped workflows: broken." in as_json.stderr
    started = workflows_cli("start", "broken")
    assert re.fullmatch(
        r"broken started, every 30 minutes, next run \S+ \S+ CES?T\n", started.output
    )
    assert "WARNING" not in workflows_cli().output


def test_workflows_schedule_sets_or_refuses_a_schedule(workflows_cli):
    changed = workflows_cli("schedule", "hourly", "every", "2h")
    assert changed.exit_code == 0, changed.output
    assert changed.output.startswith("hourly started, every 2 hours, next run ")
    cron = workflows_cli("schedule", "hourly", "0 6 * * 1-5", "--timezone", "UTC")
    assert cron.output.startswith("hourly started, cron 0 6 * * 1-5 (UTC), next run ")
    refused = workflows_cli("schedule", "hourly", "*/5 * * * *")
    assert refused.exit_code == 1
    assert (
        'Error: The schedule "cron */5 * * * * (Europe/Berlin)" runs as little as 5 minutes apart'
        in refused.output
    )
    assert "minimum of 15 minutes (CAMPAIGN_WORKFLOW_MIN_INTERVAL)" in refused.output
    unknown = workflows_cli("schedule", "hurly", "1h")
    assert "Error: unknown workflow 'hurly'; available: broken, countContacts" in unknown.output


def test_workflows_run_runs_inline_and_says_how_it_went(workflows_cli):
    done = workflows_cli("run", "countContacts")
    assert done.exit_code == 0, done.output
    assert re.fullmatch(
        r"  counted at \d\d:\d\d\ncountContacts run 1 succeeded: 0 contacts\n", done.stdout
    )
    failed = workflows_cli("run", "broken")
    assert failed.exit_code == 1
    assert failed.stdout == "  asking the provider\nbroken run 2 failed\n"
    assert "RuntimeError: the provider is down" in failed.stderr
    assert "Error: unknown workflow 'nope'" in workflows_cli("run", "nope").output


def test_workflows_run_wait_hands_it_to_a_worker(workflows_cli, settings, tmp_path):
    from workflow_plugins import start_worker_process

    worker = start_worker_process(settings, tmp_path / "worker.log")
    try:
        result = workflows_cli("run", "countContacts", "--wait")
    finally:
        worker.wait(timeout=120)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("countContacts run 1 queued for a worker\n")
    assert result.output.endswith("countContacts run 1 succeeded: 0 contacts\n")
    history = workflows_cli("history", "countContacts", "--log")
    assert re.match(
        r"run 1  succeeded  manual by \S+  \S+ \S+ CES?T \(\d+\.\ds\) on \S+:\d+\n"
        r"  0 contacts\n"
        r"  \| counted at \d\d:\d\d\n"
        r"page 1 of 1 \(1 runs\)\n$",
        history.output,
    )


def test_workflows_history_pages_and_shows_errors(workflows_cli):
    assert workflows_cli("history", "broken").output == "broken has not run yet\n"
    for _ in range(3):
        workflows_cli("run", "broken")
    page = workflows_cli("history", "broken", "--per-page", "2").output.splitlines()
    assert [line.split()[:3] for line in page[0::2][:2]] == [
        ["run", "3", "failed"],
        ["run", "2", "failed"],
    ]
    assert page[1] == "  error: RuntimeError: the provider is down"
    assert page[-1] == "page 1 of 2 (3 runs)"
    full = workflows_cli("history", "broken", "--page", "2", "--per-page", "2", "--log").output
    assert "  | asking the provider\n  error: Traceback (most recent call last):\n" in full
