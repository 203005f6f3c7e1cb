"""Deliveries and approvals through the API (``plugins.processes.api``): list and read them,
submit a delivery, approve and reject, each role, bad input, and no trace of them in the API
when the process bundle is disabled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.models import AuditEntry, Role, Run, User
from core.plugins import load_plugins
from plugins.processes.approvals import Reviewers, configure
from plugins.processes.models import ApprovalMode, ApprovalStep, Delivery, DeliveryState

from api_helpers import Api, assert_problem
from panel_helpers import open_panel
from process_panel_helpers import add_campaign, add_delivery, confirmable, user_id


def manual_delivery(api: Api, label: str = "Brief") -> int:
    """A direct-mail delivery whose content step needs the answer of the reviewer user."""
    panel = api.panel
    delivery_id = add_delivery(panel, add_campaign(panel, f"Kampagne {label}"), label)
    with panel.runtime.database.session() as session:
        configure(
            session,
            session.get(Delivery, delivery_id),
            ApprovalStep.CONTENT,
            ApprovalMode.MANUAL,
            panel.runtime.clock.now(),
            Reviewers.of(users=[user_id(panel, Role.REVIEWER)]),
            by=session.get(User, user_id(panel, Role.CAMPAIGN_MANAGER)),
        )
    return delivery_id


def audit_details(api: Api, action: str) -> dict:
    with api.panel.runtime.database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == action))
        assert entry is not None, action
        return entry.details


def test_submit_a_delivery_and_approve_it(api):
    delivery_id = manual_delivery(api)
    submitted = api.call("POST", f"/deliveries/{delivery_id}/submit", json={})
    assert submitted.status_code == 200, submitted.get_json()
    delivery = submitted.get_json()
    assert delivery["state"] == DeliveryState.TO_VALIDATE.value
    content = next(a for a in delivery["approvals"] if a["step"] == "content")
    assert content["state"] == "pending" and content["round"] == 1
    assert not content["may_answer"]  # the campaign manager is not its reviewer
    assert audit_details(api, "delivery.submit")["api_token"] == "campaign_manager-token"

    read = api.call("GET", f"/approvals/{content['id']}", Role.REVIEWER).get_json()
    assert read["may_answer"] and read["submitted_by"] == "mia"
    approved = api.call(
        "POST",
        f"/approvals/{content['id']}/answer",
        Role.REVIEWER,
        json={"answer": "approve", "comment": "passt", "seen_round": 1},
    )
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["state"] == "approved"
    assert approved.get_json()["answered_by"] == "rita"
    details = audit_details(api, "approval.approve")
    assert details["api_token"] == "reviewer-token" and details["comment"] == "passt"
    again = api.call(
        "POST", f"/approvals/{content['id']}/answer", Role.REVIEWER, json={"answer": "approve"}
    )
    detail = assert_problem(again, 409)["detail"]  # English, though rita speaks German
    assert detail.startswith(
        "the content of delivery 'Brief' (Kampagne Brief) was already approved by rita at "
    )


def test_reject_needs_a_comment_and_a_reviewer(api):
    delivery_id = manual_delivery(api)
    delivery = api.call("POST", f"/deliveries/{delivery_id}/submit", json={}).get_json()
    approval_id = next(a["id"] for a in delivery["approvals"] if a["state"] == "pending")
    path = f"/approvals/{approval_id}/answer"
    assert_problem(api.call("POST", path, Role.REVIEWER, json={"answer": "reject"}), 422, "comment")
    maybe = assert_problem(
        api.call("POST", path, Role.REVIEWER, json={"answer": "maybe"}), 422, "answer"
    )
    assert maybe["errors"][0]["detail"] == "Erlaubt: 'approve' oder 'reject'."  # rita speaks German
    assert_problem(
        api.call("POST", path, Role.REVIEWER, json={"answer": "approve", "seen_round": 0}),
        422,
        "seen_round",
    )
    assert_problem(
        api.call("POST", path, Role.REVIEWER, json={"answer": "approve", "extra": 1}), 422, "extra"
    )
    assert_problem(api.call("POST", path, Role.ADMIN, json={"answer": "approve"}), 403)
    assert_problem(api.call("POST", path, Role.VIEWER, json={"answer": "approve"}), 403)
    rejected = api.call(
        "POST", path, Role.REVIEWER, json={"answer": "reject", "comment": "Text fehlt"}
    )
    assert rejected.get_json()["state"] == "rejected"
    assert audit_details(api, "approval.reject")["comment"] == "Text fehlt"
    resubmitted = api.call("POST", f"/deliveries/{delivery_id}/submit", json={})
    assert resubmitted.status_code == 200
    stale = api.call("POST", path, Role.REVIEWER, json={"answer": "approve", "seen_round": 1})
    assert "submitted again" in assert_problem(stale, 409)["detail"]


def test_submission_errors_and_roles(api):
    delivery_id = manual_delivery(api)
    path = f"/deliveries/{delivery_id}/submit"
    past = (api.panel.runtime.clock.now() - timedelta(hours=1)).isoformat()
    assert_problem(api.call("POST", path, json={"deadline": past}), 422, "deadline")
    assert_problem(api.call("POST", path, json={"deadline": "2030-01-01T10:00"}), 422, "deadline")
    assert_problem(api.call("POST", path, Role.REVIEWER, json={}), 403)
    assert_problem(api.call("POST", "/deliveries/999/submit", json={}), 404)
    with api.panel.runtime.database.session() as session:
        session.get(Delivery, delivery_id).state = DeliveryState.STOPPED
    assert "stopped" in assert_problem(api.call("POST", path, json={}), 409)["detail"]


def test_lists_are_paged_filtered_and_need_their_roles(api):
    first, second = manual_delivery(api, "Eins"), manual_delivery(api, "Zwei")
    page = api.call("GET", "/deliveries?limit=1", Role.VIEWER).get_json()
    assert [row["id"] for row in page["items"]] == [first]
    following = api.call(
        "GET", f"/deliveries?limit=1&cursor={page['next_cursor']}", Role.VIEWER
    ).get_json()
    assert [row["id"] for row in following["items"]] == [second]
    assert following["next_cursor"] is None
    assert api.call("GET", f"/deliveries/{second}", Role.VIEWER).get_json()["label"] == "Zwei"
    assert_problem(api.call("GET", "/deliveries?cursor=nope", Role.VIEWER), 422, "cursor")
    assert_problem(api.call("GET", "/deliveries?state=lost", Role.VIEWER), 422, "state")
    assert_problem(api.call("GET", "/deliveries/999", Role.VIEWER), 404)

    api.call("POST", f"/deliveries/{second}/submit", json={})
    pending = api.call("GET", "/approvals?state=pending", Role.REVIEWER).get_json()["items"]
    assert [(row["delivery_id"], row["may_answer"]) for row in pending] == [(second, True)]
    by_delivery = api.call("GET", f"/approvals?delivery_id={first}", Role.REVIEWER).get_json()
    assert [row["step"] for row in by_delivery["items"]] == ["content"]
    assert_problem(api.call("GET", "/approvals", Role.VIEWER), 403)
    assert_problem(api.call("GET", "/approvals/999", Role.REVIEWER), 404)


def test_an_online_deliverys_start_is_confirmed_with_the_count_it_was_shown(api):
    _campaign_id, delivery_id = confirmable(api.panel)
    shown = api.call("GET", f"/deliveries/{delivery_id}/confirmation").get_json()
    assert (shown["records"], shown["waiting"], shown["starts_by_itself"]) == (3, True, False)
    assert_problem(api.call("GET", f"/deliveries/{delivery_id}/confirmation", Role.REVIEWER), 403)

    stale = api.call("POST", f"/deliveries/{delivery_id}/confirm", json={"count": 4})
    assert "4 shown, but the campaign selects 3 records now" in assert_problem(stale, 409)["detail"]

    confirmed = api.call("POST", f"/deliveries/{delivery_id}/confirm", json={"count": 3})

    assert confirmed.status_code == 200, confirmed.get_json()
    result = confirmed.get_json()
    delivery = result["delivery"]
    assert (delivery["state"], delivery["confirmed_by"], delivery["confirmed_count"]) == (
        DeliveryState.IN_PROGRESS.value,
        "mia",
        3,
    )
    with api.panel.runtime.database.session() as session:  # analysed, waiting for its count
        run = session.get(Run, result["run_id"])
        assert (run.delivery_id, run.confirmed_by, run.started_by) == (delivery_id, None, "mia")
    assert audit_details(api, "delivery.confirm")["api_token"] == "campaign_manager-token"
    again = api.call("POST", f"/deliveries/{delivery_id}/confirm", json={"count": 3})
    assert "waits for no confirmation" in assert_problem(again, 409)["detail"]


def test_a_start_confirmed_ahead_waits_for_its_planned_time(api):
    _campaign_id, delivery_id = confirmable(api.panel)
    with api.panel.runtime.database.session() as session:
        session.get(Delivery, delivery_id).planned_start_at = (
            api.panel.runtime.clock.now() + timedelta(hours=2)
        )
    assert api.call("GET", f"/deliveries/{delivery_id}/confirmation").get_json()["starts_by_itself"]

    result = api.call("POST", f"/deliveries/{delivery_id}/confirm", json={"count": 3}).get_json()

    assert result["run_id"] is None
    assert result["delivery"]["state"] == DeliveryState.PENDING_CONFIRMATION.value
    assert result["delivery"]["confirmed_count"] == 3


@pytest.mark.parametrize("body", [{}, {"count": -1}, {"count": "drei"}, {"count": 3, "x": 1}])
def test_a_confirmation_without_a_count_is_refused(api, body):
    _campaign_id, delivery_id = confirmable(api.panel)
    assert_problem(api.call("POST", f"/deliveries/{delivery_id}/confirm", json=body), 422)


def test_the_operations_are_in_the_document(api):
    paths = api.client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/deliveries",
        "/deliveries/{delivery_id}",
        "/deliveries/{delivery_id}/submit",
        "/deliveries/{delivery_id}/confirmation",
        "/deliveries/{delivery_id}/confirm",
        "/approvals",
        "/approvals/{approval_id}",
        "/approvals/{approval_id}/answer",
    } <= set(paths)
    assert "reviewer" in paths["/approvals/{approval_id}/answer"]["post"]["description"]


def test_without_the_process_bundle_the_operations_are_absent(settings, redis_url):
    plugins = load_plugins(disabled=["plugins.processes"])
    assert not plugins.errors, plugins.errors
    for panel in open_panel(settings, plugins):
        api = Api(panel)
        paths = api.client.get("/api/v1/openapi.json").get_json()["paths"]
        assert "/contacts" in paths
        assert not [path for path in paths if path.startswith(("/deliveries", "/approvals"))]
        assert_problem(api.call("GET", "/deliveries", Role.VIEWER), 404)
        assert_problem(api.call("POST", "/approvals/1/answer", json={"answer": "approve"}), 404)
        assert api.call("GET", "/contacts", Role.VIEWER).status_code == 200
