"""Campaigns and runs through the API: create with each plugin's settings checked, change,
copy, dry run, a real run that sends only with the confirmed count, results, retry."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core.models import AuditEntry, Role, Run

from api_helpers import assert_problem


def greeting_campaign(api, tmp_path, **extra) -> dict:
    body = {
        "name": "Grüße",
        "datasource": "query",
        "datasource_settings": {"definition": {"root": "contacts"}},
        "action": "greeting_file",
        "action_settings": {"path": str(tmp_path / "greetings.txt")},
        **extra,
    }
    response = api.call("POST", "/campaigns", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_contacts(api, count: int) -> None:
    rows = [
        {"first_name": "P", "last_name": f"N{n}", "email": f"n{n}@example.org"}
        for n in range(count)
    ]
    assert api.call("POST", "/contacts/bulk", json={"rows": rows}).get_json()["created"] == count


def test_create_read_list_change_and_copy_a_campaign(api, tmp_path):
    campaign = greeting_campaign(api, tmp_path)
    assert campaign["action_settings"]["greeting"] == "Hallo"  # the parameter model's default
    assert api.call("GET", f"/campaigns/{campaign['id']}", Role.VIEWER).get_json() == campaign
    listed = api.call("GET", "/campaigns", Role.VIEWER).get_json()
    assert [row["name"] for row in listed["items"]] == ["Grüße"]
    settings = {key: campaign[key] for key in ("datasource", "datasource_settings", "action")}
    settings["action_settings"] = {"path": str(tmp_path / "g.txt"), "greeting": "Moin"}
    changed = api.call(
        "PATCH", f"/campaigns/{campaign['id']}", json={"name": "Moin", "settings": settings}
    )
    assert changed.get_json()["action_settings"]["greeting"] == "Moin"
    copied = api.call("POST", f"/campaigns/{campaign['id']}/copy")
    assert copied.status_code == 201 and copied.get_json()["name"] == "Moin (Kopie)"
    plugins = api.call("GET", "/plugins", Role.VIEWER).get_json()["items"]
    assert {"kind": "action", "name": "greeting_file"} in [
        {"kind": p["kind"], "name": p["name"]} for p in plugins
    ]


def test_bad_settings_are_refused_naming_the_field(api, tmp_path):
    problem = assert_problem(
        api.call(
            "POST",
            "/campaigns",
            json={
                "datasource": "query",
                "datasource_settings": {"definition": {"root": "contacts"}},
                "action": "greeting_file",
                "action_settings": {},
            },
        ),
        422,
        "action.settings.path",
    )
    assert problem["errors"] == [{"field": "action.settings.path", "detail": "Bitte ausfüllen."}]
    wrong_file = {"path": str(tmp_path / "g.csv"), "greeting": "Servus"}
    problem = assert_problem(
        api.call(
            "POST",
            "/campaigns",
            json={
                "datasource": "query",
                "datasource_settings": {"definition": {"root": "contacts"}},
                "action": "greeting_file",
                "action_settings": wrong_file,
            },
        ),
        422,
    )
    assert problem["errors"] == [  # in the token user's language; the plugin's own catalog
        {"field": "action.settings.path", "detail": "muss auf .txt enden"},
        {"field": "action.settings.greeting", "detail": "Erlaubt: 'Hallo' oder 'Moin'."},
    ]
    assert "Value error" not in problem["detail"]
    assert_problem(
        api.call("POST", "/campaigns", json={"datasource": "nope", "action": "greeting_file"}),
        422,
        "datasource",
    )
    assert_problem(
        api.call("POST", "/campaigns", json={"action": "greeting_file"}), 422, "datasource"
    )
    campaign = greeting_campaign(api, tmp_path)
    assert_problem(
        api.call("PATCH", f"/campaigns/{campaign['id']}", json={"name": ""}), 422, "name"
    )
    assert_problem(api.call("PATCH", "/campaigns/99999", json={}), 404)
    assert_problem(api.call("POST", "/campaigns", Role.REVIEWER, json={}), 403)
    assert_problem(api.call("POST", f"/campaigns/{campaign['id']}/copy", Role.VIEWER), 403)


def test_a_sending_window_is_set_changed_and_removed_and_a_bad_one_stores_nothing(api, tmp_path):
    workdays = {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00"}
    campaign = greeting_campaign(api, tmp_path, sending_window=workdays)
    assert campaign["sending_window"] == workdays
    path = f"/campaigns/{campaign['id']}"
    assert api.call("GET", path, Role.VIEWER).get_json()["sending_window"] == workdays

    for window, field in [
        ({**workdays, "days": []}, "sending_window.days"),
        ({**workdays, "start": "8 Uhr"}, "sending_window.start"),
        ({**workdays, "end": "24:00"}, "sending_window.end"),
        ({**workdays, "end": "07:00"}, "sending_window.end"),
    ]:
        assert_problem(api.call("PATCH", path, json={"sending_window": window}), 422, field)
    not_a_day = {"sending_window": {**workdays, "days": [7]}}
    assert_problem(api.call("PATCH", path, json=not_a_day), 422, "sending_window.days.0")
    assert api.call("GET", path).get_json()["sending_window"] == workdays

    renamed = api.call("PATCH", path, json={"name": "Grüße am Wochenende"}).get_json()
    assert renamed["sending_window"] == workdays  # a change that does not name it keeps it
    weekend = {"days": [5, 6], "start": "10:00", "end": "18:00"}
    assert (
        api.call("PATCH", path, json={"sending_window": weekend}).get_json()["sending_window"]
        == weekend
    )
    assert (
        api.call("PATCH", path, json={"sending_window": None}).get_json()["sending_window"] is None
    )
    with api.panel.runtime.database.session() as session:
        entries = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "campaign.sending_window")
        ).all()
    assert [entry["sending_window"] for entry in entries] == [workdays, weekend, None]


def test_an_hourly_limit_is_set_kept_and_removed_and_a_bad_one_stores_nothing(api, tmp_path):
    campaign = greeting_campaign(api, tmp_path, hourly_limit=500)
    assert campaign["hourly_limit"] == 500
    path = f"/campaigns/{campaign['id']}"
    for limit in (0, 1_000_001, "viele"):
        assert_problem(api.call("PATCH", path, json={"hourly_limit": limit}), 422, "hourly_limit")
    assert api.call("GET", path, Role.VIEWER).get_json()["hourly_limit"] == 500

    renamed = api.call("PATCH", path, json={"name": "Grüße mit Maß"}).get_json()
    assert renamed["hourly_limit"] == 500  # a change that does not name it keeps it
    assert api.call("PATCH", path, json={"hourly_limit": 60}).get_json()["hourly_limit"] == 60
    assert api.call("PATCH", path, json={"hourly_limit": None}).get_json()["hourly_limit"] is None
    with api.panel.runtime.database.session() as session:
        entries = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "campaign.hourly_limit")
        ).all()
    assert [entry["hourly_limit"] for entry in entries] == [500, 60, None]
    assert "api_token" in entries[0]


def test_a_real_run_sends_only_with_the_count_the_caller_saw(api, tmp_path):
    add_contacts(api, 3)
    campaign = greeting_campaign(api, tmp_path)
    run = api.call("POST", f"/campaigns/{campaign['id']}/analyse", json={}).get_json()
    assert run["state"] == "queued"
    api.work()
    run = api.call("GET", f"/runs/{run['id']}", Role.VIEWER).get_json()
    assert run["state"] == "awaiting_confirmation" and run["confirmation"]["reached"] == 3
    assert_problem(
        api.call("POST", f"/runs/{run['id']}/start", Role.REVIEWER, json={"confirmed_count": 3}),
        403,
    )
    assert_problem(api.call("POST", f"/runs/{run['id']}/start", json={"confirmed_count": 2}), 409)
    assert_problem(api.call("POST", f"/runs/{run['id']}/start", json={}), 422, "confirmed_count")
    assert not (tmp_path / "greetings.txt").exists()
    started = api.call("POST", f"/runs/{run['id']}/start", json={"confirmed_count": 3})
    assert started.status_code == 200, started.get_json()
    api.work()
    run = api.call("GET", f"/runs/{run['id']}", Role.VIEWER).get_json()
    assert (run["state"], run["counts"]["done"], run["percent"]) == ("completed", 3, 100)
    assert run["confirmed_by"] == "mia" and run["confirmed_at"]
    assert (run["voided_at"], run["voided_reason"]) == (None, None)
    assert len((tmp_path / "greetings.txt").read_text().splitlines()) == 3
    items = api.call("GET", f"/runs/{run['id']}/items?limit=2", Role.VIEWER).get_json()
    assert len(items["items"]) == 2 and items["next_cursor"]
    rest = api.call("GET", f"/runs/{run['id']}/items?cursor={items['next_cursor']}", Role.VIEWER)
    assert [item["status"] for item in rest.get_json()["items"]] == ["done"]
    runs = api.call("GET", f"/campaigns/{campaign['id']}/runs", Role.VIEWER).get_json()
    assert [row["id"] for row in runs["items"]] == [run["id"]]
    assert api.call("GET", f"/runs/{run['id']}/files", Role.VIEWER).get_json() == {"items": []}
    assert_problem(api.call("GET", f"/runs/{run['id']}/files/x.pdf", Role.VIEWER), 404)
    with api.panel.runtime.database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "run.confirm"))
        assert (entry.details["count"], entry.details["api_token"]) == (3, "campaign_manager-token")


def test_dry_run_with_limit_discard_cancel_and_retry(api, tmp_path):
    add_contacts(api, 3)
    campaign = greeting_campaign(api, tmp_path)
    dry = api.call("POST", f"/campaigns/{campaign['id']}/dry-run", json={"limit": 2}).get_json()
    api.work()
    dry = api.call("GET", f"/runs/{dry['id']}", Role.VIEWER).get_json()
    assert (dry["dry_run"], dry["limit"], dry["counts"]["targeted"]) == (True, 2, 2)
    assert_problem(
        api.call("POST", f"/campaigns/{campaign['id']}/dry-run", json={"limit": 0}), 422, "limit"
    )
    real = api.call("POST", f"/campaigns/{campaign['id']}/analyse", json={}).get_json()
    cancelled = api.call("POST", f"/runs/{real['id']}/cancel")
    assert cancelled.get_json()["state"] == "cancelled"
    assert_problem(api.call("POST", f"/runs/{real['id']}/cancel"), 409)
    assert api.call("POST", f"/runs/{real['id']}/resume").status_code == 200
    api.work()
    discarded = api.call("POST", f"/runs/{real['id']}/discard")
    assert discarded.get_json()["state"] == "cancelled"
    assert_problem(api.call("POST", f"/runs/{dry['id']}/retry-failed", json={}), 409)
    assert_problem(api.call("GET", "/runs/99999", Role.VIEWER), 404)
    with api.panel.runtime.database.session() as session:
        session.get(Run, real["id"]).superseded_at = datetime.now(UTC)
        session.get(Run, real["id"]).superseded_reason = "replaced"
    voided = api.call("GET", f"/runs/{real['id']}", Role.VIEWER).get_json()
    assert voided["voided_at"] and voided["voided_reason"] == "replaced"
    refused = assert_problem(api.call("POST", f"/runs/{real['id']}/resume"), 409)
    assert "was voided and cannot go on" in refused["detail"]
