"""Deliveries: the list with states and filters, a delivery's page (approvals, runs, counts,
costs, stock and budget warnings) and the delivery form.

Starting deliveries and moving them on after an approval is the delivery workflow's job;
the panel sets them up and submits them for approval (``deliveries.submission``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.models import Campaign, CampaignStatus, Role, Run, User, UserGroup
from plugins.processes.approvals import PERSON_STEPS, SUBMITTABLE_STATES
from plugins.processes.budget_checks import budget_warnings
from plugins.processes.consumption import (
    DeliveryCounts,
    delivery_counts,
    letters_in_file,
    stock_warnings,
)
from plugins.processes.costs import effective_cost
from plugins.processes.delivery_setup import DeliverySetupError, choose_cost_types, set_action
from plugins.processes.delivery_start import (
    confirmed_ahead,
    forget_confirmation,
    needs_confirmation,
)
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalStep,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ExpenseLine,
    Provider,
    ProviderService,
    ProviderStep,
)
from plugins.processes.models.approvals import DIRECT_MAIL_STEPS
from plugins.processes.panel.deliveries.form import (
    CAMPAIGN_ACTION,
    build_delivery_form,
    delivery_values,
    read_delivery_form,
)
from plugins.processes.provider_results import takes_result_file
from webapp import (
    Page,
    PanelForm,
    WholeNumberField,
    db_session,
    get_or_404,
    get_plugins,
    get_runtime,
    group_choices,
    names_by_id,
    page_arguments,
    paginate,
    plugin_text,
    pressed_button,
    role_required,
    search_argument,
    search_condition,
    stored_text,
    t,
    user_choices,
    username,
)

bp = Blueprint("deliveries", __name__, url_prefix="/deliveries", template_folder="templates")

LIST_PAGE_SIZE = 25
RUNS_SHOWN = 20
REVIEWER_ROLES = (Role.REVIEWER, Role.CAMPAIGN_MANAGER, Role.ADMIN)


def applicable_steps(delivery: Delivery) -> list[ApprovalStep]:
    """The approval steps the delivery's channel has (extraction and proof: direct mail)."""
    return [
        step for step in ApprovalStep if not (step in DIRECT_MAIL_STEPS and delivery.channel.online)
    ]


# -- the list -------------------------------------------------------------------------------------


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    search = search_argument(request.args)
    state = request.args.get("state") or ""
    channel = request.args.get("channel") or ""
    campaign_state = request.args.get("campaign_state") or ""
    query = select(Delivery).order_by(Delivery.id.desc())
    if search:
        query = query.join(Campaign, Delivery.campaign_id == Campaign.id).where(
            search_condition(search, Delivery.label, Campaign.name)
        )
    if state in {member.value for member in DeliveryState}:
        query = query.where(Delivery.state == DeliveryState(state))
    if channel in {member.value for member in DeliveryChannel}:
        query = query.where(Delivery.channel == DeliveryChannel(channel))
    if campaign_state in {member.value for member in CampaignStatus}:
        in_state = select(Campaign.id).where(Campaign.status == CampaignStatus(campaign_state))
        query = query.where(Delivery.campaign_id.in_(in_state))
    number, _size = page_arguments(request.args)
    page = paginate(session, query, number, LIST_PAGE_SIZE)
    shown = {delivery.campaign_id for delivery in page.items}
    campaigns = {
        row.id: row
        for row in session.execute(
            select(Campaign.id, Campaign.name, Campaign.status).where(Campaign.id.in_(shown))
        )
    }
    services = names_by_id(
        ProviderService.name, {delivery.provider_service_id for delivery in page.items}
    )
    rows = [
        (delivery, campaigns.get(delivery.campaign_id), services.get(delivery.provider_service_id))
        for delivery in page.items
    ]
    page = Page(rows, page.number, page.size, page.total)
    return render_template(
        "deliveries/index.html",
        page=page,
        filters={
            "q": search,
            "state": state,
            "channel": channel,
            "campaign_state": campaign_state,
        },
        states=list(DeliveryState),
        campaign_states=list(CampaignStatus),
        channels=list(DeliveryChannel),
        cost_of=_cost,
    )


COST_WORKFLOW = "budgetMgt"
"""The workflow that calculates a delivery's costs once it was analysed: its page offers to
run it now rather than wait for its next scheduled pass."""


def _cost(delivery: Delivery) -> Any:
    return effective_cost(delivery.real_cost, delivery.calculated_cost, delivery.estimated_cost)


