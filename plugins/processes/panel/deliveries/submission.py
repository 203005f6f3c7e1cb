"""Setting up a delivery's approvals and submitting it for approval
(``plugins.processes.approvals``).

"Submit for approval" opens a round for every step before the start (targeting, content,
budget, start) that is not approved or waiting already: automatic steps are approved at
once, manual ones wait for their reviewers. The delivery then shows "to validate" while an
answer is missing, or "approved" when none is; moving it on after an answer is the
delivery workflow's job. Extraction and proof are submitted later, with the file.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.messages import stored_for
from core.models import Role
from plugins.processes.approvals import (
    SUBMITTABLE_STATES,
    ApprovalError,
    Reviewers,
    configure,
    submit_for_approval,
)
from plugins.processes.models import ApprovalMode, ApprovalStep, Delivery, DeliveryState
from plugins.processes.panel.deliveries.views import (
    REVIEWER_ROLES,
    applicable_steps,
    approval_form_context,
    bp,
    render_delivery,
)
from plugins.processes.texts import STEP_NAMES
from webapp import (
    ChoiceListField,
    EnumField,
    LocalDateTimeField,
    PanelForm,
    acting_user,
    db_session,
    get_or_404,
    get_runtime,
    group_choices,
    role_required,
    stored_text,
    t,
    user_choices,
    username,
)

stored = stored_for(__name__)


class ApprovalSetupForm(PanelForm):
    step = EnumField(ApprovalStep, required=True)
    mode = EnumField(ApprovalMode, required=True)
    roles = ChoiceListField(coerce=str)
    groups = ChoiceListField()
    users = ChoiceListField()


class SubmitForm(PanelForm):
    deadline = LocalDateTimeField()


@bp.post("/<int:delivery_id>/approvals")
@role_required(Role.CAMPAIGN_MANAGER)
def configure_approval(delivery_id: int) -> str | tuple[str, int] | Response:
    session = db_session()
    delivery = get_or_404(Delivery, delivery_id)
    form = ApprovalSetupForm()
    form.roles.choices = [(role.value, role.value) for role in REVIEWER_ROLES]
    form.groups.choices = group_choices(session)
    form.users.choices = user_choices(session)
    form.validate()
    step, mode = form.step.data, form.mode.data
    if step is not None and step not in applicable_steps(delivery):
        form.add_error("step", t("forms.not_a_choice", value=t(f"approvals.step.{step.value}")))
    roles, groups, users = form.roles.data, form.groups.data, form.users.data
    if form.ok:
        try:
            configure(
                session,
                delivery,
                step,
                mode,
                get_runtime().clock.now(),
                Reviewers.of(users=users, roles=roles, groups=groups),
                by=acting_user(),
            )
        except ApprovalError as exc:
            session.rollback()
            form.add_error("mode", stored_text(exc.text))
    if not form.ok:
        context = approval_form_context(delivery, form.values, form.messages)
        return render_delivery(delivery, approval_open=True, **context), 422
    record_audit(
        session,
        username(),
        "approval.configure",
        "delivery",
        delivery.id,
        stored("{delivery}: {step} automatic", delivery=delivery.label, step=STEP_NAMES[step])
        if mode is ApprovalMode.AUTOMATIC
        else stored("{delivery}: {step} manual", delivery=delivery.label, step=STEP_NAMES[step]),
        {"step": step.value, "mode": mode.value, "roles": roles, "groups": groups, "users": users},
    )
    session.commit()
    flash(t("approvals.configured", step=t(f"approvals.step.{step.value}")), "success")
    return redirect(url_for(".delivery", delivery_id=delivery.id) + "#approvals-heading")


@bp.post("/<int:delivery_id>/submit")
@role_required(Role.CAMPAIGN_MANAGER)
def submit_delivery(delivery_id: int) -> str | tuple[str, int] | Response:
    session = db_session()
    delivery = get_or_404(Delivery, delivery_id)
    back = url_for(".delivery", delivery_id=delivery.id)
    if delivery.state not in SUBMITTABLE_STATES:
        flash(
            t("approvals.cannot_submit", state=t(f"deliveries.state.{delivery.state.value}")),
            "error",
        )
        return redirect(back)
    form = SubmitForm()
    form.validate()
    deadline = form.deadline.data
    now = get_runtime().clock.now()
    if deadline is not None and deadline <= now:
        form.add_error("deadline", t("approvals.deadline_past"))
    if not form.ok:
        context = approval_form_context(delivery, {}, {})
        return render_delivery(
            delivery, submit_values=form.values, submit_errors=form.messages, **context
        ), 422
    try:
        steps = submit_for_approval(session, delivery, now, acting_user(), deadline)
    except ApprovalError as exc:
        session.rollback()
        flash(stored_text(exc.text), "error")
        return redirect(back)
    record_audit(
        session,
        username(),
        "delivery.submit",
        "delivery",
        delivery.id,
        f"{delivery.campaign.name}: {delivery.label}",
        {"steps": [step.value for step in steps], "state": delivery.state.value},
    )
    session.commit()
    if delivery.state is DeliveryState.APPROVED:
        online = delivery.channel.online  # its start waits for a person's confirmation
        flash(t("approvals.all_approved_online" if online else "approvals.all_approved"), "success")
    elif steps:
        names = ", ".join(t(f"approvals.step.{step.value}") for step in steps)
        flash(t("approvals.submitted", steps=names), "success")
    else:
        flash(t("approvals.nothing_to_submit"), "info")
    return redirect(back + "#approvals-heading")
