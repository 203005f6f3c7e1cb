"""The Runs tab: every run with its counts and progress, per-recipient results, the run's
files, the archived letters, and cancel / resume / retry / delete archive entries.

A run started here stops after targeting and its page shows the confirmation: the
recipients it would reach, the skips by reason, the channel and the cost estimate, with
"Send to N recipients" (which posts N, see ``core.engine.runs.confirm_run``) and Discard.

``run_status`` is the small JSON endpoint ``run_progress.js`` polls while a run is active;
without JavaScript the page shows the state as of its last reload.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.documents.archive import delete_run_documents, open_store
from core.documents.run_files import RunFiles
from core.engine import hourly_limit
from core.engine.campaigns import CampaignConfig, build_plugins
from core.engine.confirmation import DRY_RUN_DETAIL, PREVIEW_PREFIX, Confirmation, confirmation
from core.engine.context import RunContext
from core.engine.runs import (
    QueueDeferredError,
    RunError,
    cancel_run,
    discard_run,
    resume_run,
    retry_failed,
)
from core.engine.sending_window import SendingWindow
from core.messages import stored
from core.models import (
    ACTIVE_RUN_STATES,
    ArchivedDocument,
    ItemStatus,
    Role,
    Run,
    RunItem,
    RunState,
)
from core.plugin_base import Channel, record_name
from core.query import ENTITIES, load_records
from webapp import campaign_operations as operations
from webapp.campaigns.views import (
    bp,
    list_args,
    load_campaign,
    plugin_title,
    render_screen,
    username,
)
from webapp.context import db_session, get_plugins, get_runtime, get_settings
from webapp.formatting import content_disposition
from webapp.forms import (
    ChoiceField,
    FlagField,
    IdListField,
    PanelForm,
    TextField,
    WholeNumberField,
    problem_text,
)
from webapp.i18n import item_detail, stored_text, t, tn
from webapp.pagination import page_arguments, paginate
from webapp.run_feedback import Feedback, feedback_counts, feedback_filter
from webapp.security import role_required

log = logging.getLogger(__name__)

RUNS_PAGE_SIZE = 20
ITEMS_PAGE_SIZE = 50
DOCUMENTS_PAGE_SIZE = 50
SKIP_REASONS_SHOWN = 20
ITEM_STATUSES = tuple(status.value for status in ItemStatus)
FEEDBACK = tuple(kind.value for kind in Feedback)


@dataclass(frozen=True)
class Progress:
    """What the progress bar and the counters show."""

    state: str
    active: bool
    targeted: int
    settled: int
    percent: int
    """0 to 100; -1 while targeting has not counted the recipients yet."""
    counts: dict[str, int]

    @classmethod
    def of(cls, run: Run) -> Progress:
        counts = {
            "targeted": run.targeted,
            "done": run.done,
            "failed": run.failed,
            "skipped": run.skipped,
            "unclear": run.unclear,
            "held_out": run.held_out,
        }
        settled = run.done + run.failed + run.skipped + run.unclear + run.held_out
        # a run awaiting confirmation does nothing until a person decides: the page stops
        # following it and shows the confirmation instead
        active = run.state in ACTIVE_RUN_STATES and run.state != RunState.AWAITING_CONFIRMATION
        if run.state is RunState.AWAITING_CONFIRMATION:
            percent = 0  # nothing is worked on before the person's "send"
        elif run.targeted:
            percent = min(100, settled * 100 // run.targeted)
        elif run.state in (RunState.QUEUED, RunState.TARGETING):
            percent = -1
        else:
            percent = 100
        if active and percent == 100:
            percent = 99  # finishing: the collection file is not there yet
        return cls(run.state.value, active, run.targeted, settled, percent, counts)

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "state_label": t(f"runs.state.{self.state}"),
            "active": self.active,
            "percent": self.percent,
            "settled": self.settled,
            **self.counts,
        }


def load_run(campaign_id: int, run_id: int) -> Run:
    run = db_session().get(Run, run_id)
    if run is None or run.campaign_id != campaign_id:
        abort(404)
    return run


def run_file_store() -> RunFiles:
    return RunFiles(get_plugins(), get_settings())


def run_files(run: Run) -> list[tuple[str, int]]:
    """The files the run kept (names and sizes), from its store or, for runs from before
    run files were stored, from its directory on this machine."""
    return run_file_store().listing(db_session(), run.id)


@bp.get("/<int:campaign_id>/runs")
@role_required(Role.VIEWER)
def runs(campaign_id: int) -> str:
    campaign = load_campaign(campaign_id)
    number, _size = page_arguments(request.args)
    page = paginate(
        db_session(),
        select(Run).where(Run.campaign_id == campaign.id).order_by(Run.number.desc()),
        number,
        RUNS_PAGE_SIZE,
    )
    return render_screen(
        "campaigns/runs.html",
        campaign,
        "runs",
        runs=page,
        progress={run.id: Progress.of(run) for run in page.items},
    )


@dataclass(frozen=True)
class ItemRow:
    item: RunItem
    name: str
    document_id: int | None
    number: str = ""
    """The record's number as people know it (a contact's "K-000043"); empty: it has none."""

    @property
    def contact_id(self) -> int | None:
        """The contact whose page the row links to; None for another kind of record."""
        return self.item.entity_id if self.item.entity == "contacts" and self.number else None


def _item_rows(run: Run, items: list[RunItem]) -> list[ItemRow]:
    """The page's ledger rows with the recipient's name, number and archived document."""
    session = db_session()
    by_entity: dict[str, list[int]] = {}
    for item in items:
        if item.entity_id is not None:
            by_entity.setdefault(item.entity, []).append(item.entity_id)
    names: dict[tuple[str, int], str] = {}
    numbers: dict[tuple[str, int], str] = {}
    for entity, ids in by_entity.items():
        if entity in ENTITIES:
            records = load_records(session, entity, ids)
            names |= {(entity, key): record_name(data) for key, data in records.items()}
            numbers |= {
                (entity, key): str(data["number"])
                for key, data in records.items()
                if data.get("number")
            }
        else:
            names |= _source_names(run, entity, ids)
    keys = [item.key for item in items]
    documents = (
        dict(
            session.execute(
                select(ArchivedDocument.source_key, ArchivedDocument.id).where(
                    ArchivedDocument.run_id == run.id, ArchivedDocument.source_key.in_(keys)
                )
            ).all()
        )
        if keys
        else {}
    )
    return [
        ItemRow(
            item,
            names.get((item.entity, item.entity_id), ""),
            documents.get(item.key),
            numbers.get((item.entity, item.entity_id), ""),
        )
        for item in items
    ]


def _source_names(run: Run, entity: str, ids: list[int]) -> dict[tuple[str, int], str]:
    """Names of records of an entity the core does not know, as the run's data source
    loads and names them; none where the source cannot be asked now (its server is down)."""
    try:
        source = build_plugins(get_plugins(), CampaignConfig.from_snapshot(run.config)).datasource
        context = RunContext(get_runtime(), db_session(), run.campaign_id, "", run.id, Channel.NONE)
        loaded = source.load(context, ids)
        return {(entity, key): source.display_name(recipient) for key, recipient in loaded.items()}
    except Exception as exc:  # a plugin's own failure must not break the results page
        log.warning("run %s: names of %s records not loaded: %r", run.id, entity, exc)
        return {}


def _window_opens(run: Run, window: SendingWindow | None) -> datetime | None:
    """When a running run's closed sending window opens again; None while it may send."""
    if window is None or run.state != RunState.RUNNING:
        return None
    return window.waits_until(get_runtime().clock.now(), ZoneInfo(get_settings().timezone))


