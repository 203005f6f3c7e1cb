"""Deliveries, approvals and campaign templates through the API (``plugins.processes.api``):
list and read them, submit a delivery, approve and reject, create, change, pause and delete
a template, each role, bad input, and no trace of them in the API when the process bundle is
disabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.models import AuditEntry, Role, Run, User
from core.plugins import load_plugins
from plugins.processes.approvals import Reviewers, configure
from plugins.processes.models import (
    ApprovalMode,
    ApprovalStep,
    CampaignTemplate,
    Delivery,
    DeliveryState,
    OccurrenceState,
    TemplateKind,
    TemplateOccurrence,
)

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
        "/templates",
        "/templates/{template_id}",
    } <= set(paths)
    assert "reviewer" in paths["/approvals/{approval_id}/answer"]["post"]["description"]
    deleting = paths["/templates/{template_id}"]["delete"]
    assert set(deleting["responses"]) == {"204", "default"}
    assert "campaign manager" in deleting["description"]


def test_without_the_process_bundle_the_operations_are_absent(settings, redis_url):
    plugins = load_plugins(disabled=["plugins.processes"])
    assert not plugins.errors, plugins.errors
    for panel in open_panel(settings, plugins):
        api = Api(panel)
        paths = api.client.get("/api/v1/openapi.json").get_json()["paths"]
        assert "/contacts" in paths
        assert not [
            path for path in paths if path.startswith(("/deliveries", "/approvals", "/templates"))
        ]
        assert_problem(api.call("GET", "/deliveries", Role.VIEWER), 404)
        assert_problem(api.call("GET", "/templates", Role.VIEWER), 404)
        assert_problem(api.call("POST", "/templates", json={"name": "x"}), 404)
        assert_problem(api.call("DELETE", "/templates/1"), 404)
        assert_problem(api.call("POST", "/approvals/1/answer", json={"answer": "approve"}), 404)
        assert api.call("GET", "/contacts", Role.VIEWER).status_code == 200


# -- campaign templates ---------------------------------------------------------------------------

FIRST = datetime(2990, 2, 1, 8, 0, tzinfo=UTC)
"""A first date that stays in the future, so the schedule's next date is always it."""


def template_body(api: Api, name: str = "Newsletter", **fields) -> dict:
    campaign_id = fields.pop("campaign_id", None) or add_campaign(api.panel, f"{name} (Muster)")
    return {
        "name": name,
        "kind": "recurring",
        "campaign_id": campaign_id,
        "frequency": "weekly",
        "every": 2,
        "first_at": "2990-02-01T09:00:00+01:00",
    } | fields


def add_line(api: Api, template_id: int, number: int, **fields) -> int:
    with api.panel.runtime.database.session() as session:
        template = session.get(CampaignTemplate, template_id)
        line = TemplateOccurrence.for_template(
            template, number, FIRST + timedelta(weeks=2 * (number - 1))
        )
        for key, value in fields.items():
            setattr(line, key, value)
        session.add(line)
        session.flush()
        return line.id


