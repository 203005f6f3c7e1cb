from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from test_filters_common import (
    FilterContext,
    add_contacts,
    add_filter_plugins,
    imported,
    passed,
    same_in_sql_and_stream,
)

from core import SettingsError
from core.engine.runs import start_run
from core.models import Campaign, Run, RunItem, RunState
from plugins.filters.exclusion import Exclusion

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)


def add_campaign(session, name: str) -> int:
    return session.scalar(
        insert(Campaign).returning(Campaign.id),
        {"name": name, "datasource": "test_contacts", "action": "test_tag"},
    )


def add_run(
    session, campaign_id: int, number: int, *, days_ago: int = 1, items=(), **run: object
) -> int:
    """A run with ledger rows given as (entity, entity_id, status)."""
    run_id = session.scalar(
        insert(Run).returning(Run.id),
        {
            "campaign_id": campaign_id,
            "number": number,
            "state": RunState.COMPLETED,
            "config": {},
            "created_at": NOW - timedelta(days=days_ago),
        }
        | run,
    )
    session.execute(
        insert(RunItem),
        [
            {
                "run_id": run_id,
                "key": f"{entity}:{entity_id}",
                "action": "test_tag",
                "entity": entity,
                "entity_id": entity_id,
                "status": status,
            }
            for entity, entity_id, status in items
        ],
    )
    return run_id


@pytest.fixture
def ledger(database):
    """Six contacts; campaign A ran twice (the second time 40 days ago), campaign B once."""
    with database.session() as session:
        ids = add_contacts(session, *({"last_name": f"K{n}"} for n in range(1, 7)))
        first, second = add_campaign(session, "A"), add_campaign(session, "B")
        runs = {
            "a1": add_run(
                session,
                first,
                1,
                items=[
                    ("contacts", ids[0], "done"),
                    ("contacts", ids[1], "failed"),
                    ("contacts", ids[2], "held_out"),
                    ("contracts", ids[3], "done"),  # another entity with the same id
                ],
            ),
            "a2": add_run(session, first, 2, days_ago=40, items=[("contacts", ids[4], "done")]),
            "b1": add_run(session, second, 1, items=[("contacts", ids[5], "done")]),
        }
    return ids, {"A": first, "B": second}, runs


def test_done_recipients_of_the_named_runs_are_left_out(database, ledger):
    ids, _, runs = ledger
    with database.session() as session:
        context = FilterContext(session, now=NOW)
        excluded = Exclusion({"run_ids": [runs["a1"], runs["b1"]]})
        assert same_in_sql_and_stream(excluded, context) == set(ids) - {ids[0], ids[5]}


def test_any_ledger_entry_counts_without_only_done(database, ledger):
    ids, _, runs = ledger
    with database.session() as session:
        context = FilterContext(session, now=NOW)
        excluded = Exclusion({"run_ids": [runs["a1"]], "only_done": False})
        assert same_in_sql_and_stream(excluded, context) == {ids[3], ids[4], ids[5]}


def test_every_run_of_the_named_campaigns_counts_within_the_days(database, ledger):
    ids, campaigns, _ = ledger
    with database.session() as session:
        context = FilterContext(session, now=NOW)
        every_run = Exclusion({"campaign_ids": [campaigns["A"]]})
        assert same_in_sql_and_stream(every_run, context) == set(ids) - {ids[0], ids[4]}
        recent = Exclusion({"campaign_ids": [campaigns["A"]], "within_days": 30})
        assert same_in_sql_and_stream(recent, context) == set(ids) - {ids[0]}


def test_the_run_being_targeted_never_excludes_its_own_recipients(database, ledger):
    ids, campaigns, runs = ledger
    with database.session() as session:
        context = FilterContext(session, run_id=runs["b1"], now=NOW)
        excluded = Exclusion({"campaign_ids": [campaigns["B"]]})
        assert same_in_sql_and_stream(excluded, context) == set(ids)


def test_dry_runs_and_voided_runs_reached_nobody(database, ledger):
    ids, campaigns, _ = ledger
    with database.session() as session:
        items = [("contacts", ids[1], "done")]
        add_run(session, campaigns["B"], 2, items=items, superseded_at=NOW, superseded_reason="x")
        add_run(session, campaigns["B"], 3, items=[("contacts", ids[2], "skipped")], dry_run=True)
        context = FilterContext(session, now=NOW)
        for only_done in (True, False):
            excluded = Exclusion({"campaign_ids": [campaigns["B"]], "only_done": only_done})
            assert same_in_sql_and_stream(excluded, context) == set(ids) - {ids[5]}


def test_imported_rows_are_matched_by_entity_and_id(database):
    with database.session() as session:
        run_id = add_run(session, add_campaign(session, "Import"), 1, items=[("import", 2, "done")])
        context = FilterContext(session, entity="import", now=NOW)
        rows = imported({"email": "a@example.de"}, {"email": "b@example.de"})
        assert [r.id for r in passed(Exclusion({"run_ids": [run_id]}), rows, context)] == [1]


def test_something_to_exclude_must_be_named():
    with pytest.raises(SettingsError, match="name at least one campaign"):
        Exclusion({})
    with pytest.raises(SettingsError, match="within_days: Input should be greater than"):
        Exclusion({"run_ids": [1], "within_days": 0})


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_a_follow_up_campaign_skips_whoever_the_first_one_reached(engine, datasource):
    """Exclusion and limit together in real runs: the second run samples from the rest."""
    add_filter_plugins(engine, "exclusion", "limit")
    engine.add_contacts(30)
    first = engine.campaign(
        datasource=datasource, filters=[{"name": "limit", "settings": {"count": 10}}]
    )
    first_run = start_run(engine.runtime, first, confirmed_by="test")
    engine.work()
    follow_up = engine.campaign(
        datasource=datasource,
        name="follow-up",
        filters=[
            {"name": "exclusion", "settings": {"campaign_ids": [first]}},
            {"name": "limit", "settings": {"count": 15, "seed": 1}},
        ],
    )
    second_run = start_run(engine.runtime, follow_up, confirmed_by="test")
    engine.work()
    reached = [{i.key for i in engine.items(run.id)} for run in (first_run, second_run)]
    assert [len(keys) for keys in reached] == [10, 15]
    assert not reached[0] & reached[1]
    assert engine.run(second_run.id).state == RunState.COMPLETED
