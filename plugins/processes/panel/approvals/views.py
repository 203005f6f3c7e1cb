"""The approvals inbox: what waits for the reviewer (assigned to them, their role or their
group), with the deadline and the delivery's stock and budget warnings; the answer form; and
the log of every approval event.

The first answer wins in the database (``plugins.processes.approvals``); a second reviewer is
told who answered and when, and a reviewer who looked at an older round is told it was resubmitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.engine.confirmation import PREVIEW_PREFIX, would_reach
from core.messages import stored_for
from core.models import Role, Run, RunItem, User
from plugins.processes.approvals import (
    AlreadyAnsweredError,
    ApprovalError,
    NotAReviewerError,
    approve,
    may_answer,
    pending_for,
    reject,
)
from plugins.processes.budget_checks import budget_warnings
from plugins.processes.consumption import (
    AnalysedCost,
    DeliveryCounts,
    FileCost,
    analysed_cost,
    delivery_counts,
    file_cost,
    stock_warnings,
)
from plugins.processes.costs import effective_cost
from plugins.processes.models import (
    Approval,
    ApprovalEvent,
    ApprovalState,
    ApprovalStep,
    Delivery,
)
from plugins.processes.models.approvals import DIRECT_MAIL_STEPS
from plugins.processes.process_runs import find_run
from plugins.processes.texts import STEP_NAMES
from webapp import (
    PanelForm,
    TextField,
    WholeNumberField,
    acting_user,
    db_session,
    format_datetime,
    get_or_404,
    get_runtime,
    page_arguments,
    paginate,
    role_required,
    run_file_store,
    t,
    username,
)

bp = Blueprint("approvals", __name__, url_prefix="/approvals", template_folder="templates")
stored = stored_for(__name__)

LOG_PAGE_SIZE = 50


def _user_names() -> dict[int, str]:
    return dict(db_session().execute(select(User.id, User.username)).all())


@bp.get("/")
@role_required(Role.REVIEWER)
def inbox() -> str:
    session = db_session()
    waiting = pending_for(session, acting_user())
    warnings = {
        approval.id: len(stock_warnings(session, approval.delivery_id))
        + len(budget_warnings(session, approval.delivery_id))
        for approval in waiting
    }
    return render_template(
        "approvals/inbox.html",
        waiting=waiting,
        warnings=warnings,
        user_names=_user_names(),
        now=get_runtime().clock.now(),
    )


PREVIEWS_SHOWN = 5
PREVIEW_STEPS = (ApprovalStep.TARGETING, ApprovalStep.CONTENT)


@dataclass(frozen=True)
class Preview:
    """What the delivery would send one sample recipient, as its dry run rendered it."""

    key: str
    text: str
    file: str | None = None
    """A rendered letter: its name among the dry run's files."""


def _previews(approval: Approval) -> tuple[Run | None, list[Preview]]:
    """The dry run operationMgt started for this round (the delivery's action rendered for
    the first recipients) and its previews; none while it has not run."""
    if approval.step not in PREVIEW_STEPS or approval.submitted_at is None:
        return None, []
    session = db_session()
    delivery = approval.delivery
    run = find_run(
        session, delivery.campaign_id, approval.submitted_at, delivery_id=delivery.id, dry_run=True
    )
    if run is None:
        return None, []
    items = session.scalars(
        select(RunItem)
        .where(RunItem.run_id == run.id, RunItem.detail.startswith(PREVIEW_PREFIX))
        .order_by(RunItem.id)
        .limit(PREVIEWS_SHOWN)
    ).all()
    files = run_file_store()
    stored = dict(files.listing(session, run.id))
    legacy = files.legacy_directory(run.id)
    previews = []
    for item in items:
        text = item.detail.removeprefix(PREVIEW_PREFIX)
        name = text
        if text.startswith("/") and Path(text).is_relative_to(legacy):  # a run from before
            name = Path(text).relative_to(legacy).as_posix()
        found = name.endswith(".pdf") and name in stored
        previews.append(Preview(item.key, "" if found else text, name if found else None))
    return run, previews


def _cost_tile(delivery: Delivery, priced: FileCost | AnalysedCost | None) -> tuple[str, Decimal]:
    """The cost tile's label and amount: the invoice once entered; else the price this page
    shows below (of the file, or of the analysed recipients), which budgetMgt books on its
    next pass; else what the books hold, calculated or estimated, named as such."""
    if delivery.real_cost is not None:
        return "deliveries.field.real_cost", delivery.real_cost
    if priced is not None and priced.price.problem is None:
        label = "approval.file_cost" if isinstance(priced, FileCost) else "approval.analysed_cost"
        return label, priced.price.total
    amount = effective_cost(None, delivery.calculated_cost, delivery.estimated_cost)
    if delivery.calculated_cost is not None:
        return "deliveries.field.calculated_cost", amount
    return "deliveries.field.estimated_cost", amount


