"""The choices the process screens' selects offer: programs, budgets, provider services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugins.processes.models import (
    Budget,
    CostCategory,
    CostCategoryKind,
    Plan,
    Program,
    Provider,
    ProviderService,
)
from webapp import Choices, GroupedChoices


def program_choices(session: Session) -> GroupedChoices:
    """Programs grouped by their plan, for a campaign's program."""
    rows = session.execute(
        select(Program.id, Program.name, Plan.name.label("plan"))
        .join(Plan, Program.plan_id == Plan.id)
        .order_by(Plan.name, Program.name)
    ).all()
    grouped: dict[str, Choices] = {}
    for row in rows:
        grouped.setdefault(row.plan, []).append((row.id, row.name))
    return list(grouped.items())


def budget_choices(session: Session) -> Choices:
    """Every budget by name: the one a delivery's or task's cost may be charged to instead
    of its campaign's, program's or plan's."""
    return [
        (row.id, row.name)
        for row in session.execute(select(Budget.id, Budget.name).order_by(Budget.name))
    ]


def service_choices(session: Session, kind: CostCategoryKind | None = None) -> GroupedChoices:
    """Provider services grouped by provider; with ``kind``, only services that have a cost
    category of that kind (a task's service prices days, an SMS delivery's mobile messages)."""
    query = (
        select(ProviderService.id, ProviderService.name, Provider.name.label("provider"))
        .join(Provider, ProviderService.provider_id == Provider.id)
        .order_by(Provider.name, ProviderService.name)
    )
    if kind is not None:
        query = query.where(
            ProviderService.id.in_(select(CostCategory.service_id).where(CostCategory.kind == kind))
        )
    grouped: dict[str, Choices] = {}
    for row in session.execute(query):
        grouped.setdefault(row.provider, []).append((row.id, row.name))
    return list(grouped.items())
