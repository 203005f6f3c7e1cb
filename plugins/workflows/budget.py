"""budgetMgt, "Cost calculation": expense and cost lines for deliveries and tasks, costs of
campaigns, programs and plans, and the amounts of budgets by commitment level.

One pass reads everything in one transaction and writes only what differs, so a second
pass right after the first changes no row and notifies nobody. The rules, with worked
numbers, are in docs/processes.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from core import Workflow, hookimpl
from core.messages import StoredText, english_plural, stored_for
from core.models import BudgetStatus, Campaign, CampaignStatus, CommitmentLevel, Role
from core.notifications import notify
from core.plugins import PluginHost
from plugins.processes.budget_checks import budget_owners, charged_budget
from plugins.processes.consumption import (
    SERVICE_LOADING,
    DeliveryCounts,
    DirectRun,
    action_cost_kinds,
    category_price,
    delivery_categories,
    delivery_counts,
    delivery_quantities,
    direct_run_categories,
    direct_runs,
    priced_categories,
)
from plugins.processes.costs import ZERO, CostError, Quantities, effective_cost, split_pro_rata
from plugins.processes.models import (
    Budget,
    BudgetExpense,
    CostCategory,
    CostCategoryKind,
    CostLine,
    Delivery,
    ExpenseBasis,
    ExpenseLine,
    Plan,
    Program,
    ProviderService,
    Task,
    TaskState,
)
from plugins.processes.models.budgets import AMOUNT_FIELDS
from plugins.workflows import TRANSLATIONS

REQUIRES = ("plugins.processes",)
"""The bundle of the campaign processes whose tables and services this workflow uses."""

stored = stored_for(__name__)


@dataclass(frozen=True)
class LineSpec:
    """A cost line as it should be."""

    cost_category_id: int
    expense_category_id: int | None
    name: str
    amount: Decimal
    detail: str


@dataclass(frozen=True)
class Priced:
    """What a delivery's, task's or direct run's structures come to, before its real cost is
    applied."""

    basis: ExpenseBasis
    quantities: Quantities
    lines: tuple[LineSpec, ...]
    surcharge: Decimal
    estimate: Decimal = ZERO
    """An amount no structure priced: a direct run's campaign estimate (no service)."""

    @property
    def calculated(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO) + self.surcharge + self.estimate


@dataclass
class Amounts:
    """One budget's (or one expense category's) five amounts being added up."""

    planned: Decimal = ZERO
    reserved: Decimal = ZERO
    committed: Decimal = ZERO
    spent: Decimal = ZERO
    invoiced: Decimal = ZERO

    def add(self, level: CommitmentLevel, amount: Decimal, spent: Decimal, invoiced: Decimal):
        field_name = level.amount_field
        setattr(self, field_name, getattr(self, field_name) + amount)
        self.spent += spent
        self.invoiced += invoiced


@dataclass(frozen=True)
class Booking:
    """What one delivery, task or campaign estimate books into the budgets above it."""

    level: CommitmentLevel
    amount: Decimal
    spent: Decimal
    invoiced: Decimal
    weights: tuple[tuple[int | None, Decimal], ...] = ()
    """(expense category, amount) shares the amounts are split by; empty: no category."""
    budget_id: int | None = None
    """The budget chosen for the delivery or task; None: the campaign's, else the program's,
    else the plan's."""

    def by_category(self) -> dict[int | None, tuple[Decimal, Decimal, Decimal]]:
        if not self.weights:
            return {None: (self.amount, self.spent, self.invoiced)}
        weights = [weight for _, weight in self.weights]
        shares = zip(
            split_pro_rata(self.amount, weights),
            split_pro_rata(self.spent, weights),
            split_pro_rata(self.invoiced, weights),
            strict=True,
        )
        result: dict[int | None, tuple[Decimal, Decimal, Decimal]] = {}
        for (category, _), (amount, spent, invoiced) in zip(self.weights, shares, strict=True):
            old = result.get(category, (ZERO, ZERO, ZERO))
            result[category] = (old[0] + amount, old[1] + spent, old[2] + invoiced)
        return result


