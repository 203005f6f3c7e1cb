"""Plans and their programs: the timeline of everything planned, and their forms.

A plan's page shows its programs and their campaigns on a timeline (with the deliveries'
planned starts as markers), its budgets and its cost; a program's page its campaigns.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from core.models import Campaign, CampaignStatus, Role, User
from plugins.processes.models import Budget, Delivery, Plan, Program
from plugins.processes.panel.charts import TimelineRow, timeline
from webapp import (
    ChoiceField,
    DateField,
    PanelForm,
    TextField,
    check_period,
    check_unique,
    db_session,
    get_or_404,
    get_runtime,
    manager_choices,
    role_required,
    save_row,
    t,
)

bp = Blueprint("plans", __name__, url_prefix="/plans", template_folder="templates")


def today() -> date:
    return get_runtime().clock.now().date()


# -- the overview ---------------------------------------------------------------------------------


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    plans = session.scalars(
        select(Plan).options(selectinload(Plan.programs)).order_by(Plan.start_date, Plan.name)
    ).all()
    rows = []
    for plan in plans:
        rows.append(
            TimelineRow(
                0, plan.name, url_for(".plan", plan_id=plan.id), plan.start_date, plan.end_date
            )
        )
        rows.extend(
            TimelineRow(
                1,
                program.name,
                url_for(".program", program_id=program.id),
                program.start_date,
                program.end_date,
            )
            for program in plan.programs
        )
    campaigns = dict(
        session.execute(
            select(Program.plan_id, func.count(Campaign.id))
            .join(Campaign, Campaign.program_id == Program.id)
            .group_by(Program.plan_id)
        ).all()
    )
    return render_template(
        "plans/index.html",
        plans=plans,
        campaign_counts=campaigns,
        allocated=_allocations(session, Budget.plan_id),
        timeline=timeline(rows, today()) if rows else None,
    )


def _allocations(session: Session, owner_column: Any) -> dict[int, Any]:
    return dict(
        session.execute(
            select(owner_column, func.sum(Budget.allocated))
            .where(owner_column.is_not(None))
            .group_by(owner_column)
        ).all()
    )


# -- a plan ---------------------------------------------------------------------------------------


def _campaign_rows(
    campaigns: list[Campaign], deliveries: dict[int, list[Delivery]], state: str = ""
) -> tuple[list[TimelineRow], list[list[tuple[date, str]]]]:
    """The campaigns' rows (only those in ``state`` when one is given) and their markers."""
    rows, markers = [], []
    for campaign in campaigns:
        if state and campaign.status.value != state:
            continue
        rows.append(
            TimelineRow(
                2,
                campaign.name,
                url_for(".campaign", campaign_id=campaign.id),
                campaign.start_date,
                campaign.end_date,
                css=campaign.status.value,
                state=f"process.campaign_status.{campaign.status.value}",
            )
        )
        markers.append(
            [
                (delivery.planned_start_at.date(), delivery.label)
                for delivery in deliveries.get(campaign.id, [])
                if delivery.planned_start_at is not None
            ]
        )
    return rows, markers


def _deliveries_by_campaign(session: Session, campaign_ids: list[int]) -> dict[int, list[Delivery]]:
    grouped: dict[int, list[Delivery]] = defaultdict(list)
    if campaign_ids:
        for delivery in session.scalars(
            select(Delivery).where(Delivery.campaign_id.in_(campaign_ids)).order_by(Delivery.id)
        ):
            grouped[delivery.campaign_id].append(delivery)
    return grouped


@bp.get("/<int:plan_id>")
@role_required(Role.VIEWER)
def plan(plan_id: int) -> str:
    session = db_session()
    plan = get_or_404(Plan, plan_id)
    state = request.args.get("state") or ""
    if state not in {member.value for member in CampaignStatus}:
        state = ""
    programs = session.scalars(
        select(Program)
        .where(Program.plan_id == plan.id)
        .options(selectinload(Program.campaigns))
        .order_by(Program.start_date, Program.name)
    ).all()
    campaign_ids = [campaign.id for program in programs for campaign in program.campaigns]
    deliveries = _deliveries_by_campaign(session, campaign_ids)
    rows: list[TimelineRow] = []
    markers: list[list[tuple[date, str]]] = []
    for program in programs:
        rows.append(
            TimelineRow(
                1,
                program.name,
                url_for(".program", program_id=program.id),
                program.start_date,
                program.end_date,
            )
        )
        markers.append([])
        campaign_rows, campaign_markers = _campaign_rows(program.campaigns, deliveries, state)
        rows.extend(campaign_rows)
        markers.extend(campaign_markers)
    shown = timeline(rows, today(), plan.start_date, plan.end_date, markers) if rows else None
    if shown is not None and (plan.start_date is None or plan.end_date is None):
        shown = timeline(rows, today(), marker_dates=markers)
    return render_template(
        "plans/plan.html",
        plan=plan,
        programs=programs,
        manager=_user_name(session, plan.manager_id),
        budgets=session.scalars(select(Budget).where(Budget.plan_id == plan.id)).all(),
        timeline=shown,
        state=state,
        campaign_states=list(CampaignStatus),
    )


