"""The dashboard at "/": for now a greeting, the user's role and the navigation."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.context import current_user

bp = Blueprint("dashboard", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    return render_template("dashboard/index.html", user=current_user())
