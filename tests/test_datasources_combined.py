"""The "combined queries" source in real campaign runs: union, intersection and excluded
queries of saved queries and distribution lists, groups, filters and refusals."""

from __future__ import annotations

import pytest

from core import Group
from core.engine.campaigns import CampaignError
from core.models import Contact, RunState
from plugins.datasources import TRANSLATIONS
from webapp.i18n import render_stored

from datasource_helpers import (
    add_contacts,
    create,
    groups,
    reached,
    run,
    save_query,
    with_sources,
)


@pytest.fixture
def engine(engine):
    return with_sources(engine)


def city_is(city: str) -> dict:
    return {
        "root": "contacts",
        "where": {"conditions": [{"field": "city", "type": "equals", "values": [city]}]},
    }


def status_is(status: str) -> dict:
    return {
        "root": "contacts",
        "where": {"conditions": [{"field": "status", "type": "equals", "values": [status]}]},
    }


@pytest.fixture
def people(engine) -> dict[str, int]:
    ids = add_contacts(
        engine,
        {"last_name": "Adler", "status": "prospect", "city": "Köln"},
        {"last_name": "Bauer", "status": "customer", "city": "Köln"},
        {"last_name": "Conrad", "status": "prospect", "city": "Berlin"},
        {"last_name": "Dietz", "status": "customer", "city": "Berlin", "dispatch_block": True},
        {"last_name": "Engel", "status": "prospect", "city": "Bonn"},
    )
    return dict(zip(["adler", "bauer", "conrad", "dietz", "engel"], ids, strict=True))


@pytest.fixture
def queries(engine) -> dict[str, int]:
    return {
        "köln": save_query(engine, city_is("Köln"), name="Köln"),
        "berlin": save_query(engine, city_is("Berlin"), name="Berlin", distribution_list=True),
        "prospects": save_query(engine, status_is("prospect"), name="Interessenten"),
        "contracts": save_query(engine, {"root": "contracts"}, name="Verträge"),
    }


def test_any_all_and_excluded_queries(engine, people, queries):
    cities = [queries["köln"], queries["berlin"]]
    either = create(engine, "combined", {"queries": cities})
    assert run(engine, either).state == RunState.COMPLETED
    assert reached(engine) == {people[name] for name in ("adler", "bauer", "conrad", "dietz")}

    both = create(
        engine, "combined", {"queries": [queries["köln"], queries["prospects"]], "combine": "all"}
    )
    assert run(engine, both).targeted == 1
    assert reached(engine) == {people["adler"]}

    without = create(
        engine, "combined", {"queries": [queries["prospects"]], "excluded": [queries["berlin"]]}
    )
    run(engine, without)
    assert reached(engine) == {people["adler"], people["engel"]}


def test_each_query_runs_again_at_every_start(engine, people, queries):
    campaign = create(
        engine, "combined", {"queries": [queries["köln"]], "excluded": [queries["prospects"]]}
    )
    run(engine, campaign)
    assert reached(engine) == {people["bauer"]}
    (newcomer,) = add_contacts(engine, {"last_name": "Fuchs", "status": "customer", "city": "Köln"})
    run(engine, campaign)
    assert reached(engine) == {people["bauer"], newcomer}


def test_groups_and_filters_work_on_the_combination(engine, people, queries):
    settings = {"queries": [queries["köln"], queries["berlin"]], "group_by": "status"}
    campaign = create(engine, "combined", settings, group_keys=["customer"])
    assert groups(engine, campaign) == [
        Group("customer", "customer", 2),
        Group("prospect", "prospect", 2),
    ]
    run(engine, campaign)
    assert reached(engine) == {people["bauer"], people["dietz"]}
    filtered = create(
        engine,
        "combined",
        {"queries": [queries["köln"], queries["berlin"]]},
        filters=[{"name": "test_has_email"}],
    )
    with engine.runtime.database.session() as session:
        session.get(Contact, people["conrad"]).email = "conrad@example.de"
    run(engine, filtered)
    assert reached(engine) == {people["conrad"]}


def test_settings_are_refused_naming_the_field(engine, queries):
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.queries: List should have"):
        create(engine, "combined", {"queries": []})
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.combine: Input should be"):
        create(engine, "combined", {"queries": [queries["köln"]], "combine": "xor"})
    with pytest.raises(CampaignError) as twice:
        create(engine, "combined", {"queries": [queries["köln"]], "excluded": [queries["köln"]]})
    catalogs = {"plugins.datasources.combined": [TRANSLATIONS]}
    assert render_stored(twice.value.text, "de", catalogs) == (
        f"datasource.settings.excluded: die gespeicherte Abfrage {queries['köln']} ist zugleich "
        "gewählt und ausgenommen; bitte nur in einer Liste wählen"
    )
    assert render_stored(twice.value.text, "en", catalogs) == (
        f"datasource.settings.excluded: saved query {queries['köln']} is both combined and "
        "excluded; choose it in one list"
    )


def test_a_missing_query_or_one_of_another_entity_fails_the_run_clearly(engine, people, queries):
    missing = run(engine, create(engine, "combined", {"queries": [queries["köln"], 9999]}))
    assert missing.state == RunState.FAILED
    assert missing.error == "targeting failed: SavedQueryNotFound: saved query 9999 does not exist"
    other = create(
        engine, "combined", {"queries": [queries["köln"]], "excluded": [queries["contracts"]]}
    )
    failed = run(engine, other)
    assert failed.state == RunState.FAILED
    assert (
        "saved query 'Verträge' now returns contracts, but the campaign expects contacts"
        in failed.error
    )
    assert reached(engine) == set()