def _user_name(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return None if user is None else (user.display_name or user.username)


def _period_details(row: Plan | Program) -> dict[str, Any]:
    return {
        "start_date": row.start_date and row.start_date.isoformat(),
        "end_date": row.end_date and row.end_date.isoformat(),
    }


PERIOD_COLUMNS = ("name", "description", "start_date", "end_date", "manager_id")


class PlanForm(PanelForm):
    """Name, description, period and manager: what plans and programs both have."""

    name = TextField(required=True)
    description = TextField(max_length=5000)
    start_date = DateField()
    end_date = DateField()
    manager_id = ChoiceField()

    def read(self, session: Session) -> dict[str, Any]:
        """Validate; the columns to store."""
        self.manager_id.choices = manager_choices(session)
        self.validate()
        check_period(self, "start_date", "end_date")
        return {name: self[name].data for name in PERIOD_COLUMNS}


class ProgramForm(PlanForm):
    plan_id = ChoiceField(required=True)


def _render_plan_form(plan: Plan | None, values: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "plans/plan_form.html",
        plan=plan,
        values=values,
        errors=errors,
        managers=manager_choices(db_session()),
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_plan() -> str | tuple[str, int] | Response:
    return _save_plan(None)


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_plan(plan_id: int) -> str | tuple[str, int] | Response:
    return _save_plan(get_or_404(Plan, plan_id))


def _save_plan(plan: Plan | None) -> str | tuple[str, int] | Response:
    form = PlanForm(obj=plan)
    if request.method == "GET":
        return _render_plan_form(plan, form.values, {})
    fields = form.read(db_session())
    check_unique(form, Plan, plan, "name")
    if not form.ok:
        return _render_plan_form(plan, form.values, form.messages), 422
    plan, created = save_row(Plan, plan, fields, lambda row: row.name, _period_details)
    flash(t("plans.created" if created else "plans.saved", name=plan.name), "success")
    return redirect(url_for(".plan", plan_id=plan.id))


# -- programs -------------------------------------------------------------------------------------


@bp.get("/programs/<int:program_id>")
@role_required(Role.VIEWER)
def program(program_id: int) -> str:
    session = db_session()
    program = get_or_404(Program, program_id)
    deliveries = _deliveries_by_campaign(session, [c.id for c in program.campaigns])
    rows, markers = _campaign_rows(list(program.campaigns), deliveries)
    period = (
        program.start_date or program.plan.start_date,
        program.end_date or program.plan.end_date,
    )
    if rows and None not in period:
        shown = timeline(rows, today(), period[0], period[1], markers)
    else:
        shown = timeline(rows, today(), marker_dates=markers) if rows else None
    return render_template(
        "plans/program.html",
        program=program,
        manager=_user_name(session, program.manager_id),
        budgets=session.scalars(select(Budget).where(Budget.program_id == program.id)).all(),
        timeline=shown,
    )


def _plan_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (row.id, row.name)
        for row in session.execute(select(Plan.id, Plan.name).order_by(Plan.name))
    ]


def _render_program_form(
    program: Program | None, plan: Plan, values: dict[str, Any], errors: dict[str, str]
) -> str:
    session = db_session()
    return render_template(
        "plans/program_form.html",
        program=program,
        plan=plan,
        values=values,
        errors=errors,
        managers=manager_choices(session),
        plans=_plan_choices(session),
    )


@bp.route("/<int:plan_id>/programs/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_program(plan_id: int) -> str | tuple[str, int] | Response:
    return _save_program(None, get_or_404(Plan, plan_id))


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_program(program_id: int) -> str | tuple[str, int] | Response:
    program = get_or_404(Program, program_id)
    return _save_program(program, program.plan)


def _save_program(program: Program | None, plan: Plan) -> str | tuple[str, int] | Response:
    form = ProgramForm(obj=program, data=None if program else {"plan_id": plan.id})
    if request.method == "GET":
        return _render_program_form(program, plan, form.values, {})
    session = db_session()
    form.plan_id.choices = _plan_choices(session)
    fields = form.read(session)
    plan_id = form.plan_id.data
    if plan_id is not None:
        check_unique(form, Program, program, "name", plan_id=plan_id)
    if not form.ok:
        return _render_program_form(program, plan, form.values, form.messages), 422
    program, created = save_row(
        Program, program, fields | {"plan_id": plan_id}, lambda row: row.name, _period_details
    )
    flash(t("programs.created" if created else "programs.saved", name=program.name), "success")
    return redirect(url_for(".program", program_id=program.id))
