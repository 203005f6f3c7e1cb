"""The webhooks screen (administrators only): URLs registered for events (the secret shown
once), the hosts allowed to be internal, and the recent deliveries with every attempt."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from core.audit import record_audit
from core.events import EventType
from core.models import Role
from plugins.webhooks.models import Webhook, WebhookAllowedHost, WebhookDelivery
from plugins.webhooks.service import WebhookError, allow_host, delete_webhook, register_webhook
from webapp import (
    ChoiceListField,
    FlagField,
    PanelForm,
    TextField,
    current_user,
    db_session,
    get_plugins,
    role_required,
    t,
)

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks", template_folder="templates")

RECENT_DELIVERIES = 50
MAX_INPUT = 2000


@bp.before_request
@role_required(Role.ADMIN)
def _administrators_only() -> None:
    """Webhooks send the installation's events out: administrators only."""


def _error_text(exc: WebhookError) -> str:
    return t(f"webhooks.error.{exc.code}", **exc.params)


def _event_types() -> dict[str, EventType]:
    """What a webhook can subscribe to: every domain event the core and the plugins record."""
    return get_plugins().event_types


def _page(errors=None, values=None, new_secret=None, status: int = 200) -> ResponseReturnValue:
    session = db_session()
    deliveries = session.scalars(
        select(WebhookDelivery)
        .options(selectinload(WebhookDelivery.attempt_log), selectinload(WebhookDelivery.webhook))
        .order_by(WebhookDelivery.id.desc())
        .limit(RECENT_DELIVERIES)
    ).all()
    return (
        render_template(
            "webhooks/index.html",
            webhooks=session.scalars(select(Webhook).order_by(Webhook.id)).all(),
            hosts=session.scalars(select(WebhookAllowedHost).order_by(WebhookAllowedHost.host)),
            deliveries=deliveries,
            event_types=_event_types(),
            errors=errors or {},
            values=values or {"events": []},
            new_secret=new_secret,
        ),
        status,
    )


def _actor() -> str | None:
    user = current_user()
    return user.username if user else None


class WebhookForm(PanelForm):
    """A new webhook: its URL and the events it receives (others are left out)."""

    url = TextField(max_length=MAX_INPUT)
    events = ChoiceListField(coerce=str)


class SwitchForm(PanelForm):
    enabled = FlagField()


class HostForm(PanelForm):
    """A host webhooks may reach although it is internal."""

    host = TextField(max_length=MAX_INPUT)


@bp.get("/")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/")
def add_webhook() -> ResponseReturnValue:
    known = list(_event_types())
    form = WebhookForm()
    form.events.choices = [(name, name) for name in known]
    if not form.validate():
        return _page(form.messages, form.values, status=422)
    url, events = form.url.data, form.events.data
    session = db_session()
    try:
        webhook = register_webhook(session, url, events, known, _actor())
    except WebhookError as exc:
        session.rollback()
        values = {"url": url, "events": events}
        return _page({exc.field: _error_text(exc), "form": None}, values, status=422)
    record_audit(session, _actor(), "webhook.create", "webhook", webhook.id, webhook.url)
    session.commit()
    return _page(new_secret=(webhook.url, webhook.secret))


@bp.post("/<int:webhook_id>/enabled")
def switch_webhook(webhook_id: int) -> ResponseReturnValue:
    session = db_session()
    webhook = session.get(Webhook, webhook_id) or abort(404)
    webhook.enabled = SwitchForm().enabled.data
    action = "webhook.enable" if webhook.enabled else "webhook.disable"
    record_audit(session, _actor(), action, "webhook", webhook.id, webhook.url)
    session.commit()
    flash(t("webhooks." + ("enabled_now" if webhook.enabled else "disabled_now")), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/<int:webhook_id>/delete")
def remove_webhook(webhook_id: int) -> ResponseReturnValue:
    session = db_session()
    webhook = session.get(Webhook, webhook_id) or abort(404)
    record_audit(session, _actor(), "webhook.delete", "webhook", webhook.id, webhook.url)
    delete_webhook(session, webhook_id)
    session.commit()
    flash(t("webhooks.deleted"), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/hosts")
def add_host() -> ResponseReturnValue:
    form = HostForm()
    if not form.validate():
        return _page(form.messages, {**form.values, "events": []}, status=422)
    host = form.host.data
    session = db_session()
    try:
        allowed = allow_host(session, host, _actor())
    except WebhookError as exc:
        session.rollback()
        return _page(
            {"host": _error_text(exc), "form": None}, {"host": host, "events": []}, status=422
        )
    record_audit(session, _actor(), "webhook.allow_host", "webhook_host", allowed.id, allowed.host)
    session.commit()
    flash(t("webhooks.host_allowed", host=allowed.host), "success")
    return redirect(url_for("webhooks.index"))


@bp.post("/hosts/<int:host_id>/delete")
def remove_host(host_id: int) -> ResponseReturnValue:
    session = db_session()
    allowed = session.get(WebhookAllowedHost, host_id) or abort(404)
    record_audit(session, _actor(), "webhook.forbid_host", "webhook_host", host_id, allowed.host)
    session.execute(delete(WebhookAllowedHost).where(WebhookAllowedHost.id == host_id))
    session.commit()
    flash(t("webhooks.host_removed", host=allowed.host), "success")
    return redirect(url_for("webhooks.index"))