def test_a_template_is_created_read_changed_and_paused(api):
    created = api.call(
        "POST",
        "/templates",
        json=template_body(api, description="  Alle zwei Wochen ", to_be_approved=True),
    )
    assert created.status_code == 201, created.get_json()
    template = created.get_json()
    assert (template["name"], template["description"], template["kind"]) == (
        "Newsletter",
        "Alle zwei Wochen",
        "recurring",
    )
    assert (template["campaign"], template["frequency"], template["every"]) == (
        "Newsletter (Muster)",
        "weekly",
        2,
    )
    assert template["first_at"] == "2990-02-01T08:00:00Z"
    assert (template["active"], template["to_be_approved"], template["to_be_started"]) == (
        True,
        True,
        True,
    )
    assert template["next_line"] is None and template["planned_lines"] == []
    assert template["next_date"] == "2990-02-01T08:00:00Z"  # no line yet: the schedule's first
    details = audit_details(api, "campaign_template.create")
    assert details["api_token"] == "campaign_manager-token" and details["every"] == 2

    template_id = template["id"]
    started = add_line(api, template_id, 1, state=OccurrenceState.STARTED)
    planned = add_line(api, template_id, 2)
    add_line(api, template_id, 3)
    read = api.call("GET", f"/templates/{template_id}", Role.VIEWER).get_json()
    assert read["next_line"]["id"] == planned and read["next_line"]["label"] == "Newsletter #2"
    assert read["next_line"]["to_be_approved"] and read["next_date"] is None
    assert [line["number"] for line in read["planned_lines"]] == [2, 3]
    assert started not in [line["id"] for line in read["planned_lines"]]

    paused = api.call("PATCH", f"/templates/{template_id}", json={"active": False})
    assert paused.status_code == 200, paused.get_json()
    paused = paused.get_json()
    assert paused["active"] is False
    assert (paused["name"], paused["every"], paused["campaign"]) == (
        "Newsletter",
        2,
        "Newsletter (Muster)",
    )  # the fields not given stay
    assert paused["first_at"] == "2990-02-01T08:00:00Z"
    assert audit_details(api, "campaign_template.update")["active"] is False
    changed = api.call(
        "PATCH",
        f"/templates/{template_id}",
        json={"active": True, "frequency": "monthly", "every": 1, "until": None},
    ).get_json()
    assert (changed["frequency"], changed["every"], changed["active"]) == ("monthly", 1, True)
    with api.panel.runtime.database.session() as session:  # lines made before keep their dates
        assert session.get(TemplateOccurrence, planned).planned_at == FIRST + timedelta(weeks=2)


def test_a_template_is_checked_as_the_panels_form_checks_it(api):
    taken = api.call("POST", "/templates", json=template_body(api, "Jahresbrief")).get_json()
    model = add_campaign(api.panel, "Infobrief")

    def refused(body: dict, field: str, method: str = "POST", path: str = "/templates") -> str:
        problem = assert_problem(api.call(method, path, json=body), 422, field)
        return next(error["detail"] for error in problem["errors"] if error["field"] == field)

    assert refused(template_body(api, "Jahresbrief", campaign_id=model), "name") == (
        "Dieser Name ist bereits vergeben."
    )
    assert refused(template_body(api, "Neu", campaign_id=taken["campaign_id"]), "campaign_id") == (
        "Die Kampagne ist schon Muster der Vorlage „Jahresbrief“; eine Kampagne ist Muster "
        "höchstens einer Vorlage."
    )  # mia speaks German, as the panel's form says it
    assert refused(template_body(api, "Neu", campaign_id=2**31 - 1), "campaign_id") == (
        "Es gibt keine Kampagne mit der Nummer 2147483647."
    )
    both = api.call("POST", "/templates", json=template_body(
        api, "Neu", campaign_id=model, frequency=None, first_at=None
    ))  # fmt: skip
    assert [error["field"] for error in assert_problem(both, 422)["errors"]] == [
        "frequency",
        "first_at",
    ]
    assert refused(
        template_body(api, "Neu", campaign_id=model, program_id=1), "program_id"
    ) == ("Nur eine periodische Vorlage legt Kampagnen in einem Programm an; lassen Sie das "
          "Feld leer.")  # fmt: skip
    assert (
        refused(
            template_body(api, "Neu", campaign_id=model, kind="periodic", program_id=2**31 - 1),
            "program_id",
        )
        == "Es gibt kein Programm mit der Nummer 2147483647."
    )
    assert refused(
        template_body(api, "Neu", campaign_id=model, until="2990-01-01T09:00:00+01:00"), "until"
    )
    for field, value in [
        ("name", "   "),
        ("name", "x" * 201),
        ("kind", "weekly"),
        ("campaign_id", "abc"),
        ("campaign_id", 2**31),
        ("frequency", "hourly"),
        ("every", 0),
        ("every", 1001),
        ("create_in_advance_days", -1),
        ("create_in_advance_days", 367),
        ("first_at", "2990-02-01T09:00"),  # no offset
        ("first_at", "morgen"),
        ("first_at", "3000-01-01T00:00:00Z"),
        ("until", "0001-01-01T00:00:00+01:00"),
        ("to_be_approved", "vielleicht"),
        ("extra", 1),
    ]:
        assert refused(template_body(api, "Neu", campaign_id=model) | {field: value}, field)
    assert_problem(api.call("POST", "/templates", json={"name": "Neu"}), 422, "kind")

    path = f"/templates/{taken['id']}"
    add_line(api, taken["id"], 1)
    assert refused({"kind": "periodic"}, "kind", "PATCH", path) == (
        "Die Art lässt sich nicht mehr ändern: Die Vorlage hat schon Terminzeilen."
    )
    assert refused({"name": None}, "name", "PATCH", path)
    assert refused({"first_at": None}, "first_at", "PATCH", path) == (
        "Eine wiederkehrende oder periodische Vorlage braucht einen ersten Termin."
    )
    assert refused({"until": "2980-01-01T00:00:00Z"}, "until", "PATCH", path)
    assert api.call("PATCH", path, json={"name": "Jahresbrief"}).status_code == 200  # its own
    assert_problem(api.call("PATCH", "/templates/999", json={}), 404)
    assert_problem(api.call("GET", f"/templates/{2**31}", Role.VIEWER), 404)
    assert assert_problem(api.call("GET", "/templates/999", Role.VIEWER), 404)["detail"] == (
        "no campaign template '999'"
    )
    with api.panel.runtime.database.session() as session:  # nothing of the refusals stored
        assert session.scalar(select(func.count()).select_from(CampaignTemplate)) == 1
        assert session.get(CampaignTemplate, taken["id"]).kind is TemplateKind.RECURRING


