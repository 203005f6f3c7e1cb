"""The dashboard at "/": a greeting, the user's role, the navigation, and a warning when
a background workflow is stopped (campaign processes stall until it runs again)."""

from __future__ import annotations

from flask import Blueprint, render_template

from core.workflows import stopped_workflows
from webapp.context import current_user, db_session, get_plugins, get_runtime
from webapp.dashboard.processes import process_panels

bp = Blueprint("dashboard", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    return render_template(
        "dashboard/index.html",
        user=current_user(),
        stopped_workflows=stopped_workflows(db_session(), get_plugins()),
        processes=process_panels(db_session(), current_user(), get_runtime().clock.now()),
    )