@dataclass
class PassResult:
    deliveries: int = 0
    tasks: int = 0
    runs: int = 0
    campaigns: int = 0
    budgets: int = 0
    changes: int = 0
    over_allocated: list[str] = field(default_factory=list)
    problems: list[StoredText] = field(default_factory=list)

    def summary(self) -> str:
        counted = (
            ("costed {0} delivery", "costed {0} deliveries", self.deliveries),
            ("{0} task", "{0} tasks", self.tasks),
            ("{0} direct run", "{0} direct runs", self.runs),
            ("{0} campaign", "{0} campaigns", self.campaigns),
            ("{0} budget", "{0} budgets", self.budgets),
        )
        text = ", ".join(english_plural(*forms) for forms in counted)
        text += "; " + english_plural("{0} change", "{0} changes", self.changes)
        if self.over_allocated:
            text += f"; over their allocation: {', '.join(self.over_allocated)}"
        if self.problems:
            text += "; " + english_plural(
                "{0} problem (see the log)", "{0} problems (see the log)", len(self.problems)
            )
        return text


def _weights(line: ExpenseLine | None) -> tuple[tuple[int | None, Decimal], ...]:
    if line is None:
        return ()
    weights = [(cost.expense_category_id, cost.amount) for cost in line.cost_lines]
    if line.surcharge:
        weights.append((None, line.surcharge))
    return tuple(weights)


