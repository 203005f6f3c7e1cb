"""The "individual query" and "predefined distribution list" sources in real campaign runs."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, update

from core import Group
from core.engine.campaigns import CampaignError
from core.models import Contract, Product, RunState, SalesPartner, SavedQuery
from plugins.datasources import TRANSLATIONS
from webapp.campaigns.records import freeze_query
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
from engine_plugins import tag_counts

PROSPECTS_WITH_EMAIL = {
    "root": "contacts",
    "where": {
        "op": "and",
        "conditions": [
            {"field": "status", "type": "equals", "values": ["prospect"]},
            {"field": "email", "type": "not_empty"},
        ],
    },
}


@pytest.fixture
def engine(engine):
    return with_sources(engine)


def add_people(engine) -> dict[str, int]:
    ids = add_contacts(
        engine,
        {"last_name": "Adler", "status": "prospect", "email": "adler@example.de", "city": "Köln"},
        {"last_name": "Bauer", "status": "prospect", "email": None, "city": "Köln"},
        {"last_name": "Conrad", "status": "customer", "email": "c@example.de", "city": "Berlin"},
        {"last_name": "Dietz", "status": "prospect", "email": "", "city": "Berlin"},
        {"last_name": "Engel", "status": "prospect", "email": "engel@example.de", "city": None},
    )
    return dict(zip(["adler", "bauer", "conrad", "dietz", "engel"], ids, strict=True))


def test_the_worked_example_runs_as_a_campaign(engine):
    """Query all prospects that have an e-mail address, save it, run it as a campaign."""
    people = add_people(engine)
    saved = save_query(engine, PROSPECTS_WITH_EMAIL, name="Interessenten mit E-Mail")
    campaign = create(engine, "query", {"saved_query_id": saved}, name="Informationskampagne")
    finished = run(engine, campaign)
    assert (finished.state, finished.targeted, finished.done) == (RunState.COMPLETED, 2, 2)
    assert reached(engine) == {people["adler"], people["engel"]}


def test_an_inline_definition(engine):
    people = add_people(engine)
    definition = {
        "root": "contacts",
        "where": {"conditions": [{"field": "city", "type": "equals", "values": ["köln"]}]},
    }
    campaign = create(engine, "query", {"definition": definition})
    assert run(engine, campaign).state == RunState.COMPLETED
    assert reached(engine) == {people["adler"], people["bauer"]}


def test_a_streaming_filter_reads_the_records_through_the_source(engine):
    people = add_people(engine)
    campaign = create(
        engine,
        "query",
        {"definition": {"root": "contacts"}},
        filters=[{"name": "test_has_email_streaming"}],
    )
    assert run(engine, campaign).state == RunState.COMPLETED
    assert reached(engine) == {people["adler"], people["conrad"], people["engel"]}


def test_the_query_runs_again_at_every_start(engine):
    people = add_people(engine)
    saved = save_query(engine, PROSPECTS_WITH_EMAIL)
    dynamic = create(engine, "query", {"saved_query_id": saved}, name="dynamic")
    frozen = create(engine, "static", {}, name="static")
    with engine.runtime.database.session() as session:
        assert freeze_query(session, frozen, saved) == 2

    run(engine, dynamic)
    run(engine, frozen)
    assert reached(engine) == {people["adler"], people["engel"]}

    [newcomer] = add_contacts(engine, {"last_name": "Fink", "email": "fink@example.de"})
    run(engine, dynamic)
    assert reached(engine) == {people["adler"], people["engel"], newcomer}
    run(engine, frozen)
    assert reached(engine) == {people["adler"], people["engel"]}

    # an edited saved query counts from the next start on
    with engine.runtime.database.session() as session:
        session.execute(
            update(SavedQuery)
            .where(SavedQuery.id == saved)
            .values(definition={**PROSPECTS_WITH_EMAIL, "where": None})
        )
    assert run(engine, dynamic).targeted == 6


def test_groups_are_listed_and_only_the_ticked_ones_run(engine):
    with engine.runtime.database.session() as session:
        first, second = session.scalars(
            insert(SalesPartner).returning(SalesPartner.id),
            [{"number": "SP1", "name": "Agentur Nord"}, {"number": "SP2", "name": "Agentur Süd"}],
        )
    north = add_contacts(
        engine,
        {"last_name": "N1", "partner_id": first, "city": "Köln", "email": "n1@example.de"},
        {"last_name": "N2", "partner_id": first, "city": "Berlin", "email": None},
    )
    south = add_contacts(engine, {"last_name": "S1", "partner_id": second, "city": "Köln"})
    nobody = add_contacts(engine, {"last_name": "X1", "city": None})

    by_partner = create(
        engine,
        "query",
        {"definition": {"root": "contacts"}, "group_by": "partner.name"},
        name="by partner",
    )
    assert groups(engine, by_partner) == [
        Group("Agentur Nord", "Agentur Nord", 2),
        Group("Agentur Süd", "Agentur Süd", 1),
        Group("", "(empty)", 1),
    ]
    ticked = create(
        engine,
        "query",
        {"definition": {"root": "contacts"}, "group_by": "partner.name"},
        group_keys=["Agentur Nord", ""],
        name="north and nobody",
    )
    finished = run(engine, ticked)
    assert (finished.state, finished.targeted) == (RunState.COMPLETED, 3)
    assert reached(engine) == {*north, *nobody}

    # a SQL filter narrows the joined select on the root table
    filtered = create(
        engine,
        "query",
        {"definition": {"root": "contacts"}, "group_by": "partner.name"},
        group_keys=["Agentur Nord"],
        filters=[{"name": "test_has_email"}],
        name="north with e-mail",
    )
    run(engine, filtered)
    assert reached(engine) == {north[0]}

    by_city = create(
        engine,
        "query",
        {"definition": {"root": "contacts"}, "group_by": "city"},
        group_keys=["Köln"],
        name="by city",
    )
    assert groups(engine, by_city) == [
        Group("Berlin", "Berlin", 1),
        Group("Köln", "Köln", 2),
        Group("", "(empty)", 1),
    ]
    run(engine, by_city)
    assert reached(engine) == {north[0], *south}


def test_a_query_without_group_by_lists_no_groups(engine):
    add_people(engine)
    assert groups(engine, create(engine, "query", {"definition": {"root": "contacts"}})) == []


def test_settings_are_validated_naming_the_field(engine):
    with pytest.raises(
        CampaignError,
        match=r"^datasource\.settings\.definition\.where\.conditions\[0\]\.field: "
        r"unknown field 'wohnort' on contacts",
    ):
        create(
            engine,
            "query",
            {
                "definition": {
                    "root": "contacts",
                    "where": {"conditions": [{"field": "wohnort", "type": "not_empty"}]},
                }
            },
        )
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.definition\.root: unknown"):
        create(engine, "query", {"definition": {"root": "kontakte"}})
    with pytest.raises(
        CampaignError, match=r"^datasource\.settings\.group_by: 'contracts\.number' goes through"
    ):
        create(engine, "query", {"saved_query_id": 1, "group_by": "contracts.number"})
    with pytest.raises(CampaignError, match=r"give exactly one of saved_query_id and definition"):
        create(engine, "query", {})
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.list_id: Field required"):
        create(engine, "distribution_list", {})


def test_a_refused_query_is_said_in_the_readers_language(engine):
    """The query's own problem (the core's, through the panel's catalog) and the source's
    check (through the data sources' catalog), each at its place in the settings."""
    catalogs = {"plugins.datasources.query": [TRANSLATIONS]}
    where = {"conditions": [{"field": "wohnort", "type": "not_empty"}]}
    with pytest.raises(CampaignError) as unknown:
        create(engine, "query", {"definition": {"root": "contacts", "where": where}})
    assert render_stored(unknown.value.text, "de", catalogs).startswith(
        "datasource.settings.definition.where.conditions[0].field: unbekanntes Feld „wohnort“ "
        "bei contacts; möglich sind: "
    )
    with pytest.raises(CampaignError) as neither:
        create(engine, "query", {})
    assert render_stored(neither.value.text, "de", catalogs) == (
        "datasource.settings: bitte genau eines angeben: eine gespeicherte Abfrage "
        "(saved_query_id) oder eine eigene (definition)"
    )
    assert render_stored(neither.value.text, "en", catalogs) == (
        "datasource.settings: give exactly one of saved_query_id and definition"
    )


def test_a_missing_saved_query_fails_the_run_clearly(engine):
    campaign = create(engine, "query", {"saved_query_id": 17})
    finished = run(engine, campaign)
    assert finished.state == RunState.FAILED
    assert finished.error == "targeting failed: SavedQueryNotFound: saved query 17 does not exist"


def test_a_saved_query_of_another_entity_is_refused_at_start(engine):
    saved = save_query(engine, {"root": "contracts"})
    finished = run(engine, create(engine, "query", {"saved_query_id": saved}))
    assert finished.state == RunState.FAILED
    assert "the query now returns contracts, but the campaign expects contacts" in finished.error


def test_a_contract_query_grouped_by_product(engine, tmp_path):
    people = add_people(engine)
    with engine.runtime.database.session() as session:
        hausrat, kfz = session.scalars(
            insert(Product).returning(Product.id),
            [{"code": "HR", "name": "Hausrat"}, {"code": "KFZ", "name": "Kfz"}],
        )
        contracts = list(
            session.scalars(
                insert(Contract).returning(Contract.id),
                [
                    {
                        "number": f"V{n}",
                        "contact_id": people["adler"],
                        "product_id": product,
                        "signed_on": date(2024, 1, 1),
                        "amount": 10,
                    }
                    for n, product in enumerate([hausrat, hausrat, kfz])
                ],
            )
        )
    settings = {"definition": {"root": "contracts"}, "group_by": "product.name"}
    out = tmp_path / "keys.txt"
    campaign = create(
        engine,
        "query",
        settings,
        action="test_notify",
        action_settings={"path": str(out)},
        group_keys=["Hausrat"],
    )
    assert groups(engine, campaign) == [Group("Hausrat", "Hausrat", 2), Group("Kfz", "Kfz", 1)]
    assert run(engine, campaign).state == RunState.COMPLETED
    assert sorted(out.read_text().split()) == sorted(f"contracts:{c}" for c in contracts[:2])


def test_a_distribution_list_must_carry_the_flag(engine):
    people = add_people(engine)
    saved = save_query(engine, PROSPECTS_WITH_EMAIL, name="Newsletter")
    campaign = create(engine, "distribution_list", {"list_id": saved}, name="first")
    finished = run(engine, campaign)
    assert finished.state == RunState.FAILED
    assert finished.error == (
        "targeting failed: SavedQueryNotFound: saved query 'Newsletter' "
        f"({saved}) is not flagged as a distribution list for campaigns"
    )

    with engine.runtime.database.session() as session:
        session.get(SavedQuery, saved).is_distribution_list = True
    other = create(engine, "distribution_list", {"list_id": saved}, name="second")
    assert run(engine, campaign).state == RunState.COMPLETED
    assert run(engine, other).state == RunState.COMPLETED  # one list, many campaigns
    with engine.runtime.database.session() as session:
        counts = tag_counts(session)
    assert {contact for contact, count in counts.items() if count == 2} == {
        people["adler"],
        people["engel"],
    }
    assert sum(counts.values()) == 4


def test_a_missing_distribution_list(engine):
    finished = run(engine, create(engine, "distribution_list", {"list_id": 5}))
    assert finished.error == (
        "targeting failed: SavedQueryNotFound: distribution list 5 does not exist"
    )


def test_groups_by_a_choice_field(engine):
    add_people(engine)
    campaign = create(engine, "query", {"definition": {"root": "contacts"}, "group_by": "status"})
    assert groups(engine, campaign) == [
        Group("customer", "customer", 1),
        Group("prospect", "prospect", 4),
    ]