def _render_approval(approval: Approval, values: dict[str, Any], errors: dict[str, str]) -> str:
    session = db_session()
    delivery = approval.delivery
    delivery_approvals = session.scalars(
        select(Approval).where(Approval.delivery_id == delivery.id)
    ).all()
    log = sorted(
        ((event, other.step) for other in delivery_approvals for event in other.events),
        key=lambda entry: (entry[0].at, entry[0].id),
        reverse=True,
    )
    preview_run, previews = _previews(approval)
    file_step = approval.step in DIRECT_MAIL_STEPS
    file_price = file_cost(session, delivery.id) if file_step else None
    analysed = None if file_price else analysed_cost(session, delivery.id)
    cost_label, cost = _cost_tile(delivery, file_price or analysed)
    return render_template(
        "approvals/approval.html",
        approval=approval,
        preview_run=preview_run,
        preview_reach=would_reach(session, preview_run) if preview_run else None,
        previews=previews,
        letters=(file_price.letters if file_price else 0) if file_step else None,
        delivery=delivery,
        campaign=delivery.campaign,
        counts=delivery_counts(session, [delivery.id]).get(delivery.id, DeliveryCounts()),
        cost_label=cost_label,
        cost=cost,
        stock_warnings=stock_warnings(session, delivery.id),
        budget_warnings=budget_warnings(session, delivery.id),
        file_price=file_price,
        analysed=analysed,
        may_answer=approval.state is ApprovalState.PENDING
        and may_answer(session, approval, acting_user()),
        log=log,
        user_names=_user_names(),
        now=get_runtime().clock.now(),
        values=values,
        errors=errors,
    )


class AnswerForm(PanelForm):
    answer = TextField()
    comment = TextField(max_length=2000)
    seen_round = WholeNumberField(required=True, minimum=1)
    """The approval's round the reviewer saw; a resubmission meanwhile refuses the answer."""


@bp.get("/<int:approval_id>")
@role_required(Role.REVIEWER)
def approval(approval_id: int) -> str:
    approval = get_or_404(Approval, approval_id)
    return _render_approval(approval, {"seen_round": approval.round}, {})


@bp.post("/<int:approval_id>/answer")
@role_required(Role.REVIEWER)
def answer(approval_id: int) -> str | tuple[str, int] | Response:
    session = db_session()
    approval = get_or_404(Approval, approval_id)
    form = AnswerForm()
    form.validate()
    verb, comment, seen_round = form.answer.data, form.comment.data, form.seen_round.data
    if verb not in ("approve", "reject"):
        form.add_error("form", t("forms.not_a_choice", value=verb))
    elif verb == "reject" and not comment:
        form.add_error("comment", t("approval.reject_needs_comment"))
    if not form.ok:
        return _render_approval(approval, form.values, form.messages), 422
    user, now = acting_user(), get_runtime().clock.now()
    delivery = approval.delivery
    try:
        if verb == "approve":
            approve(session, approval.id, user, now, comment, seen_round)
        else:
            reject(session, approval.id, user, now, comment, seen_round)
    except NotAReviewerError:
        session.rollback()
        form.add_error("form", t("approval.not_reviewer"))
        return _render_approval(approval, form.values, form.messages), 403
    except ApprovalError as exc:
        session.rollback()
        approval = get_or_404(Approval, approval_id)
        form.add_error("form", _refusal(approval, seen_round, exc))
        return _render_approval(approval, {"seen_round": approval.round}, form.messages), 409
    step = t(f"approvals.step.{approval.step.value}")
    record_audit(
        session,
        username(),
        f"approval.{verb}",
        "delivery",
        delivery.id,
        stored("{delivery}: {step}", delivery=delivery.label, step=STEP_NAMES[approval.step]),
        {"approval_id": approval.id, "round": seen_round, "comment": comment},
    )
    session.commit()
    message = "approval.approved" if verb == "approve" else "approval.rejected"
    flash(t(message, step=step, delivery=delivery.label), "success")
    return redirect(url_for(".inbox"))


def _refusal(approval: Approval, seen_round: int, error: ApprovalError) -> str:
    """Why the answer was not taken, in the user's language."""
    if not isinstance(error, AlreadyAnsweredError):
        return t("approval.not_pending")
    if approval.round != seen_round:
        return t("approval.resubmitted", round=approval.round)
    who = db_session().get(User, approval.answered_by_id) if approval.answered_by_id else None
    return t(
        "approval.already_answered",
        user=(who.display_name or who.username) if who else t("approvals.by_system"),
        at=format_datetime(approval.answered_at),
        state=t(f"approvals.state.{approval.state.value}"),
    )


@bp.get("/log")
@role_required(Role.REVIEWER)
def log() -> str:
    session = db_session()
    number, _size = page_arguments(request.args)
    query = (
        select(ApprovalEvent)
        .options(selectinload(ApprovalEvent.approval).selectinload(Approval.delivery))
        .order_by(ApprovalEvent.id.desc())
    )
    return render_template(
        "approvals/log.html",
        page=paginate(session, query, number, LOG_PAGE_SIZE),
        user_names=_user_names(),
    )
