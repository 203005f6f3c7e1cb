"""Budget warnings of a delivery: which budgets receive its campaign's costs, and whether
they are over their allocation or would be with the delivery's cost."""

from __future__ import annotations

from decimal import Decimal

from process_helpers import build_world, campaign

from core.budget_checks import BudgetRisk, budget_warnings, campaign_budgets
from core.models import Budget, BudgetStatus, Delivery, DeliveryChannel, Plan, Program

D = Decimal


def test_a_campaign_reports_to_its_own_its_programs_and_its_plans_budgets(database):
    with database.session() as session:
        world = build_world(session)
        other_plan = Plan(name="Anderer Plan")
        session.add(other_plan)
        session.flush()
        other_program = Program(plan_id=other_plan.id, name="Fremd")
        session.add(other_program)
        session.flush()
        row = campaign(session, program_id=world.program_id)
        alone = campaign(session, "Ohne Programm")
        for name, owner in (
            ("Plan", {"plan_id": world.plan_id}),
            ("Programm", {"program_id": world.program_id}),
            ("Kampagne", {"campaign_id": row.id}),
            ("Fremder Plan", {"plan_id": other_plan.id}),
            ("Fremdes Programm", {"program_id": other_program.id}),
            ("Andere Kampagne", {"campaign_id": alone.id}),
        ):
            session.add(Budget(name=name, allocated=D(1000), **owner))
        session.flush()
        assert [b.name for b in campaign_budgets(session, row)] == ["Plan", "Programm", "Kampagne"]
        assert [b.name for b in campaign_budgets(session, alone)] == ["Andere Kampagne"]


def test_over_and_would_exceed(database):
    with database.session() as session:
        world = build_world(session)
        row = campaign(session, program_id=world.program_id, budget_status=BudgetStatus.EDITING)
        delivery = Delivery(
            campaign_id=row.id,
            label="Brief",
            channel=DeliveryChannel.DIRECT_MAIL,
            estimated_cost=D(300),
        )
        session.add(delivery)
        session.add_all(
            [
                Budget(
                    name="Voll",
                    plan_id=world.plan_id,
                    allocated=D(1000),
                    reserved=D(1200),
                    over_allocated=True,
                ),
                Budget(
                    name="Knapp", program_id=world.program_id, allocated=D(1000), planned=D(800)
                ),
                Budget(name="Genug", campaign_id=row.id, allocated=D(1000), planned=D(100)),
            ]
        )
        session.flush()
        warnings = budget_warnings(session, delivery.id)
        assert [(w.budget, w.risk, w.overrun) for w in warnings] == [
            ("Voll", BudgetRisk.OVER, D(200)),
            ("Knapp", BudgetRisk.WOULD_EXCEED, D(100)),
        ]
        row.budget_status = BudgetStatus.SPECIFIED  # its costs are booked already
        delivery.real_cost = D(5000)
        session.flush()
        assert [w.budget for w in budget_warnings(session, delivery.id)] == ["Voll"]
        assert budget_warnings(session, 999_999) == []
