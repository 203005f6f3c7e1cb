"""The "static data" source in real campaign runs: records stored once, changed only by hand."""

from __future__ import annotations

import pytest

from core import Group
from core.engine.campaigns import CampaignError
from core.models import RunState
from webapp.campaigns.records import add_records, freeze_query, remove_records

from datasource_helpers import add_contacts, create, groups, reached, run, with_sources


@pytest.fixture
def engine(engine):
    return with_sources(engine)


def test_records_added_by_hand_are_the_recipients(engine):
    ids = engine.add_contacts(6)
    campaign = create(engine, "static", {})
    with engine.runtime.database.session() as session:
        assert add_records(session, campaign, "contacts", ids[:3]) == 3
    finished = run(engine, campaign)
    assert (finished.state, finished.targeted) == (RunState.COMPLETED, 3)
    assert reached(engine) == set(ids[:3])

    with engine.runtime.database.session() as session:
        assert remove_records(session, campaign, "contacts", [ids[0]]) == 1
        assert add_records(session, campaign, "contacts", [ids[1], ids[5]]) == 1
    run(engine, campaign)
    assert reached(engine) == {ids[1], ids[2], ids[5]}


def test_static_data_does_not_follow_the_query(engine):
    engine.add_contacts(8)  # cities Berlin, München, Köln, Berlin, ...
    campaign = create(engine, "static", {})
    cologne = {
        "root": "contacts",
        "where": {"conditions": [{"field": "city", "type": "equals", "values": ["Köln"]}]},
    }
    with engine.runtime.database.session() as session:
        assert freeze_query(session, campaign, cologne) == 2
    run(engine, campaign)
    first = reached(engine)

    add_contacts(engine, {"last_name": "Neu", "city": "Köln"})
    run(engine, campaign)
    assert reached(engine) == first


def test_groups_of_static_data(engine):
    ids = engine.add_contacts(6)
    campaign = create(engine, "static", {"group_by": "city"}, group_keys=["Köln"])
    with engine.runtime.database.session() as session:
        add_records(session, campaign, "contacts", ids[:4])
    assert groups(engine, campaign) == [
        Group("Berlin", "Berlin", 2),
        Group("Köln", "Köln", 1),
        Group("München", "München", 1),
    ]
    run(engine, campaign)
    assert reached(engine) == {ids[2]}


def test_settings_name_the_field(engine):
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.entity: unknown entity"):
        create(engine, "static", {"entity": "people"})
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.group_by: unknown field"):
        create(engine, "static", {"group_by": "town"})
