"""Workflows through the API: their state, run one now, its history."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AuditEntry, Role

from api_helpers import assert_problem


def test_list_run_now_and_read_the_history(api):
    workflows = api.call("GET", "/workflows", Role.VIEWER).get_json()["items"]
    names = [workflow["name"] for workflow in workflows]
    assert names and {workflow["state"] for workflow in workflows} <= {"started", "stopped"}
    assert all(isinstance(workflow["settings"], dict) for workflow in workflows)
    name = names[0]
    queued = api.call("POST", f"/workflows/{name}/run")
    assert queued.status_code == 202, queued.get_json()
    assert queued.get_json()["status"] == "queued"
    api.work()
    runs = api.call("GET", f"/workflows/{name}/runs?limit=1", Role.VIEWER).get_json()
    assert runs["items"][0]["id"] == queued.get_json()["id"]
    assert runs["items"][0]["status"] in ("succeeded", "failed", "skipped")
    with api.panel.runtime.database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "workflow.run"))
        assert entry.details["api_token"] == "campaign_manager-token"


def test_unknown_workflows_and_roles(api):
    assert_problem(api.call("GET", "/workflows/nope/runs", Role.VIEWER), 404)
    assert_problem(api.call("POST", "/workflows/nope/run"), 404)
    name = api.call("GET", "/workflows", Role.VIEWER).get_json()["items"][0]["name"]
    assert_problem(api.call("POST", f"/workflows/{name}/run", Role.REVIEWER), 403)
