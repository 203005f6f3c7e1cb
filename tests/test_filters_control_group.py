import pytest
from test_filters_common import (
    FilterContext,
    add_contacts,
    add_filter_plugins,
    imported,
    recipients_of,
    same_in_sql_and_stream,
    sql_ids,
)

from core import SettingsError
from core.engine.runs import start_run
from core.models import ItemStatus, RunState
from plugins.filters.control_group import ControlGroup
from plugins.filters.limit import Limit

from engine_plugins import tag_counts


def many_contacts(session, count: int) -> list[int]:
    return add_contacts(session, *({"last_name": f"K{n:04d}"} for n in range(count)))


def test_a_percentage_holds_out_a_bucket_of_ids(database):
    with database.session() as session:
        ids = many_contacts(session, 1000)
        context = FilterContext(session)
        reached = same_in_sql_and_stream(ControlGroup({"percentage": 20}), context)
        assert 140 < len(set(ids) - reached) < 260


def test_a_count_holds_out_exactly_that_many(database):
    with database.session() as session:
        ids = many_contacts(session, 100)
        context = FilterContext(session)
        reached = same_in_sql_and_stream(ControlGroup({"count": 7, "seed": 5}), context)
        assert len(set(ids) - reached) == 7
        capped = same_in_sql_and_stream(ControlGroup({"percentage": 50, "count": 7}), context)
        assert len(set(ids) - capped) == 7


def test_top_n_after_sorting_is_held_out(database):
    with database.session() as session:
        ids = add_contacts(
            session, *({"last_name": name} for name in ["b", "A", None, "c", "a", ""])
        )
        context = FilterContext(session)
        top = ControlGroup(
            {"mode": "top", "count": 2, "sort": {"field": "last_name", "descending": True}}
        )
        assert same_in_sql_and_stream(top, context) == {ids[1], ids[2], ids[4], ids[5]}


def test_the_control_group_is_unrelated_to_a_sample_drawn_with_the_same_seed(database):
    with database.session() as session:
        many_contacts(session, 2000)
        context = FilterContext(session)
        sample = Limit({"mode": "percentage", "percentage": 10})
        recipients = list(sample.apply(iter(recipients_of(session, "contacts")), context))
        marked = list(ControlGroup({"percentage": 10}).apply(iter(recipients), context))
        held_out = sum(recipient.held_out for recipient in marked)
        assert len(marked) == len(recipients)
        assert 0 < held_out < len(recipients) / 4


def test_settings_that_do_not_fit_the_mode_are_refused():
    with pytest.raises(SettingsError, match="mode 'random' needs percentage or count"):
        ControlGroup({})
    with pytest.raises(SettingsError, match="mode 'top' needs count and sort"):
        ControlGroup({"mode": "top"})
    with pytest.raises(SettingsError, match="percentage only applies to mode 'random'"):
        ControlGroup({"mode": "top", "count": 3, "percentage": 5, "sort": {"field": "city"}})
    with pytest.raises(SettingsError, match="percentage: Input should be less than 100"):
        ControlGroup({"percentage": 100})


def test_imported_rows_are_held_out_by_id(database):
    rows = imported(*({"email": f"p{n}@example.de"} for n in range(50)))
    with database.session() as session:
        context = FilterContext(session, entity="import")
        group = ControlGroup({"count": 5})
        forward = {r.id for r in group.apply(iter(rows), context) if r.held_out}
        backward = {r.id for r in group.apply(iter(rows[::-1]), context) if r.held_out}
        assert len(forward) == 5 and forward == backward


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_held_out_contacts_are_recorded_but_not_tagged(engine, datasource):
    """Consent and a control group in a real run; SQL and streaming hold out the same ones."""
    add_filter_plugins(engine, "consent", "control_group")
    ids = engine.add_contacts(40)
    with engine.runtime.database.session() as session:
        blocked = add_contacts(session, {"last_name": "Gesperrt", "dispatch_block": True})
    run = start_run(
        engine.runtime,
        engine.campaign(
            datasource=datasource,
            filters=[
                {"name": "consent"},
                {"name": "control_group", "settings": {"percentage": 25, "seed": 2}},
            ],
        ),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert run.state == RunState.COMPLETED
    assert run.targeted == 40 and run.held_out + run.done == 40 and 0 < run.held_out < 20
    held_out = {i.entity_id for i in engine.items(run.id) if i.status == ItemStatus.HELD_OUT}
    with engine.runtime.database.session() as session:
        tags = tag_counts(session)
        in_sql = sql_ids(ControlGroup({"percentage": 25, "seed": 2}), FilterContext(session))
        expected = set(ids) - in_sql
    assert held_out == expected
    assert {n for n in ids if tags[n] == 0} == held_out
    assert tags[blocked[0]] == 0
