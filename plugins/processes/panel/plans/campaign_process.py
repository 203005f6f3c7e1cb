"""A campaign's place in the processes ("Planning and costs"): its program, period, manager,
status, budget status, commitment level and estimate, with its deliveries and tasks; and the
task form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.messages import stored_for
from core.models import ACTIVE_RUN_STATES, BudgetStatus, Campaign, CommitmentLevel, Role, Run, User
from core.models.campaigns import CLOSED_CAMPAIGN_STATES
from plugins.processes.campaign_states import CampaignStateError, cancel_campaign, reopen_campaign
from plugins.processes.costs import effective_cost
from plugins.processes.models import Budget, CostCategoryKind, Delivery, Task, TaskState
from plugins.processes.models.tasks import TASK_TRANSITIONS
from plugins.processes.models.transitions import TransitionError
from plugins.processes.panel.choices import budget_choices, program_choices, service_choices
from plugins.processes.panel.plans.views import bp, today
from webapp import (
    ChoiceField,
    DateField,
    EnumField,
    MoneyField,
    NumberField,
    PanelForm,
    TextField,
    check_period,
    db_session,
    get_or_404,
    get_runtime,
    manager_choices,
    role_required,
    save_row,
    stored_text,
    t,
    username,
)

stored = stored_for(__name__)

PROCESS_FIELDS = (
    "program_id",
    "start_date",
    "end_date",
    "manager_id",
    "budget_status",
    "commitment_level",
    "estimated_cost",
    "provider_service_id",
)


class CampaignProcessForm(PanelForm):
    program_id = ChoiceField()
    start_date = DateField()
    end_date = DateField()
    manager_id = ChoiceField()
    budget_status = EnumField(BudgetStatus, required=True)
    commitment_level = EnumField(CommitmentLevel, required=True)
    estimated_cost = MoneyField()
    provider_service_id = ChoiceField()


class ReopenForm(PanelForm):
    reopen_end_date = DateField()


def _campaign_values(campaign: Campaign) -> dict[str, Any]:
    return CampaignProcessForm(formdata=None, obj=campaign).values


def _render_campaign(
    campaign: Campaign,
    values: dict[str, Any],
    errors: dict[str, str],
    refused: str | None = None,
) -> str:
    """``refused``: why cancelling or reopening was refused (the process fields are fine)."""
    session = db_session()
    deliveries = session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign.id).order_by(Delivery.id)
    ).all()
    tasks = session.scalars(
        select(Task).where(Task.campaign_id == campaign.id).order_by(Task.start_date, Task.id)
    ).all()
    manager = session.get(User, campaign.manager_id) if campaign.manager_id else None
    return render_template(
        "plans/campaign.html",
        campaign=campaign,
        manager=manager,
        deliveries=deliveries,
        tasks=tasks,
        cost_of=lambda row: effective_cost(row.real_cost, row.calculated_cost, row.estimated_cost),
        budgets=session.scalars(select(Budget).where(Budget.campaign_id == campaign.id)).all(),
        values=values,
        errors=errors,
        refused=refused,
        programs=program_choices(session),
        managers=manager_choices(session),
        closed=campaign.status in CLOSED_CAMPAIGN_STATES,
        budget_statuses=[
            (status.value, t(f"process.budget_status.{status.value}")) for status in BudgetStatus
        ],
        levels=_levels(),
        services=service_choices(session),
    )


def _levels() -> list[tuple[int, str]]:
    return [(int(level), t(f"process.level.{int(level)}")) for level in CommitmentLevel]


@bp.get("/campaigns/<int:campaign_id>")
@role_required(Role.VIEWER)
def campaign(campaign_id: int) -> str:
    campaign = get_or_404(Campaign, campaign_id)
    return _render_campaign(campaign, _campaign_values(campaign), {})


@bp.post("/campaigns/<int:campaign_id>")
@role_required(Role.CAMPAIGN_MANAGER)
def save_campaign(campaign_id: int) -> str | tuple[str, int] | Response:
    session = db_session()
    campaign = get_or_404(Campaign, campaign_id)
    form = CampaignProcessForm()
    form.program_id.choices = program_choices(session)
    form.manager_id.choices = manager_choices(session)
    form.provider_service_id.choices = service_choices(session)
    form.validate()
    check_period(form, "start_date", "end_date")
    if not form.ok:
        return _render_campaign(campaign, form.values, form.messages), 422
    fields = {key: form[key].data for key in PROCESS_FIELDS}
    before = {key: _plain(getattr(campaign, key)) for key in PROCESS_FIELDS}
    for key, value in fields.items():
        setattr(campaign, key, int(value) if key == "commitment_level" else value)
    after = {key: _plain(getattr(campaign, key)) for key in PROCESS_FIELDS}
    record_audit(
        session,
        username(),
        "campaign.process",
        "campaign",
        campaign.id,
        stored("{campaign}: process fields", campaign=campaign.name),
        {"before": before, "after": after},
    )
    session.commit()
    flash(t("process.saved", name=campaign.name), "success")
    return redirect(url_for(".campaign", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/cancel")
@role_required(Role.CAMPAIGN_MANAGER)
def cancel(campaign_id: int) -> str | tuple[str, int] | Response:
    """Call the campaign off; refused while one of its runs is active (cancel that first)."""
    session = db_session()
    campaign = get_or_404(Campaign, campaign_id)
    active = session.scalar(
        select(Run.id).where(Run.campaign_id == campaign.id, Run.state.in_(ACTIVE_RUN_STATES))
    )
    if active is not None:
        return _refuse(campaign, t("process.active_run"))
    try:
        cancel_campaign(campaign)
    except CampaignStateError as exc:
        return _refuse(campaign, stored_text(exc.text))
    record_audit(session, username(), "campaign.cancel", "campaign", campaign.id, campaign.name)
    session.commit()
    flash(t("process.cancelled", name=campaign.name), "success")
    return redirect(url_for(".campaign", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/reopen")
@role_required(Role.CAMPAIGN_MANAGER)
def reopen(campaign_id: int) -> str | tuple[str, int] | Response:
    """A finished or cancelled campaign back to the state its deliveries say, with an end
    date that has not passed."""
    session = db_session()
    campaign = get_or_404(Campaign, campaign_id)
    form = ReopenForm()
    if not form.validate():
        return _refuse(campaign, form.messages["reopen_end_date"])
    end_date = form.reopen_end_date.data
    if campaign.status not in CLOSED_CAMPAIGN_STATES:
        return _refuse(campaign, t("process.not_closed"))
    before = campaign.status.value
    try:
        state = reopen_campaign(session, campaign, today(), end_date)
    except CampaignStateError as exc:
        return _refuse(campaign, stored_text(exc.text))
    record_audit(
        session,
        username(),
        "campaign.reopen",
        "campaign",
        campaign.id,
        campaign.name,
        {"before": before, "after": state.value, "end_date": _plain(end_date)},
    )
    session.commit()
    label = t(f"process.campaign_status.{state.value}")
    flash(t("process.reopened", name=campaign.name, state=label), "success")
    return redirect(url_for(".campaign", campaign_id=campaign.id))


def _refuse(campaign: Campaign, message: str) -> tuple[str, int]:
    db_session().rollback()
    page = _render_campaign(campaign, _campaign_values(campaign), {}, refused=message)
    return page, 409


def _plain(value: Any) -> Any:
    """A column value as JSON data for the audit log."""
    if value is None or isinstance(value, (int, str, bool)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return getattr(value, "value", None) or str(value)


# -- tasks ----------------------------------------------------------------------------------------


class TaskForm(PanelForm):
    name = TextField(required=True)
    description = TextField(max_length=5000)
    start_date = DateField()
    end_date = DateField()
    state = EnumField(TaskState, required=True, default=TaskState.SCHEDULED)
    days_worked = NumberField(places=2, digits=8)
    estimated_cost = MoneyField()
    real_cost = MoneyField()
    provider_service_id = ChoiceField()
    commitment_level = EnumField(CommitmentLevel)
    budget_id = ChoiceField()


TASK_FIELDS = (
    "name",
    "description",
    "start_date",
    "end_date",
    "days_worked",
    "estimated_cost",
    "real_cost",
    "provider_service_id",
    "budget_id",
)


def _state_choices(task: Task | None) -> list[tuple[str, str]]:
    """The task's state and the states it may move to."""
    current = task.state if task is not None else None
    states = [current] if current is not None else []
    states += sorted(TASK_TRANSITIONS.get(current, frozenset()), key=list(TaskState).index)
    return [(state.value, t(f"task.state.{state.value}")) for state in states]


