"""Budgets, expense lines and cost lines: what the database refuses, what the amounts mean."""

from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from core.models import CommitmentLevel
from plugins.processes.models import (
    Budget,
    CostLine,
    Delivery,
    DeliveryChannel,
    ExpenseBasis,
    ExpenseLine,
    Task,
)

from process_helpers import build_world, campaign

D = Decimal


def test_booked_is_every_level_and_available_what_is_left(database):
    with database.session() as session:
        world = build_world(session)
        amounts = {"planned": D(100), "reserved": D(200), "committed": D(300), "spent": D(250)}
        budget = Budget(name="Plan", plan_id=world.plan_id, allocated=D(1000), **amounts)
        session.add(budget)
    assert (budget.booked, budget.available) == (D(600), D(400))
    assert [level.amount_field for level in CommitmentLevel] == ["planned", "reserved", "committed"]


@pytest.mark.parametrize(
    "owners", [{}, {"plan": True, "campaign": True}], ids=["no owner", "two owners"]
)
def test_a_budget_belongs_to_exactly_one_plan_program_or_campaign(database, owners):
    with database.session() as session:
        world = build_world(session)
        owner = campaign(session)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            Budget(
                name="Budget",
                plan_id=world.plan_id if owners.get("plan") else None,
                campaign_id=owner.id if owners.get("campaign") else None,
            )
        )


def test_an_allocation_cannot_be_negative(database):
    with database.session() as session:
        world = build_world(session)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Budget(name="Budget", program_id=world.program_id, allocated=D(-1)))


def test_an_expense_line_is_for_one_delivery_or_one_task_and_one_line_per_category(database):
    with database.session() as session:
        world = build_world(session)
        owner = campaign(session)
        letter = Delivery(campaign_id=owner.id, label="Brief", channel=DeliveryChannel.PRINT)
        task = Task(campaign_id=owner.id, name="Konzept")
        session.add_all([letter, task])
        session.flush()
        line = ExpenseLine(campaign_id=owner.id, delivery_id=letter.id, basis=ExpenseBasis.SENT,
                           calculated=D(10), amount=D(10))  # fmt: skip
        line.cost_lines.append(
            CostLine(cost_category_id=world.postage_category_id, name="Porto", amount=D(10))
        )
        session.add(line)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(ExpenseLine(campaign_id=owner.id, delivery_id=letter.id, task_id=task.id,
                                basis=ExpenseBasis.DAYS, calculated=D(0), amount=D(0)))  # fmt: skip
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(CostLine(expense_line_id=line.id, cost_category_id=world.postage_category_id,
                             name="Porto", amount=D(1)))  # fmt: skip
    with database.session() as session:
        session.delete(session.get(Delivery, letter.id))
    with database.session() as session:
        assert session.get(ExpenseLine, line.id) is None  # goes with its delivery
