import pytest
from sqlalchemy import insert
from test_filters_common import (
    FilterContext,
    add_contacts,
    add_contracts,
    imported,
    passed,
    same_in_sql_and_stream,
    sql_ids,
    streamed_ids,
)

from core import SettingsError
from core.models import SalesPartner
from core.query import QueryError
from plugins.filters.condition import FieldCondition

CONTACTS = [
    {"last_name": "Müller", "city": "Köln", "email": "m@example.de"},
    {"last_name": "MÜLLER", "city": "köln", "email": None},
    {"last_name": "Maier", "city": "Berlin", "email": ""},
    {"last_name": "Özdemir", "city": None, "email": "o@example.de"},
    {"last_name": "Schulz", "city": "München", "email": "s@example.de", "status": "customer"},
]


def condition(node):
    return FieldCondition({"condition": node})


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"field": "last_name", "type": "equals", "values": ["müller"]}, [1, 2]),
        ({"field": "city", "type": "not_equals", "values": ["KÖLN"]}, [3, 4, 5]),
        ({"field": "last_name", "type": "begins_with", "values": ["ö", "ma"]}, [3, 4]),
        ({"field": "email", "type": "is_empty"}, [2, 3]),
        ({"field": "status", "type": "equals", "values": ["Customer"]}, [5]),
        (
            {
                "op": "or",
                "conditions": [
                    {"field": "city", "type": "is_empty"},
                    {
                        "op": "and",
                        "conditions": [
                            {"field": "city", "type": "contains", "values": ["ö"]},
                            {"field": "email", "type": "not_empty"},
                        ],
                    },
                ],
            },
            [1, 4],
        ),
        ({"op": "and", "conditions": []}, [1, 2, 3, 4, 5]),
    ],
)
def test_conditions_mean_what_they_mean_in_the_query_editor(database, node, expected):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session)
        assert same_in_sql_and_stream(condition(node), context) == {ids[n - 1] for n in expected}


def test_related_paths_of_contacts_and_contracts(database):
    with database.session() as session:
        partner = session.scalar(
            insert(SalesPartner).returning(SalesPartner.id), {"number": "SP1", "name": "Vogel"}
        )
        ids = add_contacts(session, {"partner_id": partner, "city": "Köln"}, {"city": "Köln"})
        contracts = add_contracts(session, ids[0], ids[1], ids[1])
        context = FilterContext(session)
        has_partner = condition({"field": "partner.number", "type": "equals", "values": ["sp1"]})
        assert same_in_sql_and_stream(has_partner, context) == {ids[0]}
        context.entity = "contracts"
        via_contact = condition(
            {"field": "contact.partner.number", "type": "not_equals", "values": ["SP1"]}
        )
        assert same_in_sql_and_stream(via_contact, context) == {contracts[1], contracts[2]}


def test_an_unknown_field_is_named_in_sql_and_streaming(database):
    with database.session() as session:
        add_contacts(session, *CONTACTS)
        context = FilterContext(session)
        wrong = condition(
            {"op": "and", "conditions": [{"field": "partner.nummer", "type": "is_empty"}]}
        )
        message = r"condition.conditions\[0\].field: unknown field 'nummer' on partners"
        with pytest.raises(QueryError, match=message):
            sql_ids(wrong, context)
        with pytest.raises(QueryError, match=message):
            streamed_ids(wrong, context)
        context.entity = "contracts"
        with pytest.raises(QueryError, match="unknown field 'last_name' on contracts"):
            sql_ids(condition({"field": "last_name", "type": "is_empty"}), context)


def test_a_type_that_does_not_fit_the_field_is_named(database):
    with database.session() as session:
        context = FilterContext(session)
        wrong = condition({"field": "birth_date", "type": "contains", "values": ["1970"]})
        with pytest.raises(QueryError, match=r"condition\.type: contains does not fit the date"):
            sql_ids(wrong, context)


def test_malformed_conditions_are_refused_with_the_settings():
    with pytest.raises(SettingsError, match="condition: Field required"):
        FieldCondition({})
    with pytest.raises(SettingsError, match="between needs exactly 2 values"):
        condition({"field": "postcode", "type": "between", "values": ["1"]})


def test_imported_rows_are_refused_clearly(database):
    with database.session() as session:
        context = FilterContext(session, entity="import")
        rows = imported({"city": "Köln"})
        equals = condition({"field": "city", "type": "equals", "values": ["Köln"]})
        assert equals.narrow(object(), context) is None
        with pytest.raises(ValueError, match="'import' rows have no table to check them"):
            passed(equals, rows, context)
