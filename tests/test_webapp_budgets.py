"""Budgets through the Flask test client, on SQLite and PostgreSQL: the list, a budget's
chart and numbers, its split by expense category, its expense and cost lines page by page,
and the budget and expense category forms."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.models import BudgetStatus, Role, Run, RunState, User
from plugins.processes.costs import Quantities, Structure, category_cost
from plugins.processes.models import (
    Budget,
    BudgetExpense,
    CostLine,
    Delivery,
    ExpenseBasis,
    ExpenseCategory,
    ExpenseLine,
    Plan,
)

from panel_helpers import body, field_errors, post
from process_panel_helpers import add_campaign, add_delivery, audit_actions, world

D = Decimal
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_the_list_shows_usage_and_overruns(panel):
    ids = world(panel)
    campaign_id = add_campaign(panel)
    with panel.runtime.database.session() as session:
        session.add(
            Budget(
                name="Jahresbudget",
                plan_id=ids.plan_id,
                allocated=D(10000),
                planned=D(2000),
                reserved=D(3000),
                spent=D(1500),
            )
        )
        session.add(
            Budget(
                name="Infobrief",
                campaign_id=campaign_id,
                allocated=D(1000),
                committed=D(1250),
                over_allocated=True,
            )
        )
    html = body(panel.client(Role.VIEWER).get("/budgets/"))
    jahr = html[html.index("Jahresbudget") :]
    assert "10.000,00 €" in jahr and "5.000,00 €" in jahr
    info = html[html.index(">Infobrief</a>") :]
    assert info.index("überschritten") < info.index("</tr>")
    assert "-250,00 €" in info
    assert html.count('class="chart-bar chart-bar-small"') == 2
    assert "Neues Budget" not in html


def test_a_budget_shows_its_chart_categories_and_lines(panel):
    ids = world(panel)
    campaign_id = add_campaign(
        panel, program_id=ids.program_id, budget_status=BudgetStatus.SPECIFIED
    )
    editing = add_campaign(panel, "Entwurf", program_id=ids.program_id)
    deliveries = [add_delivery(panel, campaign_id, f"Brief {number:02d}") for number in range(30)]
    hidden = add_delivery(panel, editing, "Nicht festgelegt")
    with panel.runtime.database.session() as session:
        budget = Budget(
            name="Kundenbindung",
            program_id=ids.program_id,
            allocated=D(1000),
            planned=D(400),
            reserved=D(500),
            committed=D(300),
            spent=D(200),
            invoiced=D(70),
            over_allocated=True,
        )
        budget.expenses = [
            BudgetExpense(expense_category_id=ids.druck_id, allocated=D(600), reserved=D(650)),
        ]
        session.add(budget)
        for number, delivery_id in enumerate(deliveries):
            line = ExpenseLine(
                campaign_id=campaign_id,
                delivery_id=delivery_id,
                basis=ExpenseBasis.SENT,
                messages=10 + number,
                calculated=D("12.34"),
                amount=D("12.34"),
            )
            line.cost_lines = [CostLine(name="Porto", amount=D("12.34"), detail="10 x 0.13")]
            session.add(line)
        session.add(
            ExpenseLine(
                campaign_id=editing,
                delivery_id=hidden,
                basis=ExpenseBasis.SENT,
                calculated=D(1),
                amount=D(1),
            )
        )
        session.flush()
        budget_id = budget.id
    client = panel.client(Role.VIEWER)
    html = body(client.get(f"/budgets/{budget_id}"))
    assert 'data-chart="budget"' in html
    booked = re.search(r'data-row="booked".*?</tr>', html, re.S).group(0)
    assert "1.200,00" in booked and "120 %" in booked and 'class="seg-over"' in booked
    assert "Dieses Budget ist um 200,00 € überschritten." in html
    categories = html[html.index('id="budget-categories"') :]
    assert "Druck" in categories and "650,00 €" in categories
    lines = html[html.index('id="expense-lines"') :]
    assert lines.count("data-cost-line=") == 25
    assert "Brief 29" in lines and "Nicht festgelegt" not in lines
    assert "1 bis 25 von 30" in html
    assert "Brief 00" in body(client.get(f"/budgets/{budget_id}?page=2"))


def test_a_cost_lines_detail_names_its_unnamed_structures_in_the_readers_language(panel):
    ids = world(panel)
    specified = {"program_id": ids.program_id, "budget_status": BudgetStatus.SPECIFIED}
    campaign_id = add_campaign(panel, **specified)
    delivery_id = add_delivery(panel, campaign_id, "Brief")
    structures = [
        Structure(kind="fixed", amount=D(50)),
        Structure(kind="linear", amount=D("0.85"), label="Porto"),
        Structure(kind="surcharge", percent=D(10)),
        Structure(kind="surcharge", percent=D("2.5")),
    ]
    cost = category_cost(structures, Quantities(messages=100))
    with panel.runtime.database.session() as session:
        budget = Budget(name="Kundenbindung", program_id=ids.program_id, allocated=D(1000))
        session.add(budget)
        line = ExpenseLine(
            campaign_id=campaign_id,
            delivery_id=delivery_id,
            basis=ExpenseBasis.SENT,
            calculated=cost.amount,
            amount=cost.amount,
        )
        line.cost_lines = [CostLine(name="Druck", amount=cost.amount, detail=cost.describe())]
        session.add(line)
        session.flush()
        budget_id = budget.id

    def detail(html: str) -> str:
        return re.search(r"Druck <span class=\"muted\">\((.*?)\)</span>", html).group(1)

    german = detail(body(panel.client(Role.VIEWER).get(f"/budgets/{budget_id}")))
    # a named part's amount stays as written: its label is data, not a catalog's prefix
    assert german == "Festbetrag: 50,00; Porto: 85,00; Zuschlag 10 %: 13,50; Zuschlag 2,5 %: 3,38"
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "viola")).language = "en"
    english = detail(body(panel.client(Role.VIEWER).get(f"/budgets/{budget_id}")))
    assert (
        english == "fixed amount: 50.00; Porto: 85.00; surcharge 10%: 13.50; surcharge 2.5%: 3.38"
    )


def test_a_plan_budget_lists_only_the_costs_charged_to_it_and_shows_the_roll_up(panel):
    ids = world(panel)
    specified = {"program_id": ids.program_id, "budget_status": BudgetStatus.SPECIFIED}
    own = add_campaign(panel, "Mit Budget", **specified)
    bare = add_campaign(panel, "Ohne Budget", **specified)
    voided = add_campaign(panel, "Storniert", **specified)
    rows = {
        "Brief eigen": (own, add_delivery(panel, own, "Brief eigen")),
        "Brief plan": (bare, add_delivery(panel, bare, "Brief plan")),
        "Brief gewählt": (own, add_delivery(panel, own, "Brief gewählt")),
    }
    with panel.runtime.database.session() as session:
        plan_budget = Budget(name="Plan", plan_id=ids.plan_id, allocated=D(1000))
        session.add_all([plan_budget, Budget(name="Eigen", campaign_id=own, allocated=D(500))])
        session.get(Plan, ids.plan_id).calculated_cost = D(300)
        session.flush()
        session.get(Delivery, rows["Brief gewählt"][1]).budget_id = plan_budget.id
        for owner, delivery_id in rows.values():
            session.add(ExpenseLine(campaign_id=owner, delivery_id=delivery_id,
                                    basis=ExpenseBasis.SENT, calculated=D(100),
                                    amount=D(100)))  # fmt: skip
        run = Run(campaign_id=voided, number=1, config={}, state=RunState.COMPLETED, done=1)
        session.add(run)
        session.flush()
        session.add(ExpenseLine(campaign_id=voided, run_id=run.id, basis=ExpenseBasis.SENT,
                                calculated=D(7), amount=D(7), voided_at=NOW))  # fmt: skip
        session.flush()
        budget_id = plan_budget.id
    html = body(panel.client(Role.VIEWER).get(f"/budgets/{budget_id}"))
    lines = html[html.index('id="expense-lines"') :]
    assert "Brief plan" in lines and "Brief gewählt" in lines
    assert "Brief eigen" not in lines  # booked in the campaign's own budget
    assert "Direkter Lauf" not in lines  # voided: counts nowhere
    roll_up = html[html.index('id="roll-up"') :]
    assert roll_up.index("Kosten darunter") < roll_up.index("300,00 €") < roll_up.index("</div>")


def test_a_manager_creates_and_edits_a_budget(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = {
        "name": "Kundenbindung 2026",
        "owner": f"program:{ids.program_id}",
        "start_date": "2026-01-01",
        "end_date": "2026-06-30",
        "allocated": "12.000",
        "responsible_id": str(ids.manager_id),
        f"alloc-{ids.druck_id}": "8.000,00",
    }
    refused = post(
        manager,
        "/budgets/new",
        form | {"owner": "", "allocated": "-5", f"alloc-{ids.porto_id}": "viel"},
    )
    assert refused.status_code == 422
    html = body(refused)
    assert field_errors(html, "owner") == ["Bitte ausfüllen."]
    assert field_errors(html, "allocated") == ["Mindestens 0."]
    assert field_errors(html, f"alloc-{ids.porto_id}") == ["„viel“ ist keine Zahl."]
    assert post(manager, "/budgets/new", form | {"owner": "plan:999"}).status_code == 422
    created = post(manager, "/budgets/new", form)
    assert created.status_code == 302
    with panel.runtime.database.session() as session:
        budget = session.scalar(select(Budget))
        assert (budget.program_id, budget.plan_id, budget.allocated) == (
            ids.program_id,
            None,
            D(12000),
        )
        assert [(e.expense_category_id, e.allocated) for e in budget.expenses] == [
            (ids.druck_id, D(8000))
        ]
        budget.expenses[0].reserved = D(100)  # costs booked to it: the row stays
        budget_id = budget.id
    edited = post(
        manager,
        f"/budgets/{budget_id}/edit",
        form
        | {
            "owner": f"plan:{ids.plan_id}",
            f"alloc-{ids.druck_id}": "",
            f"alloc-{ids.porto_id}": "500",
        },
    )
    assert edited.status_code == 302
    with panel.runtime.database.session() as session:
        budget = session.get(Budget, budget_id)
        assert (budget.plan_id, budget.program_id) == (ids.plan_id, None)
        assert sorted((e.expense_category_id, e.allocated) for e in budget.expenses) == sorted(
            [(ids.druck_id, D(0)), (ids.porto_id, D(500))]
        )
    duplicate = post(manager, "/budgets/new", form)
    assert field_errors(body(duplicate), "name") == ["Dieser Name ist bereits vergeben."]
    assert audit_actions(panel) == ["budget.update", "budget.create"]
    prefilled = body(manager.get(f"/budgets/new?campaign_id={add_campaign(panel)}"))
    assert re.search(r'<option value="campaign:\d+" selected>Infobrief</option>', prefilled)


def test_expense_categories(panel):
    world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    taken = post(manager, "/budgets/categories", {"name": "Druck"})
    assert field_errors(body(taken), "name") == ["Dieser Name ist bereits vergeben."]
    assert post(manager, "/budgets/categories", {"name": "Agentur"}).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.scalar(select(ExpenseCategory.id).where(ExpenseCategory.name == "Agentur"))
    assert "Agentur" in body(panel.client(Role.VIEWER).get("/budgets/categories"))


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_change_budgets(panel, role):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        session.add(Budget(name="B", plan_id=ids.plan_id))
    client = panel.client(role)
    assert client.get("/budgets/new").status_code == 403
    for path in ("/budgets/new", "/budgets/1/edit", "/budgets/categories"):
        assert post(client, path, {"name": "X"}).status_code == 403, path
    assert client.get("/budgets/1").status_code == 200


def test_the_budget_speaks_english_with_english_numbers(panel):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        session.add(Budget(name="Year", plan_id=ids.plan_id, allocated=D(12500), planned=D(1250)))
        viewer = session.scalar(select(User).where(User.username == "viola"))
        viewer.language = "en"
    html = body(panel.client(Role.VIEWER).get("/budgets/1"))
    assert "Allocated" in html and "Booked" in html and "within budget" in html
    assert "€12,500.00" in html and "1,250.00" in html and "10 %" in html
    assert " €" not in html  # the sign before the amount, as English writes it


def test_an_english_manager_types_and_reads_english_amounts_and_dates(panel):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        session.scalar(select(User).where(User.username == "mia")).language = "en"
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    form = {
        "name": "Loyalty",
        "owner": f"plan:{ids.plan_id}",
        "start_date": "1 Jan 2026",
        "end_date": "30.06.2026",
        "allocated": "1,234.56",
    }
    refused = post(manager, "/budgets/new", form | {"end_date": "June", "allocated": "1.234,56"})
    assert refused.status_code == 422
    html = body(refused)
    assert field_errors(html, "end_date") == ["“June” is not a date (written like 31 Dec 2026)."]
    assert field_errors(html, "allocated") == ["“1.234,56” is not a number."]
    assert 'value="1.234,56"' in html  # shown again as typed
    assert post(manager, "/budgets/new", form).status_code == 302
    with panel.runtime.database.session() as session:
        budget = session.scalar(select(Budget))
        assert (budget.start_date, budget.end_date, budget.allocated) == (
            date(2026, 1, 1),
            date(2026, 6, 30),
            D("1234.56"),
        )
        budget_id = budget.id
    shown = body(manager.get(f"/budgets/{budget_id}/edit"))
    assert 'value="1 Jan 2026"' in shown and 'value="30 Jun 2026"' in shown
    assert 'value="1,234.56"' in shown
