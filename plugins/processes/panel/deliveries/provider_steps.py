"""A person's decision about a provider step whose outcome is unclear (supplierMgt never
repeats such a step on its own): it arrived, or it is sent again on the next pass."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.models import Role
from plugins.processes.models import Delivery, ProviderStep
from plugins.processes.panel.deliveries.views import bp
from plugins.processes.provider_steps import decide_unclear_step
from webapp import (
    ChoiceField,
    PanelForm,
    db_session,
    get_or_404,
    get_runtime,
    role_required,
    t,
    username,
)

DECISIONS = {"arrived": True, "resend": False}


class DecisionForm(PanelForm):
    """The pressed button: the step's files arrived, or the step is sent again."""

    decision = ChoiceField(coerce=str, required=True)


@bp.post("/<int:delivery_id>/steps/<int:step_id>/decision")
@role_required(Role.CAMPAIGN_MANAGER)
def decide_step(delivery_id: int, step_id: int) -> Response:
    session = db_session()
    delivery = get_or_404(Delivery, delivery_id)
    step = get_or_404(ProviderStep, step_id)
    if step.delivery_id != delivery.id:
        abort(404)
    back = url_for(".delivery", delivery_id=delivery.id) + "#steps-heading"
    form = DecisionForm()
    form.decision.choices = [(name, name) for name in DECISIONS]
    if not form.validate():
        flash(t("deliveries.steps.no_decision"), "error")
        return redirect(back)
    decision = form.decision.data
    try:
        decide_unclear_step(
            session,
            step.id,
            arrived=DECISIONS[decision],
            by=username(),
            now=get_runtime().clock.now(),
        )
    except ValueError:
        session.rollback()
        flash(t("deliveries.steps.not_unclear"), "error")
        return redirect(back)
    record_audit(
        session,
        username(),
        f"provider_step.{decision}",
        "delivery",
        delivery.id,
        f"{delivery.campaign.name}: {delivery.label}",
        {"step": step.key, "kind": step.kind.value},
    )
    session.commit()
    flash(t(f"deliveries.steps.decided_{decision}"), "success")
    return redirect(back)