def test_templates_are_listed_paged_filtered_and_changed_by_a_campaign_manager(api):
    first = api.call("POST", "/templates", json=template_body(api, "Eins")).get_json()["id"]
    second = api.call(
        "POST",
        "/templates",
        json=template_body(api, "Zwei", kind="unique", frequency=None, first_at=None,
                           active=False),
    ).get_json()["id"]  # fmt: skip
    page = api.call("GET", "/templates?limit=1", Role.VIEWER).get_json()
    assert [row["id"] for row in page["items"]] == [first]
    assert page["items"][0]["next_date"] == "2990-02-01T08:00:00Z"
    following = api.call(
        "GET", f"/templates?limit=1&cursor={page['next_cursor']}", Role.VIEWER
    ).get_json()
    assert [row["id"] for row in following["items"]] == [second]
    assert following["next_cursor"] is None
    assert following["items"][0]["next_date"] is None  # unique: no schedule
    active = api.call("GET", "/templates?active=true", Role.VIEWER).get_json()["items"]
    assert [row["id"] for row in active] == [first]
    unique = api.call("GET", "/templates?kind=unique", Role.VIEWER).get_json()["items"]
    assert [row["id"] for row in unique] == [second]
    assert_problem(api.call("GET", "/templates?kind=weekly", Role.VIEWER), 422, "kind")
    assert_problem(api.call("GET", "/templates?active=vielleicht", Role.VIEWER), 422, "active")
    assert_problem(api.call("GET", "/templates?cursor=nope", Role.VIEWER), 422, "cursor")
    body = template_body(api, "Drei")
    for role in (Role.VIEWER, Role.REVIEWER):
        assert_problem(api.call("POST", "/templates", role, json=body), 403)
        assert_problem(api.call("PATCH", f"/templates/{first}", role, json={"active": False}), 403)
    assert api.call("PATCH", f"/templates/{first}", Role.ADMIN, json={}).status_code == 200