# -- a delivery -----------------------------------------------------------------------------------


def _action_title(delivery: Delivery) -> str:
    name = delivery.action or delivery.campaign.action
    try:
        title = plugin_text(get_plugins().actions.get(name), "title")
    except LookupError:
        title = name
    return title if delivery.action else t("deliveries.campaign_action", title=title)


def render_delivery(delivery: Delivery, **context: Any) -> str:
    """The delivery's page; ``context`` carries the approval form's values and errors."""
    session = db_session()
    approvals = {
        approval.step: approval
        for approval in session.scalars(
            select(Approval)
            .where(Approval.delivery_id == delivery.id)
            .options(selectinload(Approval.reviewers), selectinload(Approval.events))
        )
    }
    expense = session.scalar(
        select(ExpenseLine)
        .where(ExpenseLine.delivery_id == delivery.id)
        .options(selectinload(ExpenseLine.cost_lines))
    )
    runs = session.scalars(
        select(Run).where(Run.delivery_id == delivery.id).order_by(Run.id.desc()).limit(RUNS_SHOWN)
    ).all()
    provider = (
        session.get(Provider, delivery.provider_service.provider_id)
        if delivery.provider_service is not None
        else None
    )
    return render_template(
        "deliveries/delivery.html",
        delivery=delivery,
        campaign=delivery.campaign,
        provider=provider,
        action_title=_action_title(delivery),
        counts=delivery_counts(session, [delivery.id]).get(delivery.id, DeliveryCounts()),
        letters_in_file=letters_in_file(delivery),
        expense=expense,
        cost_workflow=COST_WORKFLOW if COST_WORKFLOW in get_plugins().workflows else None,
        cost=_cost(delivery),
        runs=runs,
        provider_steps=session.scalars(
            select(ProviderStep)
            .where(ProviderStep.delivery_id == delivery.id)
            .order_by(ProviderStep.id)
        ).all(),
        steps=applicable_steps(delivery),
        person_steps=PERSON_STEPS,
        now=get_runtime().clock.now(),
        approvals=approvals,
        log=sorted(
            ((event, step) for step, approval in approvals.items() for event in approval.events),
            key=lambda entry: (entry[0].at, entry[0].id),
            reverse=True,
        ),
        user_names=dict(session.execute(select(User.id, User.username)).all()),
        group_names=dict(session.execute(select(UserGroup.id, UserGroup.name)).all()),
        stock_warnings=stock_warnings(session, delivery.id),
        budget_warnings=budget_warnings(session, delivery.id),
        awaiting_confirmation=needs_confirmation(delivery),
        confirmed_ahead=confirmed_ahead(delivery),
        takes_result_file=takes_result_file(session, delivery),
        **context,
    )


