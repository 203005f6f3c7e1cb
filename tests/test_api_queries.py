"""Saved queries through the API: create from the JSON query format, list, count, preview."""

from __future__ import annotations

from core.models import Role

from api_helpers import assert_problem

QUERY = {
    "root": "contacts",
    "where": {"conditions": [{"field": "city", "type": "equals", "values": ["Bonn"]}]},
    "output": ["last_name", "city"],
}


def test_create_list_count_and_preview_a_saved_query(api):
    rows = [{"last_name": f"N{n}", "city": "Bonn" if n < 3 else "Köln"} for n in range(5)]
    api.call("POST", "/contacts/bulk", json={"rows": rows, "match_on": "name_address"})
    created = api.call("POST", "/queries", json={"name": "Bonner", "definition": QUERY})
    assert created.status_code == 201, created.get_json()
    saved = created.get_json()
    assert api.call("GET", "/queries", Role.VIEWER).get_json()["items"] == [saved]
    assert api.call("GET", f"/queries/{saved['id']}", Role.VIEWER).get_json() == saved
    assert api.call("GET", f"/queries/{saved['id']}/count", Role.VIEWER).get_json() == {"count": 3}
    first = api.call("GET", f"/queries/{saved['id']}/preview?limit=2", Role.VIEWER).get_json()
    assert first["fields"] == ["last_name", "city"] and len(first["rows"]) == 2
    rest = api.call(
        "GET", f"/queries/{saved['id']}/preview?cursor={first['next_cursor']}", Role.VIEWER
    )
    assert [row["city"] for row in rest.get_json()["rows"]] == ["Bonn"]


def test_bad_queries_are_refused_naming_the_field(api):
    bad = {
        "root": "contacts",
        "where": {"conditions": [{"field": "shoe_size", "type": "equals", "values": [1]}]},
    }
    assert_problem(
        api.call("POST", "/queries", json={"name": "x", "definition": bad}),
        422,
        "definition.where.conditions[0].field",
    )
    assert_problem(api.call("POST", "/queries", json={"definition": QUERY}), 422, "name")
    api.call("POST", "/queries", json={"name": "x", "definition": QUERY})
    assert_problem(
        api.call("POST", "/queries", json={"name": "x", "definition": QUERY}), 409, "name"
    )
    assert_problem(api.call("GET", "/queries/999/count", Role.VIEWER), 404)
    assert_problem(
        api.call("POST", "/queries", Role.REVIEWER, json={"name": "y", "definition": QUERY}), 403
    )


def test_a_grouped_query_previews_its_groups_and_names_a_bad_aggregate(api):
    rows = [{"last_name": f"N{n}", "city": "Bonn" if n < 3 else "Köln"} for n in range(5)]
    api.call("POST", "/contacts/bulk", json={"rows": rows, "match_on": "name_address"})
    grouped = {"root": "contacts", "group_by": ["city"], "aggregates": [{"function": "count"}]}
    saved = api.call("POST", "/queries", json={"name": "Je Ort", "definition": grouped})
    assert saved.status_code == 201, saved.get_json()
    preview = api.call("GET", f"/queries/{saved.get_json()['id']}/preview", Role.VIEWER)
    assert preview.get_json() == {
        "fields": ["city", "count"],
        "rows": [{"city": "Bonn", "count": 3}, {"city": "Köln", "count": 2}],
        "next_cursor": None,
    }
    bad = grouped | {"aggregates": [{"function": "sum", "field": "city"}]}
    assert_problem(
        api.call("POST", "/queries", json={"name": "Summe", "definition": bad}),
        422,
        "definition.aggregates[0].field",
    )
