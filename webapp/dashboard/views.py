"""The dashboard at "/": what needs attention now, as panels (``webapp.dashboard.panels``).

Built in: a warning when a background workflow is stopped (campaign processes stall until
it runs again), campaign runs in progress with their progress, the unsubscribe and bounce
rates of the latest runs, the failed background jobs (administrators) and the documents
archived last.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from core.events import DashboardPanel
from core.models import ACTIVE_RUN_STATES, ArchivedDocument, Campaign, Contact, Role, Run
from core.workflows.operating import stopped_workflows
from webapp.admin import jobs
from webapp.context import current_user, db_session, get_plugins
from webapp.dashboard.panels import BUILT_IN_PANELS, panels_for
from webapp.run_feedback import feedback_counts

bp = Blueprint("dashboard", __name__, template_folder="templates")

RECENT_DOCUMENTS = 8
ACTIVE_RUNS = 20
RECENT_RUNS = 8


def stopped_workflow_names() -> dict[str, Any] | None:
    names = stopped_workflows(db_session(), get_plugins())
    return {"names": names} if names else None


def active_runs() -> dict[str, Any]:
    rows = (
        db_session()
        .execute(
            select(Run, Campaign.name)
            .join(Campaign, Campaign.id == Run.campaign_id)
            .where(Run.state.in_(ACTIVE_RUN_STATES))
            .order_by(Run.created_at.desc(), Run.id.desc())
            .limit(ACTIVE_RUNS)
        )
        .all()
    )
    return {"runs": [(run, name) for run, name in rows]}


def failed_jobs() -> dict[str, Any]:
    try:
        return {"failed": jobs.failed_count(), "error": None}
    except jobs.QueuesUnavailable as exc:
        return {"failed": None, "error": str(exc)}


def recent_documents() -> dict[str, Any]:
    session = db_session()
    rows = session.execute(
        select(ArchivedDocument, Contact)
        .outerjoin(Contact, Contact.id == ArchivedDocument.contact_id)
        .order_by(ArchivedDocument.created_at.desc(), ArchivedDocument.id.desc())
        .limit(RECENT_DOCUMENTS)
    ).all()
    return {"documents": [(document, contact) for document, contact in rows]}


BUILT_IN_PANELS.extend(
    [
        DashboardPanel(
            "stopped_workflows",
            "dashboard/_stopped_workflows.html",
            stopped_workflow_names,
            placement="banner",
            order=0,
        ),
        DashboardPanel("active_runs", "dashboard/_active_runs.html", active_runs, order=10),
        DashboardPanel(
            "failed_jobs",
            "dashboard/_failed_jobs.html",
            failed_jobs,
            role=Role.ADMIN.value,
            placement="side",
            order=10,
        ),
        DashboardPanel(
            "recent_documents", "dashboard/_recent_documents.html", recent_documents, order=20
        ),
    ]
)


def run_feedback() -> dict[str, Any] | None:
    """The latest real runs that sent something, with their unsubscribe and bounce rates; a
    voided run counts nowhere (a rejected letter file never went out), and one a plugin
    still holds back (``runs_held_back``: a letter file not handed on) has sent nothing yet."""
    session = db_session()
    rows = session.execute(
        select(Run, Campaign.name)
        .join(Campaign, Campaign.id == Run.campaign_id)
        .where(Run.dry_run.is_(False), Run.superseded_at.is_(None), Run.done > 0)
        .order_by(Run.id.desc())
        .limit(RECENT_RUNS)
    ).all()
    held = get_plugins().held_back(session, (run.id for run, _ in rows))
    rows = [(run, name) for run, name in rows if run.id not in held]
    if not rows:
        return None
    counts = feedback_counts(session, [run.id for run, _ in rows])
    return {"runs": [(run, name, counts[run.id]) for run, name in rows]}


BUILT_IN_PANELS.append(
    DashboardPanel("run_feedback", "dashboard/_run_feedback.html", run_feedback, order=18)
)


@bp.get("/")
def index() -> str:
    user = current_user()
    return render_template(
        "dashboard/index.html",
        user=user,
        banners=panels_for(user, "banner"),
        main=panels_for(user, "main"),
        side=panels_for(user, "side"),
    )
