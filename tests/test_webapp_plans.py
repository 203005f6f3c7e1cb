"""Plans, programs, the campaigns' process fields and tasks through the Flask test client, on
SQLite and PostgreSQL: the timeline, the forms with their messages next to the field, and who
may change what."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.models import BudgetStatus, Campaign, CampaignStatus, Role
from plugins.processes.models import Budget, Plan, Program, Task, TaskState

from panel_helpers import body, field_errors, post
from process_panel_helpers import add_campaign, add_delivery, audit_actions, user_id, world


def test_the_overview_draws_plans_and_programs_on_a_timeline(panel):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        session.add(Plan(name="Marketing 2027"))
        session.add(Budget(name="Jahresbudget", plan_id=ids.plan_id, allocated=Decimal(25000)))
    html = body(panel.client(Role.VIEWER).get("/plans/"))
    assert 'data-chart="timeline"' in html
    period = r"01\.01\.2026 \u2013 31\.12\.2026"
    assert re.search(r'class="level-0".*?Marketing 2026.*?' + period, html, re.S)
    assert re.search(r'class="level-1".*?Kundenbindung', html, re.S)
    assert "25.000,00 €" in html
    assert "ohne Datum" in html  # the plan of 2027 has no dates yet
    assert "Neuer Plan" not in html  # a viewer creates nothing


def test_a_plan_shows_its_programs_campaigns_and_planned_deliveries(panel):
    ids = world(panel)
    campaign_id = add_campaign(
        panel,
        program_id=ids.program_id,
        start_date=date(2026, 2, 1),
        end_date=date(2026, 3, 31),
    )
    add_delivery(
        panel, campaign_id, "Brief Februar", planned_start_at=datetime(2026, 2, 10, 8, tzinfo=UTC)
    )
    html = body(panel.client(Role.VIEWER).get(f"/plans/{ids.plan_id}"))
    assert "<h1>Marketing 2026</h1>" in html
    assert re.search(r'class="level-2".*?Infobrief.*?01\.02\.2026 \u2013 31\.03\.2026', html, re.S)
    assert "<title>Brief Februar</title>" in html  # the delivery's marker
    assert f'href="/plans/campaigns/{campaign_id}"' in html
    program = body(panel.client(Role.VIEWER).get(f"/plans/programs/{ids.program_id}"))
    assert "Infobrief" in program and "Läuft" in program
    assert '<span class="badge badge-muted" data-campaign-state>Läuft</span>' in html
    add_campaign(panel, "Herbstbrief", program_id=ids.program_id, status=CampaignStatus.CANCELLED)
    cancelled = body(panel.client(Role.VIEWER).get(f"/plans/{ids.plan_id}?state=cancelled"))
    assert "Herbstbrief" in cancelled and ">Infobrief<" not in cancelled


def test_a_manager_creates_and_edits_plans_and_programs(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    mia = user_id(panel, Role.CAMPAIGN_MANAGER)
    refused = post(
        manager,
        "/plans/new",
        {
            "name": "Marketing 2026",
            "start_date": "2027-12-31",
            "end_date": "2027-01-01",
            "manager_id": "999",
        },
    )
    assert refused.status_code == 422
    html = body(refused)
    assert field_errors(html, "name") == ["Dieser Name ist bereits vergeben."]
    assert field_errors(html, "end_date") == ["Das Ende liegt vor dem Beginn."]
    assert field_errors(html, "manager_id") == ["„999“ steht nicht zur Auswahl."]
    assert 'value="2027-12-31"' in html  # what was typed stays

    created = post(
        manager,
        "/plans/new",
        {
            "name": "Marketing 2027",
            "start_date": "2027-01-01",
            "end_date": "2027-12-31",
            "manager_id": str(mia),
            "description": "Das nächste Jahr",
        },
    )
    assert created.status_code == 302
    with panel.runtime.database.session() as session:
        plan = session.query(Plan).filter_by(name="Marketing 2027").one()
        assert (plan.start_date, plan.manager_id) == (date(2027, 1, 1), mia)
        plan_id = plan.id
    assert created.headers["Location"] == f"/plans/{plan_id}"

    assert post(manager, f"/plans/{plan_id}/edit", {"name": "Marketing 2027/28"}).status_code == 302
    program = post(
        manager,
        f"/plans/{plan_id}/programs/new",
        {"plan_id": str(plan_id), "name": "Neukunden", "start_date": "2027-03-01"},
    )
    assert program.status_code == 302
    duplicate = post(
        manager,
        f"/plans/{ids.plan_id}/programs/new",
        {"plan_id": str(ids.plan_id), "name": "Kundenbindung"},
    )
    assert field_errors(body(duplicate), "name") == ["Dieser Name ist bereits vergeben."]
    with panel.runtime.database.session() as session:
        assert session.get(Plan, plan_id).name == "Marketing 2027/28"
        moved = session.query(Program).filter_by(name="Neukunden").one()
        assert (moved.plan_id, moved.start_date) == (plan_id, date(2027, 3, 1))
    assert audit_actions(panel)[:3] == ["program.create", "plan.update", "plan.create"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_change_plans(panel, role):
    ids = world(panel)
    client = panel.client(role)
    campaign_id = add_campaign(panel)
    assert client.get("/plans/new").status_code == 403
    for path in (
        "/plans/new",
        f"/plans/{ids.plan_id}/edit",
        f"/plans/{ids.plan_id}/programs/new",
        f"/plans/programs/{ids.program_id}/edit",
        f"/plans/campaigns/{campaign_id}",
        f"/plans/campaigns/{campaign_id}/tasks/new",
    ):
        assert post(client, path, {"name": "X"}).status_code == 403, path
    assert panel.client(Role.ADMIN).get("/plans/new").status_code == 200


def test_the_process_fields_of_a_campaign(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel, status=CampaignStatus.EDITING)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = {
        "program_id": str(ids.program_id),
        "start_date": "2026-02-01",
        "end_date": "2026-03-31",
        "manager_id": str(ids.manager_id),
        "status": "finished",  # not a field: the workflow moves it, a person cancels
        "budget_status": "specified",
        "commitment_level": "2",
        "estimated_cost": "4.500,00",
        "provider_service_id": str(ids.print_service_id),
    }
    refused = post(
        manager,
        f"/plans/campaigns/{campaign_id}",
        form | {"estimated_cost": "viel", "commitment_level": "7", "provider_service_id": "999"},
    )
    assert refused.status_code == 422
    assert field_errors(body(refused), "estimated_cost") == ["„viel“ ist keine Zahl."]
    assert field_errors(body(refused), "commitment_level") == ["„7“ steht nicht zur Auswahl."]
    assert field_errors(body(refused), "provider_service_id") == ["„999“ steht nicht zur Auswahl."]
    assert post(manager, f"/plans/campaigns/{campaign_id}", form).status_code == 302
    with panel.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.program_id == ids.program_id
        assert campaign.status is CampaignStatus.EDITING
        assert campaign.budget_status is BudgetStatus.SPECIFIED
        assert (campaign.commitment_level, campaign.estimated_cost) == (2, Decimal("4500.00"))
        assert campaign.provider_service_id == ids.print_service_id  # prices its direct runs
    assert audit_actions(panel)[0] == "campaign.process"
    viewer_page = body(panel.client(Role.VIEWER).get(f"/plans/campaigns/{campaign_id}"))
    assert 'name="estimated_cost"' not in viewer_page
    assert "2 reserviert" in viewer_page and "4.500,00 €" in viewer_page
    assert "Brief A4" in viewer_page


def test_a_campaign_is_cancelled_and_reopened_and_refuses_to_start_meanwhile(panel):
    from core.models import Run, RunState

    world(panel)
    today = panel.runtime.clock.now().date()
    campaign_id = add_campaign(
        panel,
        status=CampaignStatus.IN_PROGRESS,
        start_date=today + timedelta(days=20),
        end_date=today - timedelta(days=1),
    )
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    page = f"/plans/campaigns/{campaign_id}"
    with panel.runtime.database.session() as session:
        run = Run(campaign_id=campaign_id, number=1, config={}, state=RunState.RUNNING)
        session.add(run)
    refused = post(manager, f"{page}/cancel")
    assert refused.status_code == 409
    assert "Die Kampagne hat einen laufenden Lauf" in body(refused)
    # the process fields are fine: their form asked to correct fields nobody marked
    assert "Bitte korrigieren Sie die markierten Felder." not in body(refused)
    with panel.runtime.database.session() as session:
        session.scalar(select(Run)).state = RunState.CANCELLED

    assert post(manager, f"{page}/cancel").status_code == 302
    html = body(manager.get(page))
    assert "Kampagne „Infobrief“ abgebrochen." in html and "Abgebrochen" in html
    started = post(manager, f"/campaigns/{campaign_id}/start", {"mode": "start"})
    assert "hat den Status „Abgebrochen“: Öffnen Sie sie" in body(
        manager.get(started.headers["Location"])
    )
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
    again = post(manager, f"{page}/cancel")
    assert again.status_code == 409
    assert "Die Kampagne „Infobrief“ hat bereits den Status „Abgebrochen“." in body(again)

    passed = post(manager, f"{page}/reopen", {"reopen_end_date": "2020-01-01"})
    assert passed.status_code == 409
    assert "Das Enddatum 01.01.2020 ist vorbei: Geben Sie ein späteres an" in body(passed)
    early, start = today + timedelta(days=10), today + timedelta(days=20)
    before_start = post(manager, f"{page}/reopen", {"reopen_end_date": early.isoformat()})
    assert before_start.status_code == 409
    assert f"Das Enddatum {early:%d.%m.%Y} liegt vor dem Beginn am {start:%d.%m.%Y}." in body(
        before_start
    )
    later = (today + timedelta(days=30)).isoformat()
    reopened = post(manager, f"{page}/reopen", {"reopen_end_date": later})
    assert reopened.status_code == 302
    assert "wieder geöffnet: Läuft." in body(manager.get(reopened.headers["Location"]))
    with panel.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert (campaign.status, campaign.end_date) == (
            CampaignStatus.IN_PROGRESS, today + timedelta(days=30),
        )  # fmt: skip
    assert audit_actions(panel)[:2] == ["campaign.reopen", "campaign.cancel"]
    assert post(panel.client(Role.REVIEWER), f"{page}/cancel").status_code == 403


def test_tasks_move_through_their_states(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    new = post(
        manager,
        f"/plans/campaigns/{campaign_id}/tasks/new",
        {
            "name": "Konzept",
            "state": "scheduled",
            "provider_service_id": str(ids.agency_service_id),
            "estimated_cost": "1000",
            "days_worked": "zwei",
        },
    )
    assert field_errors(body(new), "days_worked") == ["„zwei“ ist keine Zahl."]
    overflowing = post(  # Numeric(8, 2) holds 999.999,99: PostgreSQL refused more with a 500
        manager,
        f"/plans/campaigns/{campaign_id}/tasks/new",
        {"name": "Konzept", "state": "scheduled", "days_worked": "1.000.000"},
    )
    assert overflowing.status_code == 422
    assert field_errors(body(overflowing), "days_worked") == ["Der Wert ist zu groß."]
    wrong_service = post(
        manager,
        f"/plans/campaigns/{campaign_id}/tasks/new",
        {"name": "Konzept", "state": "scheduled", "provider_service_id": str(ids.sms_service_id)},
    )
    assert field_errors(body(wrong_service), "provider_service_id")  # no task prices there
    assert (
        post(
            manager,
            f"/plans/campaigns/{campaign_id}/tasks/new",
            {
                "name": "Konzept",
                "state": "scheduled",
                "provider_service_id": str(ids.agency_service_id),
            },
        ).status_code
        == 302
    )
    with panel.runtime.database.session() as session:
        task_id = session.query(Task).one().id
    edit = f"/plans/tasks/{task_id}/edit"
    skipped = post(manager, edit, {"name": "Konzept", "state": "finished", "days_worked": "5"})
    assert skipped.status_code == 422
    assert field_errors(body(skipped), "state") == [
        "Von „Geplant“ aus ist „Erledigt“ nicht möglich."
    ]
    assert post(manager, edit, {"name": "Konzept", "state": "in_progress"}).status_code == 302
    done = post(manager, edit, {"name": "Konzept", "state": "finished", "days_worked": "5,5"})
    assert done.status_code == 302
    with panel.runtime.database.session() as session:
        task = session.get(Task, task_id)
        assert task.state is TaskState.FINISHED
        assert task.days_worked == Decimal("5.5") and task.finished_at is not None
    page = body(manager.get(f"/plans/campaigns/{campaign_id}"))
    assert "Konzept" in page and "Erledigt" in page
    assert audit_actions(panel)[:3] == ["task.update", "task.update", "task.create"]


def test_the_campaign_screen_links_to_planning_and_costs(panel):
    world(panel)
    campaign_id = add_campaign(panel)
    html = body(panel.client(Role.VIEWER).get(f"/campaigns/{campaign_id}"))
    assert f'href="/plans/campaigns/{campaign_id}" id="process-link">Planung und Kosten' in html


def test_a_task_chooses_the_one_budget_its_cost_is_charged_to(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    with panel.runtime.database.session() as session:
        budget = Budget(name="Agenturbudget", program_id=ids.program_id, allocated=Decimal(5))
        session.add(budget)
        session.flush()
        budget_id = budget.id
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    path = f"/plans/campaigns/{campaign_id}/tasks/new"
    assert "Agenturbudget" in body(manager.get(path))
    form = {"name": "Konzept", "state": "scheduled"}
    refused = post(manager, path, form | {"budget_id": "999"})
    assert field_errors(body(refused), "budget_id") == ["„999“ steht nicht zur Auswahl."]
    assert post(manager, path, form | {"budget_id": str(budget_id)}).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.query(Task).one().budget_id == budget_id
