"""Budgets: each with its allocation against the amounts the cost calculation booked
(planned, reserved, committed, spent, invoiced) as a chart that is also a table, its split by
expense category, and the expense lines (with their cost lines) charged to it: each cost to
one budget, a plan's or program's campaigns' costs shown beside as their roll-up.

The amounts are written by the budgetMgt workflow; the panel edits what people decide: the
owner, the period, the allocation (in total and per expense category), who is responsible.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core.models import BudgetStatus, Campaign, Role, Run
from plugins.processes.budget_checks import budget_owners, charged_budget
from plugins.processes.models import (
    Budget,
    BudgetExpense,
    CostLine,
    Delivery,
    ExpenseCategory,
    ExpenseLine,
    Plan,
    Program,
    Task,
)
from plugins.processes.panel.charts import budget_chart
from webapp import (
    ChoiceField,
    DateField,
    MoneyField,
    Page,
    PanelForm,
    TextField,
    check_period,
    check_unique,
    db_session,
    get_or_404,
    names_by_id,
    page_arguments,
    paginate,
    role_required,
    save_row,
    t,
    user_choices,
)

bp = Blueprint("budgets", __name__, url_prefix="/budgets", template_folder="templates")

LIST_PAGE_SIZE = 25
LINES_PAGE_SIZE = 25
OWNERS = ("plan", "program", "campaign")


def chart_of(budget: Budget | BudgetExpense):
    return budget_chart(
        budget.allocated,
        budget.planned,
        budget.reserved,
        budget.committed,
        budget.spent,
        budget.invoiced,
    )


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    number, _size = page_arguments(request.args)
    page = paginate(
        db_session(), select(Budget).order_by(Budget.name, Budget.id), number, LIST_PAGE_SIZE
    )
    return render_template(
        "budgets/index.html",
        page=page,
        charts={budget.id: chart_of(budget) for budget in page.items},
        owners=_owner_names(db_session(), page.items),
    )


def _owner_names(session: Session, budgets: list[Budget]) -> dict[int, tuple[str, str, str]]:
    """For each budget: the owner's kind, name and page."""
    names = {}
    for budget in budgets:
        if budget.plan_id is not None:
            plan = session.get(Plan, budget.plan_id)
            names[budget.id] = ("plan", plan.name, url_for("plans.plan", plan_id=plan.id))
        elif budget.program_id is not None:
            program = session.get(Program, budget.program_id)
            url = url_for("plans.program", program_id=program.id)
            names[budget.id] = ("program", program.name, url)
        else:
            campaign = session.get(Campaign, budget.campaign_id)
            url = url_for("plans.campaign", campaign_id=campaign.id)
            names[budget.id] = ("campaign", campaign.name, url)
    return names


def _charged_here(session: Session, budget: Budget):
    """The condition on expense lines that selects those charged to this budget: one
    budget per cost (``plugins.processes.budget_checks.charged_budget``), the lines of specified
    campaigns whose cost falls to it, and those of deliveries and tasks that chose it.
    Voided lines count nowhere."""
    owners = budget_owners(session.scalars(select(Budget)))
    plan_of_program = dict(session.execute(select(Program.id, Program.plan_id)).all())
    campaigns = session.execute(
        select(Campaign.id, Campaign.program_id).where(
            Campaign.budget_status == BudgetStatus.SPECIFIED
        )
    ).all()
    falls_here = [
        row.id
        for row in campaigns
        if charged_budget(
            owners,
            chosen=None,
            campaign_id=row.id,
            program_id=row.program_id,
            plan_id=plan_of_program.get(row.program_id),
        )
        == budget.id
    ]
    chose_another = or_(
        ExpenseLine.delivery_id.in_(
            select(Delivery.id).where(
                Delivery.budget_id.is_not(None), Delivery.budget_id != budget.id
            )
        ),
        ExpenseLine.task_id.in_(
            select(Task.id).where(Task.budget_id.is_not(None), Task.budget_id != budget.id)
        ),
    )
    specified = select(Campaign.id).where(Campaign.budget_status == BudgetStatus.SPECIFIED)
    return and_(
        ExpenseLine.voided_at.is_(None),
        ExpenseLine.campaign_id.in_(specified),
        or_(
            and_(ExpenseLine.campaign_id.in_(falls_here), ~chose_another),
            ExpenseLine.delivery_id.in_(select(Delivery.id).where(Delivery.budget_id == budget.id)),
            ExpenseLine.task_id.in_(select(Task.id).where(Task.budget_id == budget.id)),
        ),
    )


