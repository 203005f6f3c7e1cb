import pytest
from sqlalchemy import insert
from test_filters_common import (
    FilterContext,
    add_contacts,
    add_contracts,
    add_filter_plugins,
    imported,
    passed,
    same_in_sql_and_stream,
    sql_ids,
    streamed_ids,
)

from core import SettingsError
from core.engine.runs import start_run
from core.models import RunState, SalesPartner
from core.query import QueryError
from core.validation import problem_text
from plugins.filters import TRANSLATIONS
from plugins.filters.limit import Limit
from webapp.i18n import render_stored

NAMES = ["müller", "Maier", "Özdemir", "", None, "zander", "Müller", "Äpfel"]
"""In order: Maier, müller (1), Müller (7), zander, Äpfel, Özdemir (code points), then empty."""


def many_contacts(session, count: int = 200) -> list[int]:
    return add_contacts(session, *({"last_name": f"K{n}"} for n in range(count)))


def test_a_random_sample_has_the_count_and_depends_only_on_the_seed(database):
    with database.session() as session:
        ids = many_contacts(session)
        context = FilterContext(session)
        sample = same_in_sql_and_stream(Limit({"count": 20}), context)
        assert len(sample) == 20 and sample <= set(ids)
        assert sql_ids(Limit({"count": 20, "seed": 0}), context) == sample
        other = same_in_sql_and_stream(Limit({"count": 20, "seed": 1}), context)
        assert len(other) == 20 and len(sample & other) < 10


def test_a_sample_larger_than_the_population_keeps_everyone(database):
    with database.session() as session:
        ids = many_contacts(session, 5)
        assert same_in_sql_and_stream(Limit({"count": 50}), FilterContext(session)) == set(ids)


def test_a_percentage_is_a_bucket_per_id_optionally_capped(database):
    with database.session() as session:
        many_contacts(session, 1000)
        context = FilterContext(session)
        tenth = same_in_sql_and_stream(Limit({"mode": "percentage", "percentage": 10}), context)
        assert 60 < len(tenth) < 140
        capped = Limit({"mode": "percentage", "percentage": 10, "count": 25})
        assert same_in_sql_and_stream(capped, context) < tenth
        assert len(sql_ids(capped, context)) == 25
        everyone = Limit({"mode": "percentage", "percentage": 100})
        assert len(same_in_sql_and_stream(everyone, context)) == 1000


@pytest.mark.parametrize(
    ("descending", "count", "expected"),
    [
        (False, 2, [2, 1]),
        (False, 6, [2, 1, 7, 6, 8, 3]),
        (False, 7, [2, 1, 7, 6, 8, 3, 4]),
        (True, 4, [3, 8, 6, 1]),
        (True, 7, [3, 8, 6, 1, 7, 2, 4]),
    ],
)
def test_top_n_sorts_text_case_insensitively_with_empty_values_last(
    database, descending, count, expected
):
    with database.session() as session:
        ids = add_contacts(session, *({"last_name": name} for name in NAMES))
        context = FilterContext(session)
        top = Limit(
            {
                "mode": "top",
                "count": count,
                "sort": {"field": "last_name", "descending": descending},
            }
        )
        assert same_in_sql_and_stream(top, context) == {ids[n - 1] for n in expected}


def test_top_n_by_a_related_field(database):
    with database.session() as session:
        partners = session.scalars(
            insert(SalesPartner).returning(SalesPartner.id),
            [{"number": "SP1", "name": "Zeller"}, {"number": "SP2", "name": "Adler"}],
        ).all()
        ids = add_contacts(
            session,
            {"partner_id": partners[0]},
            {"partner_id": None},
            {"partner_id": partners[1]},
        )
        contracts = add_contracts(session, *ids)
        top = Limit({"mode": "top", "count": 2, "sort": {"field": "partner.name"}})
        assert same_in_sql_and_stream(top, FilterContext(session)) == {ids[0], ids[2]}
        by_contact = Limit({"mode": "top", "count": 1, "sort": {"field": "contact.partner.name"}})
        context = FilterContext(session, entity="contracts")
        assert same_in_sql_and_stream(by_contact, context) == {contracts[2]}


