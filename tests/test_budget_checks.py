"""Budget warnings of a delivery: which budgets receive its campaign's costs, and whether
they are over their allocation or would be with the delivery's cost."""

from __future__ import annotations

from decimal import Decimal

from core.models import BudgetStatus
from plugins.processes.budget_checks import BudgetRisk, budget_warnings, delivery_budget
from plugins.processes.models import Budget, Delivery, DeliveryChannel, Plan, Program

from process_helpers import build_world, campaign

D = Decimal


def test_a_delivery_is_charged_to_one_budget_its_own_else_the_nearest_owners(database):
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
        letter = Delivery(campaign_id=row.id, label="Brief", channel=DeliveryChannel.PRINT)
        lone = Delivery(campaign_id=alone.id, label="SMS", channel=DeliveryChannel.SMS)
        session.add_all([letter, lone])
        budgets = {}
        for name, owner in (
            ("Plan", {"plan_id": world.plan_id}),
            ("Programm", {"program_id": world.program_id}),
            ("Kampagne", {"campaign_id": row.id}),
            ("Kampagne 2", {"campaign_id": row.id}),
            ("Fremder Plan", {"plan_id": other_plan.id}),
            ("Fremdes Programm", {"program_id": other_program.id}),
        ):
            budgets[name] = Budget(name=name, allocated=D(1000), **owner)
            session.add(budgets[name])
        session.flush()

        def charged(delivery):
            found = delivery_budget(session, delivery)
            return found.name if found else None

        assert charged(letter) == "Kampagne"  # the campaign's first, not also program and plan
        assert charged(lone) is None
        letter.budget_id = budgets["Kampagne 2"].id
        assert charged(letter) == "Kampagne 2"
        letter.budget_id = None
        session.delete(budgets["Kampagne"])
        session.delete(budgets["Kampagne 2"])
        session.flush()
        assert charged(letter) == "Programm"
        session.delete(budgets["Programm"])
        session.flush()
        assert charged(letter) == "Plan"


def test_over_and_would_exceed_for_the_budget_the_delivery_is_charged_to(database):
    with database.session() as session:
        world = build_world(session)
        row = campaign(session, program_id=world.program_id, budget_status=BudgetStatus.EDITING)
        delivery = Delivery(
            campaign_id=row.id,
            label="Brief",
            channel=DeliveryChannel.DIRECT_MAIL,
            estimated_cost=D(300),
        )
        full = Budget(
            name="Voll",
            plan_id=world.plan_id,
            allocated=D(1000),
            reserved=D(1200),
            over_allocated=True,
        )
        tight = Budget(name="Knapp", program_id=world.program_id, allocated=D(1000), planned=D(800))
        session.add_all([delivery, full, tight])
        session.flush()
        # charged to the program's budget; the plan's, over as it is, receives nothing
        warnings = budget_warnings(session, delivery.id)
        assert [(w.budget, w.risk, w.overrun) for w in warnings] == [
            ("Knapp", BudgetRisk.WOULD_EXCEED, D(100))
        ]
        delivery.budget_id = full.id
        session.flush()
        warnings = budget_warnings(session, delivery.id)
        assert [(w.budget, w.risk, w.overrun) for w in warnings] == [
            ("Voll", BudgetRisk.OVER, D(200))
        ]
        session.add(Budget(name="Genug", campaign_id=row.id, allocated=D(1000), planned=D(100)))
        delivery.budget_id = None
        session.flush()
        assert budget_warnings(session, delivery.id) == []
        row.budget_status = BudgetStatus.SPECIFIED  # its costs are booked already
        delivery.real_cost = D(5000)
        session.flush()
        assert budget_warnings(session, delivery.id) == []
        assert budget_warnings(session, 999_999) == []