def _roll_up(session: Session, budget: Budget) -> Decimal | None:
    """A plan's or program's campaigns' costs (its ``calculated_cost``): shown beside the
    budget, never booked into it a second time."""
    if budget.plan_id is not None:
        return session.get(Plan, budget.plan_id).calculated_cost
    if budget.program_id is not None:
        return session.get(Program, budget.program_id).calculated_cost
    return None


def _expense_lines(session: Session, budget: Budget, number: int) -> Page[Any]:
    """A page of the budget's expense lines, newest first, each with the names of its
    campaign and its delivery or task: the page is read from the expense lines' campaign
    index alone, the names for its rows only."""
    page = paginate(
        session,
        select(ExpenseLine).where(_charged_here(session, budget)).order_by(ExpenseLine.id.desc()),
        number,
        LINES_PAGE_SIZE,
    )

    campaigns = names_by_id(Campaign.name, {line.campaign_id for line in page.items})
    deliveries = names_by_id(Delivery.label, {line.delivery_id for line in page.items})
    tasks = names_by_id(Task.name, {line.task_id for line in page.items})
    runs = names_by_id(Run.number, {line.run_id for line in page.items})
    rows = [
        (
            line,
            campaigns.get(line.campaign_id),
            deliveries.get(line.delivery_id),
            tasks.get(line.task_id) if line.task_id else runs.get(line.run_id),
        )
        for line in page.items
    ]
    return Page(rows, page.number, page.size, page.total)


@bp.get("/<int:budget_id>")
@role_required(Role.VIEWER)
def budget(budget_id: int) -> str:
    session = db_session()
    budget = get_or_404(Budget, budget_id)
    number, _size = page_arguments(request.args)
    lines = _expense_lines(session, budget, number)
    cost_lines: dict[int, list[CostLine]] = defaultdict(list)
    line_ids = [line.id for line, *_names in lines.items]
    if line_ids:
        for cost_line in session.scalars(
            select(CostLine).where(CostLine.expense_line_id.in_(line_ids)).order_by(CostLine.id)
        ):
            cost_lines[cost_line.expense_line_id].append(cost_line)
    expenses = session.execute(
        select(BudgetExpense, ExpenseCategory.name)
        .join(ExpenseCategory, BudgetExpense.expense_category_id == ExpenseCategory.id)
        .where(BudgetExpense.budget_id == budget.id)
        .order_by(ExpenseCategory.name)
    ).all()
    responsible = None
    if budget.responsible_id is not None:
        responsible = dict(user_choices(session)).get(budget.responsible_id)
    return render_template(
        "budgets/budget.html",
        budget=budget,
        owner=_owner_names(session, [budget])[budget.id],
        chart=chart_of(budget),
        expenses=[(expense, name, chart_of(expense)) for expense, name in expenses],
        lines=lines,
        cost_lines=cost_lines,
        responsible=responsible,
        roll_up=_roll_up(session, budget),
    )


# -- the form -------------------------------------------------------------------------------------


def owner_choices(session: Session) -> list[tuple[str, list[tuple[str, str]]]]:
    plans = session.execute(select(Plan.id, Plan.name).order_by(Plan.name)).all()
    programs = session.execute(
        select(Program.id, Program.name, Plan.name.label("plan"))
        .join(Plan, Program.plan_id == Plan.id)
        .order_by(Plan.name, Program.name)
    ).all()
    campaigns = session.execute(select(Campaign.id, Campaign.name).order_by(Campaign.name)).all()
    return [
        (t("budgets.owner.plan"), [(f"plan:{row.id}", row.name) for row in plans]),
        (
            t("budgets.owner.program"),
            [(f"program:{row.id}", f"{row.plan}: {row.name}") for row in programs],
        ),
        (t("budgets.owner.campaign"), [(f"campaign:{row.id}", row.name) for row in campaigns]),
    ]


def _owner_value(budget: Budget) -> str:
    for kind in OWNERS:
        owner_id = getattr(budget, f"{kind}_id")
        if owner_id is not None:
            return f"{kind}:{owner_id}"
    return ""


def _categories(session: Session) -> list[ExpenseCategory]:
    return list(session.scalars(select(ExpenseCategory).order_by(ExpenseCategory.name)))


class BudgetForm(PanelForm):
    name = TextField(required=True)
    description = TextField(max_length=5000)
    owner = ChoiceField(required=True, coerce=str)
    start_date = DateField()
    end_date = DateField()
    allocated = MoneyField(required=True)
    responsible_id = ChoiceField()