def _render_task(
    campaign: Campaign, task: Task | None, values: dict[str, Any], errors: dict[str, str]
) -> str:
    session = db_session()
    return render_template(
        "plans/task_form.html",
        campaign=campaign,
        task=task,
        values=values,
        errors=errors,
        states=_state_choices(task),
        services=service_choices(session, CostCategoryKind.TASK),
        levels=_levels(),
        budgets=budget_choices(session),
    )


@bp.route("/campaigns/<int:campaign_id>/tasks/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_task(campaign_id: int) -> str | tuple[str, int] | Response:
    return _save_task(get_or_404(Campaign, campaign_id), None)


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_task(task_id: int) -> str | tuple[str, int] | Response:
    task = get_or_404(Task, task_id)
    return _save_task(task.campaign, task)


def _save_task(campaign: Campaign, task: Task | None) -> str | tuple[str, int] | Response:
    form = TaskForm(obj=task)
    if request.method == "GET":
        return _render_task(campaign, task, form.values, {})
    session = db_session()
    form.provider_service_id.choices = service_choices(session, CostCategoryKind.TASK)
    form.budget_id.choices = budget_choices(session)
    form.validate()
    check_period(form, "start_date", "end_date")
    fields = {key: form[key].data for key in TASK_FIELDS}
    level = form.commitment_level.data
    fields["commitment_level"] = None if level is None else int(level)
    state = form.state.data
    if state is not None and task is None and state is not TaskState.SCHEDULED:
        form.add_error("state", t("forms.not_a_choice", value=t(f"task.state.{state.value}")))
    if task is not None and state is not None and state is not task.state:
        try:
            task.move_to(state, get_runtime().clock.now())
        except TransitionError:
            form.add_error(
                "state",
                t(
                    "tasks.bad_state",
                    current=t(f"task.state.{task.state.value}"),
                    wanted=t(f"task.state.{state.value}"),
                ),
            )
    if not form.ok:
        session.rollback()
        return _render_task(campaign, task, form.values, form.messages), 422
    task, created = save_row(
        Task,
        task,
        fields | {"campaign_id": campaign.id},
        lambda row: f"{campaign.name}: {row.name}",
        lambda row: {"state": row.state.value, "days_worked": _plain(row.days_worked)},
    )
    flash(t("tasks.created" if created else "tasks.saved", name=task.name), "success")
    return redirect(url_for(".campaign", campaign_id=campaign.id))
