"""Confirming the start of an online delivery: the page shows the channel and how many
records the campaign selects now, and the confirmation is refused if that number changed
since the page was shown. Before the planned start, the delivery then starts by itself at
that time for at most that many recipients; after it (or without one) it starts at once,
and its run counts whom it would reach and waits on its own page for a person's
confirmation of that count (the engine's confirmation), so nothing is sent on the data
source's count. Who may confirm and the start itself are
``plugins.processes.delivery_start``'s."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.engine.campaigns import CampaignConfig
from core.engine.confirmation import would_reach
from core.models import Role, Run
from plugins.processes.delivery_start import (
    ConfirmationError,
    approvals_completed_at,
    before_planned_start,
    confirm_start,
    may_confirm,
    needs_confirmation,
    start_delivery,
)
from plugins.processes.models import Delivery
from plugins.processes.panel.deliveries.views import bp
from plugins.processes.process_runs import delivery_action
from webapp import (
    ConfigDraft,
    PanelForm,
    WholeNumberField,
    acting_user,
    count_groups,
    db_session,
    format_datetime,
    get_or_404,
    get_runtime,
    role_required,
    stored_text,
    t,
    tn,
    username,
)


class ConfirmForm(PanelForm):
    seen_count = WholeNumberField(required=True)
    """How many recipients the page showed the person confirming."""


def recipient_count(delivery: Delivery) -> int | None:
    """How many records the delivery's campaign selects now (None: cannot be counted)."""
    campaign = delivery.campaign
    draft = ConfigDraft.of(CampaignConfig.of(campaign, delivery_action(delivery)))
    return count_groups(draft, db_session(), get_runtime(), campaign.id, campaign.name).total


def _render(delivery: Delivery, count: int | None, error: str | None = None) -> str:
    session = db_session()
    dry_run = session.scalar(
        select(Run)
        .where(Run.delivery_id == delivery.id, Run.dry_run.is_(True), Run.targeted_at.is_not(None))
        .order_by(Run.id.desc())
        .limit(1)
    )
    return render_template(
        "deliveries/confirm.html",
        delivery=delivery,
        campaign=delivery.campaign,
        count=count,
        dry_run=dry_run,
        dry_run_reach=would_reach(session, dry_run) if dry_run else None,
        approved_at=approvals_completed_at(session, delivery.id),
        ahead=before_planned_start(delivery, get_runtime().clock.now()),
        may_confirm=may_confirm(acting_user(), delivery),
        error=error,
    )


@bp.get("/<int:delivery_id>/confirm")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm(delivery_id: int) -> str | Response:
    delivery = get_or_404(Delivery, delivery_id)
    if not needs_confirmation(delivery):
        flash(t("confirm.not_waiting"), "info")
        return redirect(url_for(".delivery", delivery_id=delivery.id))
    return _render(delivery, recipient_count(delivery))


@bp.post("/<int:delivery_id>/confirm")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_delivery(delivery_id: int) -> str | tuple[str, int] | Response:
    session = db_session()
    delivery = get_or_404(Delivery, delivery_id)
    back = url_for(".delivery", delivery_id=delivery.id)
    if not needs_confirmation(delivery):
        flash(t("confirm.not_waiting"), "info")
        return redirect(back)
    form = ConfirmForm()
    valid = form.validate()
    seen = form.seen_count.data
    count = recipient_count(delivery)
    if not valid or count is None:
        return _render(delivery, count, t("confirm.no_count")), 422
    if seen != count:
        return _render(delivery, count, t("confirm.count_changed", seen=seen, count=count)), 409
    try:
        starts_now = confirm_start(
            session, delivery, acting_user(), get_runtime().clock.now(), count
        )
    except ConfirmationError as exc:
        session.rollback()
        return _render(get_or_404(Delivery, delivery_id), count, stored_text(exc.text)), 409
    except StaleDataError:  # the delivery workflow or another person changed it meanwhile
        session.rollback()
        flash(t("confirm.changed"), "error")
        return redirect(back)
    record_audit(
        session,
        username(),
        "delivery.confirm",
        "delivery",
        delivery.id,
        f"{delivery.campaign.name}: {delivery.label}",
        {"recipients": count, "channel": delivery.channel.value, "starts_now": starts_now},
    )
    try:
        session.commit()
    except StaleDataError:  # the delivery workflow or another person changed it meanwhile
        session.rollback()
        flash(t("confirm.changed"), "error")
        return redirect(back)
    if not starts_now:  # deliveryMgt starts it at its planned start
        at = format_datetime(delivery.planned_start_at)
        flash(tn("confirm.ahead", count, at=at), "success")
        return redirect(back)
    try:
        outcome = start_delivery(get_runtime(), delivery.id, username())
    except RedisError as exc:  # the delivery workflow starts it on its next pass
        flash(t("confirm.queue_down", reason=str(exc)), "error")
        return redirect(back)
    if outcome.error is not None:  # the delivery workflow fails it and tells the manager
        flash(t("confirm.refused", reason=stored_text(outcome.error)), "error")
    elif outcome.started is not None and outcome.started.run_id is None:
        flash(t("confirm.waiting", reason=stored_text(outcome.started.waiting)), "info")
    else:  # the run counts whom it would reach; its page asks for the confirmation of that
        flash(t("confirm.started"), "success")
        run_id = outcome.started.run_id if outcome.started is not None else None
        if run_id is not None:
            campaign_id = delivery.campaign_id
            return redirect(url_for("campaigns.run", campaign_id=campaign_id, run_id=run_id))
    return redirect(back)
