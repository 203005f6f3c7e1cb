"""Which budgets a delivery's costs go to, and whether they are (or would be) over their
allocation: the budget warnings of a delivery's approval screen, next to its stock warnings
(``core.consumption.stock_warnings``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.costs import effective_cost
from core.models import Budget, BudgetStatus, Campaign, Delivery, Program


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


def campaign_budgets(session: Session, campaign: Campaign) -> list[Budget]:
    """The budgets that receive the campaign's costs: its own, its program's and its plan's."""
    owners = [Budget.campaign_id == campaign.id]
    if campaign.program_id is not None:
        owners.append(Budget.program_id == campaign.program_id)
        plan_id = session.scalar(select(Program.plan_id).where(Program.id == campaign.program_id))
        owners.append(Budget.plan_id == plan_id)
    return list(session.scalars(select(Budget).where(or_(*owners)).order_by(Budget.id)))


def budget_warnings(session: Session, delivery_id: int) -> list[BudgetWarning]:
    """The budgets of the delivery's campaign that are over their allocation, or would be
    once the delivery's cost (real, else calculated, else estimated) is booked."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return []
    campaign = delivery.campaign
    cost = effective_cost(delivery.real_cost, delivery.calculated_cost, delivery.estimated_cost)
    booked_already = campaign.budget_status == BudgetStatus.SPECIFIED
    warnings = []
    for budget in campaign_budgets(session, campaign):
        if budget.over_allocated or budget.booked > budget.allocated:
            risk = BudgetRisk.OVER
        elif not booked_already and budget.booked + cost > budget.allocated:
            risk = BudgetRisk.WOULD_EXCEED
        else:
            continue
        warnings.append(
            BudgetWarning(
                budget_id=budget.id,
                budget=budget.name,
                allocated=budget.allocated,
                booked=budget.booked,
                delivery_cost=cost,
                risk=risk,
            )
        )
    return warnings
