"""Which budgets a delivery's costs go to, and whether they are (or would be) over their
allocation: the budget warnings of a delivery's approval screen, next to its stock warnings
(``plugins.processes.consumption.stock_warnings``)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.models import BudgetStatus
from plugins.processes.costs import effective_cost
from plugins.processes.models import Budget, Delivery, Program


class BudgetRisk(enum.StrEnum):
    OVER = "over"
    """The budget already books more than it was allocated."""
    WOULD_EXCEED = "would_exceed"
    """The campaign is not booked yet (budget status "editing"); with this delivery's cost
    the budget would exceed its allocation."""


@dataclass(frozen=True, slots=True)
class BudgetWarning:
    budget_id: int
    budget: str
    allocated: Decimal
    booked: Decimal
    delivery_cost: Decimal
    risk: BudgetRisk

    @property
    def overrun(self) -> Decimal:
        """By how much the allocation is (or would be) exceeded."""
        extra = self.delivery_cost if self.risk is BudgetRisk.WOULD_EXCEED else Decimal(0)
        return self.booked + extra - self.allocated


Owners = dict[tuple[str, int], int]
"""("budget" | "campaign" | "program" | "plan", id) → the budget id that owner charges."""


def budget_owners(budgets: Iterable[Budget]) -> Owners:
    """Every budget by its own id, and the first budget (lowest id) of each owner."""
    owners: Owners = {}
    for budget in sorted(budgets, key=lambda budget: budget.id):
        owners[("budget", budget.id)] = budget.id
        for kind, owner_id in (
            ("campaign", budget.campaign_id),
            ("program", budget.program_id),
            ("plan", budget.plan_id),
        ):
            if owner_id is not None:
                owners.setdefault((kind, owner_id), budget.id)
    return owners


def charged_budget(
    owners: Owners,
    *,
    chosen: int | None,
    campaign_id: int,
    program_id: int | None,
    plan_id: int | None,
) -> int | None:
    """The one budget a cost is charged to: the one chosen for its delivery or task, else
    its campaign's, else its program's, else its plan's (an owner with several budgets: the
    first). Programs and plans show their campaigns' costs as roll-ups, so a cost is never
    booked twice."""
    for kind, owner_id in (
        ("budget", chosen),
        ("campaign", campaign_id),
        ("program", program_id),
        ("plan", plan_id),
    ):
        if owner_id is not None and (kind, owner_id) in owners:
            return owners[kind, owner_id]
    return None


def delivery_budget(session: Session, delivery: Delivery) -> Budget | None:
    """The budget the delivery's cost is charged to."""
    campaign = delivery.campaign
    plan_id = None
    if campaign.program_id is not None:
        plan_id = session.scalar(select(Program.plan_id).where(Program.id == campaign.program_id))
    owners = [Budget.campaign_id == campaign.id]
    if delivery.budget_id is not None:
        owners.append(Budget.id == delivery.budget_id)
    if campaign.program_id is not None:
        owners += [Budget.program_id == campaign.program_id, Budget.plan_id == plan_id]
    budget_id = charged_budget(
        budget_owners(session.scalars(select(Budget).where(or_(*owners)))),
        chosen=delivery.budget_id,
        campaign_id=campaign.id,
        program_id=campaign.program_id,
        plan_id=plan_id,
    )
    return session.get(Budget, budget_id) if budget_id is not None else None


def budget_warnings(session: Session, delivery_id: int) -> list[BudgetWarning]:
    """The budget the delivery's cost is charged to, if it is over its allocation or would
    be once the delivery's cost (real, else calculated, else estimated) is booked."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return []
    budget = delivery_budget(session, delivery)
    if budget is None:
        return []
    cost = effective_cost(delivery.real_cost, delivery.calculated_cost, delivery.estimated_cost)
    booked_already = delivery.campaign.budget_status == BudgetStatus.SPECIFIED
    if budget.over_allocated or budget.booked > budget.allocated:
        risk = BudgetRisk.OVER
    elif not booked_already and budget.booked + cost > budget.allocated:
        risk = BudgetRisk.WOULD_EXCEED
    else:
        return []
    return [
        BudgetWarning(
            budget_id=budget.id,
            budget=budget.name,
            allocated=budget.allocated,
            booked=budget.booked,
            delivery_cost=cost,
            risk=risk,
        )
    ]