def test_a_template_is_deleted_only_while_none_of_its_lines_started(api):
    kept = api.call("POST", "/templates", json=template_body(api, "Jahresbrief")).get_json()
    add_line(api, kept["id"], 1, state=OccurrenceState.STARTED)
    add_line(api, kept["id"], 2)
    refused = assert_problem(api.call("DELETE", f"/templates/{kept['id']}"), 409)
    assert refused["detail"] == (  # as the panel says it
        "Vorlage „Jahresbrief“ nicht gelöscht: Eine ihrer Terminzeilen ist schon gestartet. "
        "Deaktivieren Sie die Vorlage, dann entstehen keine neuen Zeilen."
    )
    template = api.call("POST", "/templates", json=template_body(api)).get_json()
    add_line(api, template["id"], 1, state=OccurrenceState.SKIPPED)
    add_line(api, template["id"], 2)
    path = f"/templates/{template['id']}"
    for role in (Role.VIEWER, Role.REVIEWER):
        assert_problem(api.call("DELETE", path, role), 403)
    deleted = api.call("DELETE", path)
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_problem(api.call("GET", path, Role.VIEWER), 404)
    assert_problem(api.call("DELETE", path), 404)
    details = audit_details(api, "campaign_template.delete")
    assert details == {"lines": 2, "api_token": "campaign_manager-token"}
    with api.panel.runtime.database.session() as session:
        assert session.scalars(select(CampaignTemplate.name)).all() == ["Jahresbrief"]
        lines = session.scalars(select(TemplateOccurrence.template_id)).all()
        assert lines == [kept["id"], kept["id"]]  # the deleted one's lines went with it
        entry = session.scalar(
            select(AuditEntry).where(AuditEntry.action == "campaign_template.delete")
        )
        assert (entry.actor, entry.target_id) == ("mia", str(template["id"]))
    models = api.call("GET", f"/campaigns/{template['campaign_id']}", Role.VIEWER)
    assert models.status_code == 200  # the model campaign stays


def test_a_manager_approves_lets_start_and_skips_lines_as_on_the_templates_page(api):
    template = api.call(
        "POST", "/templates", json=template_body(api, to_be_approved=True, to_be_started=False)
    ).get_json()
    first, second, third = (add_line(api, template["id"], number) for number in (1, 2, 3))

    approved = api.call("POST", f"/templates/lines/{first}/approve")
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["approved_by"] == "mia" and approved.get_json()["approved_at"]
    again = assert_problem(api.call("POST", f"/templates/lines/{first}/approve"), 409)
    assert again["detail"].startswith("„Newsletter #1“ wurde schon von mia am ")  # as the panel
    assert api.call("POST", f"/templates/lines/{first}/start").get_json()["to_be_started"]
    skipped = api.call("POST", f"/templates/lines/{second}/skip").get_json()
    assert skipped["state"] == "skipped"
    assert assert_problem(api.call("POST", f"/templates/lines/{second}/start"), 409)["detail"]
    assert [(entry, details["line_id"]) for entry, details in template_audit(api)] == [
        ("schedule_line.approve", first),
        ("schedule_line.start", first),
        ("schedule_line.skip", second),
    ]
    assert all(details["api_token"] == "campaign_manager-token" for _, details in
               template_audit(api))  # fmt: skip

    api.call("PATCH", f"/templates/{template['id']}", json={"active": False})
    paused = assert_problem(api.call("POST", f"/templates/lines/{third}/start"), 409)
    assert "Die Vorlage ist nicht aktiv" in paused["detail"]
    read = api.call("GET", f"/templates/{template['id']}", Role.VIEWER).get_json()
    assert [line["id"] for line in read["planned_lines"]] == [first, third]
    assert_problem(api.call("POST", f"/templates/lines/{third}/skip", Role.VIEWER), 403)
    assert_problem(api.call("POST", "/templates/lines/999/skip"), 404)
    assert_problem(api.call("POST", f"/templates/lines/{2**31}/approve"), 404)


def template_audit(api: Api) -> list[tuple[str, dict]]:
    with api.panel.runtime.database.session() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("schedule_line.%"))
            .order_by(AuditEntry.id)
        )
        return [(entry.action, entry.details) for entry in entries]
