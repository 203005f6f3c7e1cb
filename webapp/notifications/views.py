"""The user's notifications (the outbox rows addressed to them), newest first, with a link to
what each is about; marking one or all as read; the page a notification e-mail links
(``core.notifications.OPEN_PATH``); and the unread count every page's top bar shows
(``unread_notifications`` in templates, one indexed count per page)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select, update
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.messages import stored
from core.models import Notification, Role, Run
from core.notifications import OPEN_PATH
from webapp.context import current_user, db_session, get_runtime
from webapp.editing import acting_user, username
from webapp.forms import FlagField, PanelForm
from webapp.i18n import known, t, tn
from webapp.pagination import page_arguments, paginate
from webapp.security import role_required

bp = Blueprint("notifications", __name__, url_prefix="/notifications", template_folder="templates")

PAGE_SIZE = 25
OBJECT_PAGES = {
    "approval": ("approvals.approval", "approval_id"),
    "delivery": ("deliveries.delivery", "delivery_id"),
    "budget": ("budgets.budget", "budget_id"),
    "stock_line": ("stocks.line", "line_id"),
    "campaign": ("plans.campaign", "campaign_id"),
}
"""Where a notification about ("delivery", 12) links to; one about ("run", 5) links to the
run's page (where a run waiting for its confirmation is confirmed)."""


def unread_count() -> int:
    user = current_user()
    if user is None:
        return 0
    return (
        db_session().scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


@bp.app_context_processor
def notification_context() -> dict[str, Any]:
    return {"unread_notifications": unread_count}


def object_url(notification: Notification) -> str | None:
    if notification.object_type == "run" and notification.object_id is not None:
        run = db_session().get(Run, notification.object_id)
        return (
            None
            if run is None
            else url_for("campaigns.run", campaign_id=run.campaign_id, run_id=run.id)
        )
    page = OBJECT_PAGES.get(notification.object_type or "")
    if page is None or notification.object_id is None:
        return None
    endpoint, argument = page
    try:
        return url_for(endpoint, **{argument: notification.object_id})
    except BuildError:  # an area a plugin disabled
        return None


def kind_label(kind: str) -> str:
    key = f"notifications.kind.{kind}"
    return t(key) if known(key) else kind


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    unread_only = request.args.get("unread") == "1"
    query = (
        select(Notification)
        .where(Notification.user_id == acting_user().id)
        .order_by(Notification.id.desc())
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    number, _size = page_arguments(request.args)
    return render_template(
        "notifications/index.html",
        page=paginate(db_session(), query, number, PAGE_SIZE),
        unread_only=unread_only,
        object_url=object_url,
        kind_label=kind_label,
    )


@bp.get(OPEN_PATH.format(id="<int:notification_id>").removeprefix(bp.url_prefix or ""))
@role_required(Role.VIEWER)
def open_notification(notification_id: int) -> Response:
    """The link of a notification e-mail: marks it read and opens what it is about (the list
    when that has no page); a visitor not logged in comes back here after logging in."""
    notification = _own(notification_id)
    _mark_read(notification)
    return redirect(object_url(notification) or url_for(".index"))


@bp.post("/<int:notification_id>/read")
@role_required(Role.VIEWER)
def mark_read(notification_id: int) -> Response:
    _mark_read(_own(notification_id))
    flash(t("notifications.marked"), "success")
    return redirect(_back())


def _own(notification_id: int) -> Notification:
    """The current user's notification; 404 for another's, so nobody learns which exist."""
    notification = db_session().get(Notification, notification_id)
    if notification is None or notification.user_id != acting_user().id:
        abort(404)
    return notification


def _mark_read(notification: Notification) -> None:
    if notification.read_at is not None:
        return
    session = db_session()
    notification.read_at = get_runtime().clock.now()
    record_audit(
        session,
        username(),
        "notification.read",
        "notification",
        notification.id,
        notification.subject[:200],
    )
    session.commit()


@bp.post("/read-all")
@role_required(Role.VIEWER)
def mark_all_read() -> Response:
    session = db_session()
    count = session.execute(
        update(Notification)
        .where(Notification.user_id == acting_user().id, Notification.read_at.is_(None))
        .values(read_at=get_runtime().clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    record_audit(
        session,
        username(),
        "notification.read_all",
        "user",
        acting_user().id,
        stored.plural(
            "{count} notification marked as read",
            "{count} notifications marked as read",
            count=count,
        ),
    )
    session.commit()
    flash(tn("notifications.all_marked", count), "success")
    return redirect(_back())


class BackForm(PanelForm):
    """Whether the list the user came from shows only the unread notifications."""

    unread = FlagField()


def _back() -> str:
    unread = BackForm().unread.data
    return url_for(".index", **({"unread": "1"} if unread else {}))
