"""Contacts through the API: read, create, update, bulk upsert with per-row errors, consent."""

from __future__ import annotations

from sqlalchemy import func, select

from core.models import Contact, ContactEvent, Role
from webapp.api.paging import encode

from api_helpers import assert_problem


def test_create_read_list_and_update_a_contact(api):
    created = api.call(
        "POST",
        "/contacts",
        json={
            "first_name": "Anna",
            "last_name": "Berg",
            "email": "anna@example.org",
            "opt_out_email": True,
        },
    )
    assert created.status_code == 201, created.get_json()
    contact = created.get_json()
    assert contact["number"] and contact["opt_out_email"] is True
    assert api.call("GET", f"/contacts/{contact['id']}", Role.VIEWER).get_json() == contact
    listed = api.call("GET", "/contacts?email=ANNA@example.org", Role.VIEWER).get_json()
    assert [row["id"] for row in listed["items"]] == [contact["id"]]
    changed = api.call(
        "PATCH", f"/contacts/{contact['id']}", json={"city": "Bonn", "opt_out_email": False}
    )
    assert changed.status_code == 200
    assert (changed.get_json()["city"], changed.get_json()["opt_out_email"]) == ("Bonn", False)
    with api.panel.runtime.database.session() as session:
        events = session.scalars(select(ContactEvent.new_value).order_by(ContactEvent.id)).all()
        assert events == [True, False]


def test_bad_contacts_are_refused_naming_the_field(api):
    assert_problem(api.call("POST", "/contacts", json={"email": "not-an-address"}), 422, "email")
    assert_problem(api.call("POST", "/contacts", json={"colour": "blue"}), 422, "colour")
    assert_problem(api.call("POST", "/contacts", json={"kind": "robot"}), 422, "kind")
    api.call("POST", "/contacts", json={"last_name": "A", "email": "a@example.org"})
    assert_problem(api.call("POST", "/contacts", json={"email": "a@example.org"}), 409)
    assert_problem(api.call("GET", "/contacts/999999", Role.VIEWER), 404)
    assert_problem(api.call("PATCH", "/contacts/999999", json={}), 404)
    assert_problem(api.call("POST", "/contacts", Role.REVIEWER, json={"last_name": "A"}), 403)
    assert_problem(api.call("GET", "/contacts?cursor=nonsense", Role.VIEWER), 422, "cursor")
    assert_problem(api.call("GET", "/contacts?limit=0", Role.VIEWER), 422, "limit")
    assert_problem(api.call("POST", "/contacts", data="{", content_type="application/json"), 400)
    assert_problem(api.call("POST", "/contacts", data="x", content_type="text/plain"), 415)


def test_bulk_upsert_creates_and_updates_and_reports_each_bad_row(api):
    rows = [{"last_name": f"Name {n}", "email": f"p{n}@example.org"} for n in range(3)]
    first = api.call("POST", "/contacts/bulk", json={"rows": rows}).get_json()
    assert (first["created"], first["updated"], first["stored"]) == (3, 0, True)
    rows[0]["city"] = "Köln"
    rows.append({"email": "broken"})
    refused = api.call("POST", "/contacts/bulk", json={"rows": rows}).get_json()
    assert refused["stored"] is False
    assert [(error["row"], error["errors"][0]["field"]) for error in refused["errors"]] == [
        (3, "rows.3.email")
    ]
    kept = api.call("POST", "/contacts/bulk", json={"rows": rows, "only_valid_rows": True})
    assert (kept.get_json()["created"], kept.get_json()["updated"]) == (0, 3)
    with api.panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 3
        assert (
            session.scalar(select(Contact.city).where(Contact.email == "p0@example.org")) == "Köln"
        )
    too_many = {"rows": [{"last_name": "x"}] * 10_001}
    assert_problem(api.call("POST", "/contacts/bulk", json=too_many), 422, "rows")


def test_consent_changes_are_recorded_with_the_token_user(api):
    contact = api.call(
        "POST", "/contacts", json={"last_name": "Z", "email": "z@example.org"}
    ).get_json()
    response = api.call("PUT", f"/contacts/{contact['id']}/consent", json={"dispatch_block": True})
    assert response.get_json()["dispatch_block"] is True
    with api.panel.runtime.database.session() as session:
        event = session.scalar(select(ContactEvent).where(ContactEvent.field == "dispatch_block"))
        assert (event.actor, event.source, event.new_value) == ("mia", "api", True)


def test_contacts_are_paged_with_a_cursor(api):
    api.call(
        "POST",
        "/contacts/bulk",
        json={"rows": [{"last_name": f"N{n}"} for n in range(5)], "match_on": "name_address"},
    )
    seen, cursor = [], None
    while True:
        query = "/contacts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", query, Role.VIEWER).get_json()
        seen += [row["last_name"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"N{n}" for n in range(5)]


def test_a_cursor_past_any_rows_id_is_refused_naming_it(api):
    """A cursor is opaque, but one made up for an id beyond an INTEGER column reached
    PostgreSQL's driver and failed there with a 500."""
    for last_id in (2**31, 99_999_999_999):
        made_up = encode(last_id)
        for path in ("/contacts", "/queries", "/campaigns"):
            response = api.call("GET", f"{path}?cursor={made_up}", Role.VIEWER)
            assert_problem(response, 422, "cursor")
    assert api.call("GET", f"/contacts?cursor={encode(2**31 - 1)}", Role.VIEWER).status_code == 200