def _hourly_resumes(session: Session, run: Run) -> datetime | None:
    """When a running run goes on sending if its campaign's hourly limit is reached now."""
    limit, action = run.config.get("hourly_limit"), run.config.get("action")
    actions = get_plugins().actions
    if not limit or run.dry_run or run.state != RunState.RUNNING or action not in actions:
        return None
    if not actions.get(action).external_effects:  # only sending actions keep to it
        return None
    return hourly_limit.resumes_at(session, run.campaign_id, limit, get_runtime().clock.now())


@bp.get("/<int:campaign_id>/runs/<int:run_id>")
@role_required(Role.VIEWER)
def run(campaign_id: int, run_id: int) -> str:
    campaign = load_campaign(campaign_id)
    run = load_run(campaign.id, run_id)
    session = db_session()
    status = request.args.get("status", "")
    query = select(RunItem).where(RunItem.run_id == run.id)
    if status in ITEM_STATUSES:
        query = query.where(RunItem.status == status)
    feedback = request.args.get("feedback", "")
    if feedback in FEEDBACK:
        query = query.where(feedback_filter(run.id, Feedback(feedback)))
    number, _size = page_arguments(request.args)
    items = paginate(session, query.order_by(RunItem.id), number, ITEMS_PAGE_SIZE)
    documents = paginate(
        session,
        select(ArchivedDocument)
        .where(ArchivedDocument.run_id == run.id)
        .order_by(ArchivedDocument.id),
        page_arguments({"page": request.args.get("documents_page", 1)})[0],
        DOCUMENTS_PAGE_SIZE,
    )
    # a dry run's previews are one reason, the dry run, not one reason per rendered file
    reason = case((RunItem.detail.startswith(PREVIEW_PREFIX), DRY_RUN_DETAIL), else_=RunItem.detail)
    skip_reasons = session.execute(
        select(reason, func.count())
        .where(RunItem.run_id == run.id, RunItem.status == ItemStatus.SKIPPED)
        .group_by(reason)
        .order_by(func.count().desc(), reason)
        .limit(SKIP_REASONS_SHOWN)
    ).all()
    window = SendingWindow.from_json(run.config.get("sending_window"))
    return render_screen(
        "campaigns/run.html",
        campaign,
        "runs",
        run=run,
        action_title=plugin_title(get_plugins().actions, run.config.get("action", "")),
        held_back=get_plugins().held_back(session, [run.id]).get(run.id),
        window=window,
        window_opens=_window_opens(run, window),
        hourly_resumes=_hourly_resumes(session, run),
        progress=Progress.of(run),
        items=items,
        rows=_item_rows(run, items.items),
        status=status if status in ITEM_STATUSES else "",
        item_statuses=ITEM_STATUSES,
        files=run_files(run),
        documents=documents,
        skip_reasons=skip_reasons,
        feedback=feedback if feedback in FEEDBACK else "",
        feedback_kinds=FEEDBACK,
        feedback_counts=feedback_counts(session, [run.id])[run.id],
        receipts_expected=_receipts_expected(run),
        confirmation=_confirmation(run),
    )