def approval_form_context(
    delivery: Delivery, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    """What the approval set-up form on the delivery's page needs."""
    session = db_session()
    steps = applicable_steps(delivery)
    return {
        "approval_values": values or {"step": steps[0].value, "mode": ApprovalMode.MANUAL.value},
        "approval_errors": errors,
        "step_choices": [(step.value, t(f"approvals.step.{step.value}")) for step in steps],
        "mode_choices": [(mode.value, t(f"approvals.mode.{mode.value}")) for mode in ApprovalMode],
        "role_choices": [(role.value, t(f"role.{role.value}")) for role in REVIEWER_ROLES],
        "group_choices": group_choices(session),
        "user_choices": user_choices(session),
        "can_submit": delivery.state in SUBMITTABLE_STATES,
    }


@bp.get("/<int:delivery_id>")
@role_required(Role.VIEWER)
def delivery(delivery_id: int) -> str:
    delivery = get_or_404(Delivery, delivery_id)
    return render_delivery(delivery, **approval_form_context(delivery, {}, {}))


# -- the form -------------------------------------------------------------------------------------


def _render_form(
    campaign: Campaign, delivery: Delivery | None, submitted: Any = None, **context: Any
) -> str:
    session = db_session()
    if submitted is None:
        values = delivery_values(delivery)
        settings = dict(delivery.action_settings or {}) if delivery is not None else {}
        form = build_delivery_form(
            session,
            get_plugins(),
            values,
            {},
            settings,
            [],
            {cost_type.id for cost_type in delivery.cost_types} if delivery else set(),
            delivery.state if delivery else None,
        )
    else:
        form = build_delivery_form(
            session,
            get_plugins(),
            submitted.values,
            submitted.form.messages,
            submitted.settings,
            submitted.problems,
            set(submitted.cost_type_ids),
            delivery.state if delivery else None,
        )
    return render_template(
        "deliveries/form.html",
        campaign=campaign,
        delivery=delivery,
        form=form,
        campaign_action=_campaign_action_title(campaign),
        campaign_action_value=CAMPAIGN_ACTION,
        plugin_text=plugin_text,
        **context,
    )


def _campaign_action_title(campaign: Campaign) -> str:
    try:
        return plugin_text(get_plugins().actions.get(campaign.action), "title")
    except LookupError:
        return campaign.action


class NewDeliveryForm(PanelForm):
    """The campaign a new delivery is for: the link's ``campaign_id``, then the form's."""

    class Meta:
        csrf = False  # the link's GET has no token; the POST's token is checked for every POST

    campaign_id = WholeNumberField(required=True, minimum=1)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_delivery() -> str | tuple[str, int] | Response:
    target = NewDeliveryForm(formdata=request.values)
    if not target.validate():
        abort(404)
    return _save(get_or_404(Campaign, target.campaign_id.data), None)


@bp.route("/<int:delivery_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_delivery(delivery_id: int) -> str | tuple[str, int] | Response:
    delivery = get_or_404(Delivery, delivery_id)
    return _save(delivery.campaign, delivery)


def _save(campaign: Campaign, delivery: Delivery | None) -> str | tuple[str, int] | Response:
    if request.method == "GET":
        return _render_form(campaign, delivery)
    session = db_session()
    plugins = get_plugins()
    check = pressed_button(("save", "refresh")) == "save"
    submitted = read_delivery_form(request.form, session, plugins, delivery, check)
    if not check:
        return _render_form(campaign, delivery, submitted)
    form, fields = submitted.form, submitted.fields
    if delivery is not None and form.version.data != str(delivery.version):
        form.add_error(
            "form",
            t("deliveries.changed_meanwhile", state=t(f"deliveries.state.{delivery.state.value}")),
        )
    taken = session.scalar(
        select(Delivery.id).where(
            Delivery.campaign_id == campaign.id,
            Delivery.label == fields["label"],
            Delivery.id != (delivery.id if delivery else -1),
        )
    )
    if taken is not None:
        form.add_error("label", t("forms.taken"))
    if not submitted.ok:
        return _render_form(campaign, delivery, submitted, failed=True), 422
    created = delivery is None
    if delivery is None:
        delivery = Delivery(campaign_id=campaign.id, **fields)
        session.add(delivery)
    else:
        for key, value in fields.items():
            if key != "channel" or delivery.state is DeliveryState.EDITING:
                setattr(delivery, key, value)
    try:
        set_action(plugins, delivery, submitted.action, submitted.settings or None)
    except DeliverySetupError as exc:
        form.add_error("action", stored_text(exc.text))
    try:
        session.flush()
        choose_cost_types(session, delivery, submitted.cost_type_ids)
    except DeliverySetupError as exc:
        form.add_error("cost_type_ids", stored_text(exc.text))
    if not form.ok:
        session.rollback()
        if not created:
            delivery = session.get(Delivery, delivery.id)
        return _render_form(campaign, delivery, submitted, failed=True), 422
    confirmed_before = not created and delivery.confirmed_at is not None
    if confirmed_before and delivery.state is DeliveryState.PENDING_CONFIRMATION:
        forget_confirmation(delivery)
    record_audit(
        session,
        username(),
        "delivery.create" if created else "delivery.update",
        "delivery",
        delivery.id,
        f"{campaign.name}: {delivery.label}",
        {
            "channel": delivery.channel.value,
            "action": delivery.action,
            "provider_service_id": delivery.provider_service_id,
            "cost_types": submitted.cost_type_ids,
        },
    )
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        delivery = session.get(Delivery, delivery.id)
        form.add_error(
            "form",
            t("deliveries.changed_meanwhile", state=t(f"deliveries.state.{delivery.state.value}")),
        )
        return _render_form(campaign, delivery, submitted, failed=True), 409
    flash(
        t("deliveries.created" if created else "deliveries.saved", label=delivery.label), "success"
    )
    if confirmed_before and delivery.confirmed_at is None:
        flash(t("confirm.forgotten"), "info")
    return redirect(url_for(".delivery", delivery_id=delivery.id))
