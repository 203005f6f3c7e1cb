import pytest

from core.engine.campaigns import CampaignError
from core.engine.runs import start_run
from core.models import ItemKind, ItemStatus, RunState

from engine_plugins import tag_counts
from panel_helpers import shown_details


def targeted_keys(engine, run_id, status=None):
    return sorted(
        item.key
        for item in engine.items(run_id)
        if item.kind != ItemKind.GROUP and (status is None or item.status == status)
    )


def test_sql_and_streaming_filters_select_the_same_recipients(engine):
    engine.add_contacts(40)
    in_sql = start_run(
        engine.runtime, engine.campaign(filters=[{"name": "test_has_email"}]), confirmed_by="test"
    )
    streamed = start_run(
        engine.runtime,
        engine.campaign(filters=[{"name": "test_has_email_streaming"}], name="streamed"),
        confirmed_by="test",
    )
    engine.work()
    assert engine.run(in_sql.id).targeted == 30  # every fourth contact has no e-mail
    assert targeted_keys(engine, in_sql.id) == targeted_keys(engine, streamed.id)


def test_a_streaming_source_goes_through_the_same_filters(engine):
    engine.add_contacts(40)
    run = start_run(
        engine.runtime,
        engine.campaign(datasource="test_streamed_contacts", filters=[{"name": "test_has_email"}]),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.done) == (RunState.COMPLETED, 30, 30)


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_a_control_group_is_recorded_but_never_reached(engine, datasource):
    engine.add_contacts(10)
    run = start_run(
        engine.runtime,
        engine.campaign(datasource=datasource, filters=[{"name": "test_even_held_out"}]),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.held_out, run.done) == (RunState.COMPLETED, 10, 5, 5)
    assert targeted_keys(engine, run.id, ItemStatus.HELD_OUT) == sorted(
        f"contacts:{n}" for n in (2, 4, 6, 8, 10)
    )
    with engine.runtime.database.session() as session:
        tags = tag_counts(session)
    assert [tags[n] for n in range(1, 11)] == [1, 0] * 5


def test_the_control_group_must_be_the_last_filter(engine):
    with pytest.raises(CampaignError, match=r"filters\[0\]: 'test_even_held_out' holds out"):
        engine.campaign(filters=[{"name": "test_even_held_out"}, {"name": "test_has_email"}])


def test_settings_are_validated_naming_the_field(engine):
    with pytest.raises(CampaignError, match=r"action.settings.delay_ms: Input should be a valid"):
        engine.campaign(action_settings={"delay_ms": "soon"})
    with pytest.raises(CampaignError, match=r"filters\[0\]: unknown recipient_filter 'nope'"):
        engine.campaign(filters=[{"name": "nope"}])
    with pytest.raises(CampaignError, match=r"datasource: unknown datasource 'crm'"):
        engine.campaign(datasource="crm")


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_only_the_ticked_groups_are_targeted(engine, datasource):
    engine.add_contacts(9)
    run = start_run(
        engine.runtime,
        engine.campaign(datasource=datasource, group_keys=["Köln", "Berlin"]),
        confirmed_by="test",
    )
    engine.work()
    assert engine.run(run.id).targeted == 6
    assert {item.group_key for item in engine.items(run.id)} == {"Köln", "Berlin"}


def test_a_group_action_runs_once_per_group_with_its_members(engine, tmp_path):
    engine.add_contacts(9)
    out = tmp_path / "cities.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_city_count", action_settings={"path": str(out)}),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.done) == (RunState.COMPLETED, 3, 3)
    assert out.read_text().splitlines() == ["Berlin=3", "Köln=3", "München=3", "finished"]
    members = [item for item in engine.items(run.id) if item.kind == ItemKind.MEMBER]
    assert len(members) == 9 and {item.status for item in members} == {ItemStatus.DONE}


@pytest.mark.parametrize("confirmed_up_to", [3, 2])
def test_a_run_confirmed_ahead_sends_only_up_to_the_count_confirmed(engine, confirmed_up_to):
    """A count confirmed before the start holds for as many: one recipient more and the run
    waits for a person to confirm the new count."""
    engine.add_contacts(3)
    run = start_run(
        engine.runtime, engine.campaign(), confirmed_by="plan", confirmed_up_to=confirmed_up_to
    )
    engine.work()
    run = engine.run(run.id)
    if confirmed_up_to == 3:
        assert (run.state, run.done, run.confirmed_by) == (RunState.COMPLETED, 3, "plan")
    else:
        assert (run.state, run.done, run.confirmed_by) == (RunState.AWAITING_CONFIRMATION, 0, None)
        assert run.confirmed_at is None and run.targeted == 3


def test_an_empty_selection_completes_at_once(engine):
    run = start_run(engine.runtime, engine.campaign(), confirmed_by="test")
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.chunks) == (RunState.COMPLETED, 0, 0)


def test_a_source_that_breaks_fails_the_run_with_the_reason(engine, panel_app):
    run = start_run(engine.runtime, engine.campaign(datasource="test_offline"), confirmed_by="test")
    engine.work()
    run = engine.run(run.id)
    assert run.state == RunState.FAILED
    assert run.error == "targeting failed: ConnectionError: the CRM is offline"
    assert shown_details(panel_app, "de", [run.error]) == [
        "Ermitteln der Zielgruppe fehlgeschlagen: ConnectionError: the CRM is offline"
    ]
    assert shown_details(panel_app, "en", [run.error]) == [run.error]


def test_a_dry_run_of_a_group_action_previews_and_counts_its_groups(engine, tmp_path):
    engine.add_contacts(9)
    out = tmp_path / "cities.txt"
    campaign = engine.campaign(action="test_city_count", action_settings={"path": str(out)})
    run = start_run(engine.runtime, campaign, dry_run=True, preview_count=2)
    engine.work()

    run = engine.run(run.id)
    assert (run.state, run.targeted, run.skipped) == (RunState.COMPLETED, 3, 3)
    groups = [item.detail for item in engine.items(run.id) if item.kind == ItemKind.GROUP]
    assert groups == [
        "preview: Write one line per city with its member count: group:Berlin",
        "preview: Write one line per city with its member count: group:Köln",
        "dry run",
    ]
    assert not out.exists()