class CostCalculation:
    """One pass of the cost calculation over every campaign, program, plan and budget."""

    def __init__(self, session: Session, now: datetime, plugins: PluginHost | None = None):
        self.session = session
        self.now = now
        self.plugins = plugins
        self.result = PassResult()
        self.delivery_costs: list[dict[str, object]] = []

    def run(self) -> PassResult:
        campaigns = self.session.scalars(
            select(Campaign)
            .options(
                selectinload(Campaign.deliveries).options(*SERVICE_LOADING),
                selectinload(Campaign.provider_service)
                .selectinload(ProviderService.cost_categories)
                .options(
                    selectinload(CostCategory.cost_types),
                    selectinload(CostCategory.structures),
                ),
                selectinload(Campaign.tasks)
                .selectinload(Task.provider_service)
                .selectinload(ProviderService.cost_categories)
                .options(
                    selectinload(CostCategory.cost_types),
                    selectinload(CostCategory.structures),
                ),
            )
            .order_by(Campaign.id)
        ).all()
        lines = self.session.scalars(
            select(ExpenseLine).options(selectinload(ExpenseLine.cost_lines))
        ).all()
        self.delivery_lines = {line.delivery_id: line for line in lines if line.delivery_id}
        self.task_lines = {line.task_id: line for line in lines if line.task_id}
        self.run_lines = {line.run_id: line for line in lines if line.run_id}
        counts = delivery_counts(self.session)
        runs: dict[int, list[DirectRun]] = defaultdict(list)
        for run in direct_runs(self.session):
            runs[run.campaign_id].append(run)
        bookings: dict[int, list[Booking]] = {}
        for campaign in campaigns:
            bookings[campaign.id] = self.cost_campaign(campaign, counts, runs[campaign.id])
        self.write_delivery_costs()
        self.roll_up(campaigns)
        self.book(campaigns, bookings)
        return self.result

    def write_delivery_costs(self) -> None:
        """One statement for all changed deliveries. It bypasses the ORM on purpose: the
        delivery's version guards its state against concurrent changes, not its costs, so
        the cost calculation must not make a user's state change fail."""
        if not self.delivery_costs:
            return
        table = Delivery.__table__
        self.session.execute(
            table.update()
            .where(table.c.id == bindparam("delivery"))
            .values(calculated_cost=bindparam("cost"), updated_at=self.now),
            self.delivery_costs,
        )
        self.result.changes += len(self.delivery_costs)

    # deliveries and tasks

    def cost_campaign(
        self, campaign: Campaign, counts: dict[int, DeliveryCounts], runs: list[DirectRun]
    ) -> list[Booking]:
        level = CommitmentLevel(campaign.commitment_level)
        children: list[Booking] = []
        for delivery in campaign.deliveries:
            children.append(
                self.cost_delivery(delivery, counts.get(delivery.id, DeliveryCounts()), level)
            )
        for task in campaign.tasks:
            booking = self.cost_task(task, level)
            if booking is not None:
                children.append(booking)
        performed = [
            booking
            for run in runs
            if (booking := self.cost_direct_run(campaign, run, level)) is not None
        ]
        children += performed
        self.result.campaigns += 1
        own_estimate = (
            campaign.status == CampaignStatus.EDITING
            and campaign.estimated_cost is not None
            and not performed
        )
        if own_estimate:
            cost = effective_cost(None, None, campaign.estimated_cost)
            bookings = [Booking(level, cost, ZERO, ZERO)]
        else:
            cost = sum((child.amount for child in children), ZERO)
            bookings = children
        self._set(campaign, "calculated_cost", cost)
        return bookings

    def cost_delivery(
        self, delivery: Delivery, counts: DeliveryCounts, level: CommitmentLevel
    ) -> Booking:
        self.result.deliveries += 1
        line = self.delivery_lines.get(delivery.id)
        try:
            priced = self.price_delivery(delivery, counts)
        except CostError as exc:
            self.result.problems.append(
                stored(
                    "delivery {id} '{label}': {error}",
                    id=str(delivery.id),
                    label=delivery.label,
                    error=exc.text,
                )
            )
            calculated = delivery.calculated_cost
        else:
            line = self.sync_line(
                line,
                priced,
                delivery.real_cost,
                campaign_id=delivery.campaign_id,
                delivery_id=delivery.id,
            )
            calculated = priced.calculated if priced is not None else None
            if delivery.calculated_cost != calculated:
                self.delivery_costs.append({"delivery": delivery.id, "cost": calculated})
        amount = effective_cost(delivery.real_cost, calculated, delivery.estimated_cost)
        performed = line is not None and line.basis == ExpenseBasis.SENT
        return Booking(
            level,
            amount,
            amount if performed else ZERO,
            delivery.real_cost or ZERO,
            _weights(line),
            delivery.budget_id,
        )

    def price_delivery(self, delivery: Delivery, counts: DeliveryCounts) -> Priced | None:
        measured = delivery_quantities(delivery, counts)
        if measured is None:
            return None
        basis, quantities = measured
        chosen = {cost_type.id for cost_type in delivery.cost_types}
        lines = tuple(
            self.price_category(category, cost_types, quantities)
            for category, cost_types in priced_categories(delivery_categories(delivery), chosen)
        )
        return Priced(basis, quantities, lines, delivery.surcharge or ZERO)

    def cost_direct_run(
        self, campaign: Campaign, run: DirectRun, level: CommitmentLevel
    ) -> Booking | None:
        """A direct run is booked once, when it is first seen finished: one line, priced
        again only when what the run sent changed (it was resumed, or its failed rows were
        retried), so the line always holds every message the run sent, once; a price change
        alone books nothing again. It is voided, not deleted, when the run is: the line
        stays as the trace and leaves every sum. None for a voided run."""
        self.result.runs += 1
        line = self.run_lines.get(run.run_id)
        if run.superseded:
            if line is not None and line.voided_at is None:
                line.voided_at = self.now
                self.result.changes += 1
            return None
        sent = (line.messages, line.units) if line is not None else None
        if sent != (run.quantities.messages, run.quantities.units):
            try:
                priced = self.price_direct_run(campaign, run)
            except CostError as exc:
                self.result.problems.append(
                    stored(
                        "run #{number} of campaign '{campaign}': {error}",
                        number=str(run.number),
                        campaign=campaign.name,
                        error=exc.text,
                    )
                )
                if line is None:
                    return None
            else:
                line = self.sync_line(
                    line, priced, None, campaign_id=campaign.id, run_id=run.run_id
                )
        if line.voided_at is not None:
            return None
        return Booking(level, line.amount, line.amount, ZERO, _weights(line))

    def price_direct_run(self, campaign: Campaign, run: DirectRun) -> Priced:
        """The campaign's provider service priced for what the run sent; without a service,
        the campaign's estimate."""
        if campaign.provider_service is None:
            estimate = effective_cost(None, None, campaign.estimated_cost)
            return Priced(ExpenseBasis.SENT, run.quantities, (), ZERO, estimate)
        kinds = action_cost_kinds(self.plugins, run.config)
        lines = tuple(
            self.price_category(category, cost_types, run.quantities)
            for category, cost_types in direct_run_categories(campaign, kinds)
        )
        return Priced(ExpenseBasis.SENT, run.quantities, lines, ZERO)

    def price_category(
        self, category: CostCategory, cost_types: Iterable, quantities: Quantities
    ) -> LineSpec:
        cost = category_price(category, cost_types, quantities)
        return LineSpec(
            category.id, category.expense_category_id, category.name, cost.amount, cost.describe()
        )

    def cost_task(self, task: Task, level: CommitmentLevel) -> Booking | None:
        self.result.tasks += 1
        state = TaskState(task.state)
        line = self.task_lines.get(task.id)
        calculated = task.calculated_cost
        try:
            # finished by its dates (operationMgt) before anyone entered the days worked:
            # its estimate counts until they are
            worked = state is TaskState.FINISHED and task.days_worked is not None
            priced = self.price_task(task) if worked else None
        except CostError as exc:
            self.result.problems.append(
                stored(
                    "task {id} '{name}': {error}", id=str(task.id), name=task.name, error=exc.text
                )
            )
        else:
            line = self.sync_line(
                line, priced, task.real_cost, campaign_id=task.campaign_id, task_id=task.id
            )
            calculated = priced.calculated if priced is not None else None
            self._set(task, "calculated_cost", calculated)
        if state is TaskState.CANCELLED and task.real_cost is None:
            return None
        task_level = CommitmentLevel(task.commitment_level) if task.commitment_level else level
        amount = effective_cost(task.real_cost, calculated, task.estimated_cost)
        performed = state is TaskState.FINISHED
        return Booking(
            task_level,
            amount,
            amount if performed else ZERO,
            task.real_cost or ZERO,
            _weights(line),
            task.budget_id,
        )

    def price_task(self, task: Task) -> Priced:
        quantities = Quantities(days=Decimal(task.days_worked or 0))
        service = task.provider_service
        categories = (
            []
            if service is None
            else [
                category
                for category in service.cost_categories
                if category.kind == CostCategoryKind.TASK
            ]
        )
        lines = tuple(
            self.price_category(category, cost_types, quantities)
            for category, cost_types in priced_categories(categories, set())
        )
        return Priced(ExpenseBasis.DAYS, quantities, lines, ZERO)

    def sync_line(
        self,
        line: ExpenseLine | None,
        priced: Priced | None,
        real_cost: Decimal | None,
        **owner: int,
    ) -> ExpenseLine | None:
        """Make the expense line and its cost lines what ``priced`` says, touching only what
        differs; no priced cost (before analysis, unfinished task) means no line."""
        if priced is None:
            if line is not None:
                self.session.delete(line)
                self.result.changes += 1
            return None
        values = {
            "basis": priced.basis,
            "messages": priced.quantities.messages,
            "units": priced.quantities.units,
            "days": priced.quantities.days,
            "calculated": priced.calculated,
            "surcharge": priced.surcharge,
            "real_cost": real_cost,
            "amount": effective_cost(real_cost, priced.calculated, None),
        }
        if line is None:
            line = ExpenseLine(**owner, **values)
            self.session.add(line)
            self.result.changes += 1
        else:
            for name, value in values.items():
                self._set(line, name, value)
        existing = {cost.cost_category_id: cost for cost in line.cost_lines}
        wanted = {spec.cost_category_id for spec in priced.lines}
        for cost in list(line.cost_lines):
            if cost.cost_category_id not in wanted:
                line.cost_lines.remove(cost)
                self.result.changes += 1
        for spec in priced.lines:
            cost = existing.get(spec.cost_category_id)
            if cost is None:
                line.cost_lines.append(
                    CostLine(
                        cost_category_id=spec.cost_category_id,
                        expense_category_id=spec.expense_category_id,
                        name=spec.name,
                        amount=spec.amount,
                        detail=spec.detail,
                    )
                )
                self.result.changes += 1
                continue
            for name in ("expense_category_id", "name", "amount", "detail"):
                self._set(cost, name, getattr(spec, name))
        return line

    # campaigns, programs, plans

    def roll_up(self, campaigns: list[Campaign]) -> None:
        """Programs and plans add up the costs of their specified campaigns."""
        by_program: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for campaign in campaigns:
            if campaign.program_id is not None and campaign.budget_status == BudgetStatus.SPECIFIED:
                by_program[campaign.program_id] += campaign.calculated_cost or ZERO
        by_plan: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for program in self.session.scalars(select(Program).order_by(Program.id)):
            self._set(program, "calculated_cost", by_program[program.id])
            by_plan[program.plan_id] += by_program[program.id]
        for plan in self.session.scalars(select(Plan).order_by(Plan.id)):
            self._set(plan, "calculated_cost", by_plan[plan.id])

    # budgets

    def book(self, campaigns: list[Campaign], bookings: dict[int, list[Booking]]) -> None:
        """Each booking of a specified campaign goes to exactly one budget (see
        ``charged_budget``); a program's or plan's budget shows its campaigns' costs only as
        the roll-up of ``calculated_cost``, never as a second booking."""
        budgets = self.session.scalars(
            select(Budget).options(selectinload(Budget.expenses)).order_by(Budget.id)
        ).all()
        owners = budget_owners(budgets)
        plan_of_program = dict(self.session.execute(select(Program.id, Program.plan_id)).all())
        totals: dict[int, Amounts] = defaultdict(Amounts)
        by_category: dict[int, dict[int, Amounts]] = defaultdict(lambda: defaultdict(Amounts))
        for campaign in campaigns:
            if campaign.budget_status != BudgetStatus.SPECIFIED:
                continue
            for booking in bookings[campaign.id]:
                program_id = campaign.program_id
                budget_id = charged_budget(
                    owners,
                    chosen=booking.budget_id,
                    campaign_id=campaign.id,
                    program_id=program_id,
                    plan_id=plan_of_program.get(program_id),
                )
                if budget_id is None:
                    continue
                totals[budget_id].add(
                    booking.level, booking.amount, booking.spent, booking.invoiced
                )
                for category, (amount, spent, invoiced) in booking.by_category().items():
                    if category is not None:
                        by_category[budget_id][category].add(booking.level, amount, spent, invoiced)
        for budget in budgets:
            self.result.budgets += 1
            self._set_amounts(budget, totals.get(budget.id, Amounts()))
            self.book_categories(budget, by_category.get(budget.id, {}))
            self.flag(budget)

    def book_categories(self, budget: Budget, by_category: dict[int, Amounts]) -> None:
        """Every expense category that received costs gets a row (allocated 0 if the budget
        did not plan for it); rows that receive nothing any more keep their allocation."""
        rows = {row.expense_category_id: row for row in budget.expenses}
        for category_id in sorted(by_category.keys() - rows.keys()):
            row = BudgetExpense(expense_category_id=category_id, allocated=ZERO)
            budget.expenses.append(row)
            rows[category_id] = row
            self.result.changes += 1
        for category_id, row in rows.items():
            self._set_amounts(row, by_category.get(category_id, Amounts()))

    def flag(self, budget: Budget) -> None:
        over = budget.booked > budget.allocated
        if over == budget.over_allocated:
            if over:
                self.result.over_allocated.append(budget.name)
            return
        self.result.changes += 1
        budget.over_allocated = over
        budget.over_allocated_since = self.now if over else None
        if not over:
            return
        self.result.over_allocated.append(budget.name)
        notify(
            self.session,
            kind="budget_over_allocated",
            subject=stored("Budget '{budget}' is over its allocation", budget=budget.name),
            body=stored(
                "Booked {booked} EUR (planned {planned}, reserved {reserved}, committed "
                "{committed}) against {allocated} EUR allocated.",
                booked=budget.booked,
                planned=budget.planned,
                reserved=budget.reserved,
                committed=budget.committed,
                allocated=budget.allocated,
            ),
            now=self.now,
            **self.budget_recipients(budget),
            about=("budget", budget.id),
        )

    def budget_recipients(self, budget: Budget) -> dict[str, list]:
        """The budget's responsible user, else its owner's manager, else the campaign
        managers."""
        if budget.responsible_id is not None:
            return {"users": [budget.responsible_id]}
        owner = (
            self.session.get(Campaign, budget.campaign_id)
            if budget.campaign_id
            else self.session.get(Program, budget.program_id)
            if budget.program_id
            else self.session.get(Plan, budget.plan_id)
        )
        if owner is not None and owner.manager_id is not None:
            return {"users": [owner.manager_id]}
        return {"roles": [Role.CAMPAIGN_MANAGER]}

    # writing only what differs

    def _set(self, row: object, name: str, value: object) -> None:
        if getattr(row, name) != value:
            setattr(row, name, value)
            self.result.changes += 1

    def _set_amounts(self, row: object, amounts: Amounts) -> None:
        for name in AMOUNT_FIELDS:
            self._set(row, name, getattr(amounts, name))


class BudgetManagement(Workflow):
    name = "budgetMgt"
    title = "Cost calculation"
    description = (
        "Computes expense and cost lines for deliveries and tasks, the costs of campaigns, "
        "programs and plans, and books them into budgets by commitment level."
    )
    default_interval = timedelta(hours=1)

    def run(self, context) -> str:
        with context.database.session() as session:
            result = CostCalculation(session, context.now, context.runtime.plugins).run()
        for problem in result.problems:
            context.log(problem)
        return result.summary()


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(BudgetManagement)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
