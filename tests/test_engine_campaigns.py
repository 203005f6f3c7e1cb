from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.engine.campaigns import (
    CampaignConfig,
    CampaignError,
    copy_campaign,
    create_campaign,
    default_name,
    find_campaign,
    last_execution,
)
from core.engine.runs import start_run
from core.models import Campaign, CampaignRecord, Role, User
from webapp import campaign_operations

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def config(**changes):
    return CampaignConfig(datasource="test_contacts", action="test_tag", **changes)


def test_new_campaigns_get_unique_generated_names(engine):
    plugins = engine.runtime.plugins
    with engine.runtime.database.session() as session:
        first = create_campaign(session, plugins, config(), NOW)
        second = create_campaign(session, plugins, config(), NOW)
        assert (first.name, second.name) == ("Kampagne 2026-11-23 #1", "Kampagne 2026-11-23 #2")
        assert default_name(session, NOW) == "Kampagne 2026-11-23 #3"
        with pytest.raises(CampaignError, match="name: a campaign named 'Kampagne 2026-11-23 #1'"):
            create_campaign(session, plugins, config(), NOW, name="Kampagne 2026-11-23 #1")


def test_a_generated_name_is_dated_in_german_time(engine):
    after_midnight_in_berlin = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    with engine.runtime.database.session() as session:
        assert default_name(session, after_midnight_in_berlin) == "Kampagne 2026-12-08 #1"


def test_settings_are_stored_as_the_plugin_validates_them(engine):
    with engine.runtime.database.session() as session:
        campaign = create_campaign(session, engine.runtime.plugins, config(), NOW, name="Info")
        assert campaign.action_settings == {"delay_ms": 0, "fail_for": []}


def test_an_invalid_change_stores_nothing(engine):
    campaign_id = engine.campaign(name="Info", action_settings={"delay_ms": 5})
    with engine.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        with pytest.raises(CampaignError, match=r"action.settings.delay_ms"):
            campaign_operations.update(
                session,
                engine.runtime.plugins,
                campaign,
                config(action_settings={"delay_ms": "later"}),
                "erika",
                name="Renamed",
            )
    with engine.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert (campaign.name, campaign.action_settings["delay_ms"]) == ("Info", 5)


def test_a_copy_has_the_settings_and_static_records_but_no_runs(engine):
    engine.add_contacts(3)
    campaign_id = engine.campaign(name="Info", filters=[{"name": "test_has_email"}])
    start_run(engine.runtime, campaign_id, confirmed_by="test")
    with engine.runtime.database.session() as session:
        session.add(CampaignRecord(campaign_id=campaign_id, entity="contacts", entity_id=2))
    with engine.runtime.database.session() as session:
        manager = User(username="mia", role=Role.CAMPAIGN_MANAGER, password_hash="-")
        session.add(manager)
        session.flush()
        original = session.get(Campaign, campaign_id)
        original.manager_id, original.estimated_cost = manager.id, Decimal("120.00")
        original.hourly_limit = 300
        copy = copy_campaign(session, original)
        again = copy_campaign(session, original)
        assert (copy.name, again.name) == ("Info (Kopie)", "Info (Kopie) 2")
        assert (copy.manager_id, copy.estimated_cost) == (manager.id, Decimal("120.00"))
        assert copy.hourly_limit == 300
        assert copy.filters == original.filters
        assert [(r.entity, r.entity_id) for r in copy.records] == [("contacts", 2)]
        assert copy.runs == []


def test_last_execution_comes_from_the_runs(engine):
    campaign_id = engine.campaign(name="Info")
    with engine.runtime.database.session() as session:
        assert last_execution(session, campaign_id) is None
    run = start_run(engine.runtime, campaign_id, confirmed_by="test")
    with engine.runtime.database.session() as session:
        assert last_execution(session, campaign_id) == run.created_at
        assert find_campaign(session, "Info").id == find_campaign(session, campaign_id).id
        with pytest.raises(CampaignError, match="no campaign 'Sommer'"):
            find_campaign(session, "Sommer")
