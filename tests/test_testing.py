"""The plugin authors' test kit (core.testing) runs real campaigns in the test's process."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from core import Channel, Outcome, Recipient, Workflow, hookimpl
from core.engine.runs import ConfirmationCountError
from core.testing import FakeRunContext, FakeWorkflowContext, Testbed
from core.workflows.operating import set_settings


@pytest.fixture
def testbed(campaign_settings) -> Testbed:
    import engine_plugins

    testbed = Testbed.start(campaign_settings, [("engine_plugins", engine_plugins)])
    yield testbed
    testbed.close()


def test_a_campaign_created_in_code_runs_to_its_end_with_the_ledger_outcomes(testbed, tmp_path):
    ids = testbed.add_contacts(
        {"last_name": "Ahrens", "email": "a@example.de", "city": "Köln"},
        {"last_name": "Brandt", "city": "Bonn"},
        {"last_name": "Claasen", "email": "c@example.de", "city": "Köln"},
    )
    target = tmp_path / "lines.txt"
    campaign = testbed.create_campaign(
        "test_contacts",
        "test_notify",
        filters=["test_has_email"],
        action_settings={"path": str(target)},
    )

    result = testbed.run(campaign, confirmed_by="test")

    assert result.state == "completed"
    assert result.counts["done"] == 2
    first, _, third = (f"contacts:{contact_id}" for contact_id in ids)
    assert result.outcomes == {
        first: Outcome("done", "", 1, f"line-{first}"),
        third: Outcome("done", "", 1, f"line-{third}"),
    }
    assert sorted(target.read_text().split()) == sorted([first, third])


def test_a_run_needs_a_confirmation_and_goes_on_only_with_the_count_confirmed(testbed, tmp_path):
    testbed.add_contacts({"last_name": "Ahrens", "email": "a@example.de"})
    target = tmp_path / "lines.txt"
    campaign = testbed.create_campaign(
        "test_contacts", "test_notify", action_settings={"path": str(target)}
    )

    with pytest.raises(TypeError, match="confirmed_by"):
        testbed.run(campaign)
    with pytest.raises(ValueError, match="confirmed"):
        testbed.run(campaign, confirmed_by="")
    with pytest.raises(ConfirmationCountError, match="would reach 1 recipients, not the 2"):
        testbed.run(campaign, confirmed_by="test", expected_count=2)
    assert not target.exists()


def test_a_dry_run_has_no_effect(testbed, tmp_path):
    testbed.add_contacts({"last_name": "Ahrens", "email": "a@example.de"})
    target = tmp_path / "lines.txt"
    campaign = testbed.create_campaign(
        "test_contacts", "test_notify", action_settings={"path": str(target)}
    )

    result = testbed.dry_run(campaign)

    assert result.state == "completed"
    assert not target.exists()


def test_a_data_source_is_called_with_a_real_context(testbed):
    (contact_id,) = testbed.add_contacts({"last_name": "Ahrens", "city": "Köln"})
    source = testbed.plugins.datasources.get("test_streamed_contacts")({})

    with testbed.run_context(Channel.EMAIL) as context:
        recipients = list(source.iter_recipients(context))

    assert [(r.key, r.group) for r in recipients] == [(f"contacts:{contact_id}", "Köln")]


def test_a_group_action_sees_the_members_a_fake_context_gives_it(tmp_path: Path):
    import engine_plugins

    members = [Recipient(f"c{n}", "contacts", n, {}, group="Köln") for n in (1, 2)]
    context = FakeRunContext(run_dir=tmp_path, groups={"Köln": members})
    action = engine_plugins.CityCount({"path": str(tmp_path / "cities.txt")})

    outcome = action.process(Recipient("Köln", "contacts", 0, {}, group="Köln"), context)

    assert outcome == Outcome.done()
    assert (tmp_path / "cities.txt").read_text() == "Köln=2\n"
    assert list(context.member_ids("Köln", size=1)) == [[1], [2]]


def test_the_fake_workflow_context_keeps_the_log_lines():
    context = FakeWorkflowContext()

    context.log("nothing to do")

    assert context.lines == ["nothing to do"]
    assert context.now.utcoffset().total_seconds() == 0
    assert context.zone.key == "Europe/Berlin"


def test_a_workflow_pass_runs_now_with_the_installations_time_zone(testbed):
    context = testbed.workflow_context("test")

    assert context.zone.key == testbed.runtime.settings.timezone
    assert context.now.tzinfo is not None and context.now.utcoffset().total_seconds() == 0


class Reminder(Workflow):
    name = "test_reminder"
    title = "Reminds"

    class Params(BaseModel):
        days: int = 3

    def run(self, context):
        context.log(f"{context.params.days} days before")
        return "reminded"


class ReminderPlugin:
    @hookimpl
    def register_workflows(self, register):
        register(Reminder)


def test_a_workflow_gets_its_own_settings_from_either_context(campaign_settings):
    fake = FakeWorkflowContext(params=Reminder.Params(days=5))
    Reminder(fake.params).run(fake)
    assert fake.lines == ["5 days before"]

    testbed = Testbed.start(campaign_settings, [("reminder", ReminderPlugin())])
    try:
        runtime = testbed.runtime
        with testbed.database.session() as session:
            set_settings(
                session,
                runtime.plugins,
                runtime.settings,
                "test_reminder",
                {"days": "7"},
                "test",
                runtime.clock.now(),
            )
        assert testbed.workflow_context("test_reminder").params == Reminder.Params(days=7)
        assert testbed.run_workflow("test_reminder").log == ["7 days before"]
    finally:
        testbed.close()