def _receipts_expected(run: Run) -> bool:
    """Whether the run's messages get delivery receipts (SMS): its sent rows without one
    are shown pending."""
    return get_plugins().run_channel(run.config) is Channel.MOBILE


def _confirmation(run: Run) -> Confirmation | None:
    if run.state != RunState.AWAITING_CONFIRMATION:
        return None
    return confirmation(db_session(), get_plugins(), run)


@bp.app_template_filter("skip_reason")
def skip_reason(detail: str | None) -> str:
    """A skip reason in the user's language (``core.reach`` reasons), else as recorded."""
    return item_detail(detail) if detail else t("runs.confirm.no_reason")


class ConfirmForm(PanelForm):
    count = WholeNumberField(required=True)
    """How many recipients the person saw on the page when pressing "Send"."""


@bp.post("/<int:campaign_id>/runs/<int:run_id>/confirm")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm(campaign_id: int, run_id: int) -> Response:
    """The person's "Send to N recipients": N must still be the count the run would reach."""
    campaign = load_campaign(campaign_id)
    run = load_run(campaign.id, run_id)
    back = redirect(url_for(".run", campaign_id=campaign.id, run_id=run.id, **list_args()))
    form = ConfirmForm()
    if not form.validate():
        flash(t("runs.confirm.bad_count", value=form.count.text), "error")
        return back
    count = form.count.data
    deferred = None
    session = db_session()
    try:
        operations.confirm(get_runtime(), session, campaign, run, username(), count)
    except RunError as exc:
        flash(t("runs.confirm.refused", reason=stored_text(exc.text)), "error")
        return back
    except QueueDeferredError as exc:  # confirmed: the scheduler hands it over once Redis answers
        deferred = exc
    session.commit()
    if deferred is not None:
        flash(t("runs.deferred", number=run.number, reason=str(deferred)), "warning")
    else:
        flash(tn("runs.confirm.done", count, number=run.number), "success")
    return back


@bp.post("/<int:campaign_id>/runs/<int:run_id>/discard")
@role_required(Role.CAMPAIGN_MANAGER)
def discard(campaign_id: int, run_id: int) -> Response:
    return _run_action(campaign_id, run_id, "discard", discard_run)


@bp.get("/<int:campaign_id>/runs/<int:run_id>/status")
@role_required(Role.VIEWER)
def run_status(campaign_id: int, run_id: int) -> Response:
    return jsonify(Progress.of(load_run(campaign_id, run_id)).as_json())