def test_settings_that_do_not_fit_the_mode_are_refused():
    with pytest.raises(SettingsError, match="mode 'random' needs count"):
        Limit({})
    with pytest.raises(SettingsError, match="mode 'top' needs count and sort"):
        Limit({"mode": "top"})
    with pytest.raises(SettingsError, match="mode 'percentage' needs percentage"):
        Limit({"mode": "percentage", "count": 3})
    with pytest.raises(SettingsError, match="sort only applies to mode 'top'"):
        Limit({"count": 3, "sort": {"field": "city"}})
    with pytest.raises(SettingsError, match="count: Input should be greater than or equal to 1"):
        Limit({"count": 0})


@pytest.mark.parametrize(
    ("settings", "german", "english"),
    [
        (
            {"mode": "top"},
            "der Modus „die ersten nach Sortierung“ braucht Anzahl und Sortierung",
            "mode 'top' needs count and sort",
        ),
        ({}, "der Modus „Zufallsstichprobe“ braucht Anzahl", "mode 'random' needs count"),
        (
            {"count": 3, "sort": {"field": "city"}},
            "Sortierung gilt nur im Modus „die ersten nach Sortierung“",
            "sort only applies to mode 'top'",
        ),
    ],
)
def test_a_setting_that_does_not_fit_the_mode_is_said_in_the_readers_language(
    settings, german, english
):
    catalogs = {Limit.__module__: [TRANSLATIONS]}
    with pytest.raises(SettingsError) as caught:
        Limit(settings)
    ((field, message),) = caught.value.problems
    text = problem_text(field, message, Limit.__module__)
    assert render_stored(text, "de", catalogs) == f"{field}: {german}"
    assert render_stored(text, "en", catalogs) == f"{field}: {english}"


def test_an_unknown_sort_field_is_named(database):
    with database.session() as session:
        many_contacts(session, 3)
        context = FilterContext(session)
        wrong = Limit({"mode": "top", "count": 1, "sort": {"field": "nachname"}})
        with pytest.raises(QueryError, match=r"sort\.field: unknown field 'nachname' on contacts"):
            sql_ids(wrong, context)
        with pytest.raises(QueryError, match=r"sort\.field: unknown field 'nachname' on contacts"):
            streamed_ids(wrong, context)


def test_imported_rows_are_sampled_by_id_and_sorted_by_their_data(database):
    rows = imported(*({"last_name": name} for name in NAMES))
    with database.session() as session:
        context = FilterContext(session, entity="import")
        top = Limit({"mode": "top", "count": 3, "sort": {"field": "last_name"}})
        assert sorted(r.id for r in passed(top, rows, context)) == [1, 2, 7]
        sample = [r.id for r in passed(Limit({"count": 3}), rows, context)]
        assert len(sample) == 3
        assert [r.id for r in passed(Limit({"count": 3}), rows[::-1], context)] == sample


def test_a_campaign_tags_a_sample_of_the_selected_contacts(engine):
    """Condition (SQL) and limit (SQL) together: the run is one INSERT ... SELECT."""
    add_filter_plugins(engine, "condition", "limit")
    engine.add_contacts(60)  # 20 per city
    in_cologne = {"field": "city", "type": "equals", "values": ["köln"]}
    run = start_run(
        engine.runtime,
        engine.campaign(
            filters=[
                {"name": "condition", "settings": {"condition": in_cologne}},
                {"name": "limit", "settings": {"count": 5, "seed": 3}},
            ]
        ),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.done) == (RunState.COMPLETED, 5, 5)
    assert {item.group_key for item in engine.items(run.id)} == {"Köln"}