def _budget_form(budget: Budget | None, categories: list[ExpenseCategory]) -> BudgetForm:
    """The budget's form with an amount per expense category (``alloc-<id>``)."""
    amounts = {f"alloc-{category.id}": MoneyField() for category in categories}
    form_class = type("BudgetCategoriesForm", (BudgetForm,), amounts)
    if budget is None:
        preset = next(
            (
                f"{kind}:{request.args[f'{kind}_id']}"
                for kind in OWNERS
                if request.args.get(f"{kind}_id")
            ),
            "",
        )
        return form_class(data={"owner": preset, "allocated": Decimal(0)})
    data = {
        "name": budget.name,
        "description": budget.description,
        "owner": _owner_value(budget),
        "start_date": budget.start_date,
        "end_date": budget.end_date,
        "allocated": budget.allocated,
        "responsible_id": budget.responsible_id,
    }
    for expense in budget.expenses:
        data[f"alloc-{expense.expense_category_id}"] = expense.allocated
    return form_class(data=data)


def _render_form(budget: Budget | None, values: dict[str, Any], errors: dict[str, str]) -> str:
    session = db_session()
    return render_template(
        "budgets/form.html",
        budget=budget,
        values=values,
        errors=errors,
        owners=owner_choices(session),
        users=user_choices(session),
        categories=_categories(session),
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_budget() -> str | tuple[str, int] | Response:
    return _save(None)


@bp.route("/<int:budget_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_budget(budget_id: int) -> str | tuple[str, int] | Response:
    return _save(get_or_404(Budget, budget_id))


def _save(budget: Budget | None) -> str | tuple[str, int] | Response:
    session = db_session()
    categories = _categories(session)
    form = _budget_form(budget, categories)
    if request.method == "GET":
        return _render_form(budget, form.values, {})
    form.owner.choices = owner_choices(session)
    form.responsible_id.choices = user_choices(session)
    form.validate()
    check_period(form, "start_date", "end_date")
    check_unique(form, Budget, budget, "name")
    if not form.ok:
        return _render_form(budget, form.values, form.messages), 422
    owner = form.owner.data
    fields: dict[str, Any] = {
        "name": form.name.data,
        "description": form.description.data,
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
        "allocated": form.allocated.data,
        "responsible_id": form.responsible_id.data,
    }
    kind, owner_id = owner.split(":")
    fields.update({f"{other}_id": None for other in OWNERS})
    fields[f"{kind}_id"] = int(owner_id)
    allocations: dict[int, Decimal] = {
        category.id: amount
        for category in categories
        if (amount := form[f"alloc-{category.id}"].data) is not None
    }
    fields["expenses"] = _expense_rows(budget, allocations)
    budget, created = save_row(
        Budget,
        budget,
        fields,
        lambda row: row.name,
        lambda row: {
            "owner": owner,
            "allocated": str(row.allocated),
            "by_category": {str(key): str(value) for key, value in allocations.items()},
        },
    )
    flash(t("budgets.created" if created else "budgets.saved", name=budget.name), "success")
    return redirect(url_for(".budget", budget_id=budget.id))


def _expense_rows(budget: Budget | None, allocations: dict[int, Decimal]) -> list[BudgetExpense]:
    """The budget's rows per expense category for these allocations: a category left empty
    keeps its row at 0 when costs were booked to it (so its overrun still shows), else the
    row goes."""
    rows = {expense.expense_category_id: expense for expense in (budget.expenses if budget else [])}
    kept = []
    for category_id, expense in rows.items():
        if category_id in allocations:
            expense.allocated = allocations[category_id]
            kept.append(expense)
        elif expense.booked or expense.spent or expense.invoiced:
            expense.allocated = Decimal(0)
            kept.append(expense)
    return kept + [
        BudgetExpense(expense_category_id=category_id, allocated=amount)
        for category_id, amount in allocations.items()
        if category_id not in rows
    ]


# -- expense categories ---------------------------------------------------------------------------


class CategoryForm(PanelForm):
    name = TextField(required=True, max_length=100)
    description = TextField(max_length=2000)


def _render_categories(values: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "budgets/categories.html",
        categories=_categories(db_session()),
        values=values,
        errors=errors,
    )


@bp.get("/categories")
@role_required(Role.VIEWER)
def categories() -> str:
    return _render_categories({}, {})


@bp.post("/categories")
@role_required(Role.CAMPAIGN_MANAGER)
def create_category() -> tuple[str, int] | Response:
    form = CategoryForm()
    form.validate()
    check_unique(form, ExpenseCategory, None, "name")
    if not form.ok:
        return _render_categories(form.values, form.messages), 422
    name = form.name.data
    save_row(
        ExpenseCategory,
        None,
        {"name": name, "description": form.description.data},
        lambda row: row.name,
        target="expense_category",
    )
    flash(t("budgets.category_created", name=name), "success")
    return redirect(url_for(".categories"))