def _run_action(campaign_id: int, run_id: int, verb: str, act) -> Response:
    campaign = load_campaign(campaign_id)
    run = load_run(campaign.id, run_id)
    try:
        result = act(get_runtime(), run.id)
    except RunError as exc:
        flash(t(f"runs.{verb}.refused", reason=stored_text(exc.text)), "error")
    except QueueDeferredError as exc:  # saved: the scheduler hands it over once Redis answers
        _record_run_action(campaign, run, verb, "deferred")
        flash(t("runs.deferred", number=run.number, reason=str(exc)), "warning")
    except RedisError as exc:
        flash(t("campaigns.start.queue_down", reason=str(exc)), "error")
    else:
        _record_run_action(campaign, run, verb, result)
        done = f"runs.{verb}.done"
        if isinstance(result, int):  # a retry: the recipients it handed back, counted
            flash(tn(done, result, number=run.number), "success")
        else:
            flash(t(done, number=run.number), "success")
    return redirect(url_for(".run", campaign_id=campaign.id, run_id=run.id, **list_args()))


def _record_run_action(campaign, run, verb: str, result: object) -> None:
    session = db_session()
    operations.record_run_action(session, campaign, run, verb, username(), result)
    session.commit()


@bp.post("/<int:campaign_id>/runs/<int:run_id>/cancel")
@role_required(Role.CAMPAIGN_MANAGER)
def cancel(campaign_id: int, run_id: int) -> Response:
    return _run_action(campaign_id, run_id, "cancel", cancel_run)


@bp.post("/<int:campaign_id>/runs/<int:run_id>/resume")
@role_required(Role.CAMPAIGN_MANAGER)
def resume(campaign_id: int, run_id: int) -> Response:
    return _run_action(campaign_id, run_id, "resume", resume_run)


class RetryForm(PanelForm):
    """Retry the failed items, and with "include_unclear" those that may have gone out."""

    include_unclear = FlagField()


@bp.post("/<int:campaign_id>/runs/<int:run_id>/retry")
@role_required(Role.CAMPAIGN_MANAGER)
def retry(campaign_id: int, run_id: int) -> Response:
    include_unclear = RetryForm().include_unclear.data
    return _run_action(
        campaign_id,
        run_id,
        "retry",
        partial(retry_failed, include_unclear=include_unclear),
    )


@bp.get("/<int:campaign_id>/runs/<int:run_id>/files/<path:name>")
@role_required(Role.VIEWER)
def run_file(campaign_id: int, run_id: int, name: str) -> Response:
    """A file of the run, streamed from its store; only names the run has."""
    response = run_file_download(load_run(campaign_id, run_id), name)
    if response is None:
        abort(404)
    return response


def run_file_download(run: Run, name: str) -> Response | None:
    """The run's file ``name`` streamed from its store as an attachment; None if the run has
    no such file (the panel and the API answer 404 their own way)."""
    files = run_file_store()
    try:
        size = dict(files.listing(db_session(), run.id))[name]
        chunks = files.read(db_session(), run.id, name)
    except (KeyError, ValueError, LookupError, OSError):
        return None
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = Response(chunks, mimetype=mimetype, direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    filename = name.rsplit("/", 1)[-1]
    response.headers["Content-Disposition"] = content_disposition("attachment", filename)
    return response


class ArchiveDeleteForm(PanelForm):
    """The run page's deletion of archive entries: the ticked ones or all, and why."""

    scope = ChoiceField(coerce=str)
    document_ids = IdListField()
    reason = TextField(max_length=500)


@bp.post("/<int:campaign_id>/runs/<int:run_id>/archive/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_archive(campaign_id: int, run_id: int) -> Response:
    campaign = load_campaign(campaign_id)
    run = load_run(campaign.id, run_id)
    back = url_for(".run", campaign_id=campaign.id, run_id=run.id, **list_args())
    form = ArchiveDeleteForm()
    form.scope.choices = [("selected", ""), ("all", "")]
    if not form.validate():
        flash(problem_text(form, {"reason": t("runs.archive.reason")}), "error")
        return redirect(back)
    ids = None if form.scope.data == "all" else form.document_ids.data
    if ids is not None and not ids:
        flash(t("runs.archive.none_selected"), "error")
        return redirect(back)
    session = db_session()
    stores = partial(open_store, get_plugins(), get_settings())
    try:
        entry = delete_run_documents(
            session, stores, run.id, ids, by=username(), reason=form.reason.data
        )
    except ValueError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    record_audit(
        session,
        username(),
        "archive.delete",
        "run",
        run.id,
        stored.plural(
            "{campaign}: run #{number}, {count} document",
            "{campaign}: run #{number}, {count} documents",
            campaign=campaign.name,
            number=str(run.number),
            count=entry.count,
        ),
        {"campaign_id": campaign.id, "document_ids": entry.document_ids, "reason": entry.reason},
    )
    session.commit()
    flash(tn("runs.archive.deleted", entry.count), "success")
    return redirect(back)
