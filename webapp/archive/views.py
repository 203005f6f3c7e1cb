"""The document archive: search, view and download (checksum verified), selective deletion
with confirmation, and the log of deletions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.documents.archive import (
    DELETE_BATCH,
    ArchiveIntegrityError,
    delete_rows,
    delete_run_documents,
    open_store,
    read_document,
)
from core.documents.templating import LOCAL_TIME
from core.messages import stored
from core.models import (
    ArchivedDocument,
    ArchiveDeletion,
    Campaign,
    Contact,
    DocumentKind,
    Report,
    Role,
    Run,
)
from core.plugin_base import DocumentStore
from webapp.archive.viewing import INLINE_TYPES, email_view, is_email, is_text
from webapp.contacts.search import dialect_of, matching_contact_ids
from webapp.context import current_username, db_session, get_plugins, get_settings
from webapp.formatting import content_disposition
from webapp.forms import IdListField, PanelForm, TextField
from webapp.i18n import t, tn
from webapp.pagination import (
    date_argument,
    id_argument,
    page_arguments,
    paginate,
    search_argument,
)
from webapp.security import role_required

bp = Blueprint(
    "archive", __name__, url_prefix="/archive", template_folder="templates", static_folder="static"
)

MAX_SELECTED = 5000
"""Documents one confirmation page deletes; a whole run goes through its own button."""


@dataclass(frozen=True)
class ArchiveFilters:
    contact: str = ""
    campaign: int | None = None
    run: int | None = None
    report: int | None = None
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ArchiveFilters:
        kinds = [kind.value for kind in DocumentKind]
        return cls(
            contact=search_argument(args, "contact"),
            campaign=id_argument(args, "campaign"),
            run=id_argument(args, "run"),
            report=id_argument(args, "report"),
            kind=args.get("kind", "") if args.get("kind", "") in kinds else "",
            date_from=date_argument(args, "from"),
            date_to=date_argument(args, "to"),
        )

    @property
    def active(self) -> bool:
        return any(
            value not in ("", None)
            for value in (
                self.contact,
                self.campaign,
                self.run,
                self.report,
                self.kind,
                self.date_from,
                self.date_to,
            )
        )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_TIME)


def document_query(filters: ArchiveFilters, dialect: str) -> Select[tuple[ArchivedDocument]]:
    """Newest first: ``ix_archived_documents_created_at_id`` (or the contact's index) serves it;
    the contact is found as the contact list's search finds it."""
    query = select(ArchivedDocument).order_by(
        ArchivedDocument.created_at.desc(), ArchivedDocument.id.desc()
    )
    if filters.contact:
        matching = matching_contact_ids(filters.contact, dialect)
        query = query.where(ArchivedDocument.contact_id.in_(matching))
    if filters.campaign is not None:
        query = query.where(ArchivedDocument.campaign_id == filters.campaign)
    if filters.run is not None:
        query = query.where(ArchivedDocument.run_id == filters.run)
    if filters.report is not None:
        query = query.where(ArchivedDocument.report_id == filters.report)
    if filters.kind:
        query = query.where(ArchivedDocument.kind == DocumentKind(filters.kind))
    if filters.date_from is not None:
        query = query.where(ArchivedDocument.created_at >= _local_midnight(filters.date_from))
    if filters.date_to is not None:
        end = _local_midnight(filters.date_to + timedelta(days=1))
        query = query.where(ArchivedDocument.created_at < end)
    return query


def _names(model: type, ids: set[int], column: str = "name") -> dict[int, str]:
    if not ids:
        return {}
    rows = db_session().execute(select(model.id, getattr(model, column)).where(model.id.in_(ids)))
    return {key: value for key, value in rows}


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    filters = ArchiveFilters.from_args(request.args)
    query = document_query(filters, dialect_of(session))
    page = paginate(session, query, *page_arguments(request.args))
    documents = page.items
    contacts = {
        row.id: row
        for row in session.scalars(
            select(Contact).where(Contact.id.in_({d.contact_id for d in documents if d.contact_id}))
        )
    }
    run_numbers = _names(Run, {d.run_id for d in documents if d.run_id}, "number")
    return render_template(
        "archive/list.html",
        page=page,
        filters=filters,
        contacts=contacts,
        campaign_names=_names(Campaign, {d.campaign_id for d in documents if d.campaign_id}),
        run_numbers=run_numbers,
        campaigns=session.execute(select(Campaign.id, Campaign.name).order_by(Campaign.name)).all(),
        reports=session.execute(select(Report.id, Report.name).order_by(Report.name)).all(),
        kinds=[kind.value for kind in DocumentKind],
    )


def _document(document_id: int) -> ArchivedDocument:
    document = db_session().get(ArchivedDocument, document_id)
    if document is None:
        abort(404)
    return document


class DocumentUnreadable(Exception):
    """The stored bytes are missing or do not match the checksum recorded at archiving."""

    def __init__(self, document: ArchivedDocument, reason: str):
        super().__init__(reason)
        self.document = document
        self.reason = reason


def _read(document: ArchivedDocument) -> bytes:
    try:
        store = open_store(get_plugins(), get_settings(), document.store)
        return read_document(store, document)
    except ArchiveIntegrityError:
        raise DocumentUnreadable(document, t("archive.error.checksum")) from None
    except (OSError, LookupError, ValueError):
        raise DocumentUnreadable(document, t("archive.error.missing")) from None


@bp.errorhandler(DocumentUnreadable)
def unreadable(error: DocumentUnreadable) -> ResponseReturnValue:
    page = render_template("archive/unreadable.html", document=error.document, reason=error.reason)
    return page, 409


@bp.get("/<int:document_id>")
@role_required(Role.VIEWER)
def detail(document_id: int) -> str:
    session = db_session()
    document = _document(document_id)
    data = _read(document)
    view = None
    text = None
    if is_email(document.content_type, document.filename):
        view = email_view(data)
    elif is_text(document.content_type):
        text = data.decode("utf-8", "replace")
    return render_template(
        "archive/detail.html",
        document=document,
        contact=session.get(Contact, document.contact_id) if document.contact_id else None,
        campaign=session.get(Campaign, document.campaign_id) if document.campaign_id else None,
        run=session.get(Run, document.run_id) if document.run_id else None,
        report=session.get(Report, document.report_id) if document.report_id else None,
        inline=document.content_type in INLINE_TYPES,
        email=view,
        text=text,
    )


@bp.get("/<int:document_id>/inline")
@role_required(Role.VIEWER)
def inline(document_id: int) -> Response:
    document = _document(document_id)
    if document.content_type not in INLINE_TYPES:
        abort(404)
    return Response(
        _read(document),
        mimetype=document.content_type,
        headers={
            "Content-Disposition": content_disposition("inline", document.filename),
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


@bp.get("/<int:document_id>/download")
@role_required(Role.VIEWER)
def download(document_id: int) -> Response:
    document = _document(document_id)
    return Response(
        _read(document),
        mimetype="application/octet-stream",
        headers={"Content-Disposition": content_disposition("attachment", document.filename)},
    )


# --- deleting ----------------------------------------------------------------------------


def _stores():
    return functools.partial(open_store, get_plugins(), get_settings())


def delete_documents(
    session: Session,
    stores: Callable[[str], DocumentStore],
    document_ids: Sequence[int],
    *,
    by: str,
    reason: str = "",
) -> list[ArchiveDeletion]:
    """Delete the chosen documents of any runs, logged with one ``ArchiveDeletion`` per run
    (so a run's log lists all it lost). Unknown ids are refused; files go after commit."""
    wanted = sorted(set(document_ids))
    columns = (ArchivedDocument.id, ArchivedDocument.run_id, ArchivedDocument.campaign_id)
    rows = []
    for start in range(0, len(wanted), DELETE_BATCH):
        rows += session.execute(
            select(*columns, ArchivedDocument.store, ArchivedDocument.store_ref).where(
                ArchivedDocument.id.in_(wanted[start : start + DELETE_BATCH])
            )
        ).all()
    unknown = sorted(set(wanted) - {row.id for row in rows})
    if unknown:
        raise ValueError(f"documents {unknown} are not in the archive")
    by_run: dict[int | None, list[Any]] = {}
    for row in sorted(rows, key=lambda row: row.id):
        by_run.setdefault(row.run_id, []).append(row)
    entries = []
    for run_id, group in by_run.items():
        campaigns = {row.campaign_id for row in group}
        campaign_id = campaigns.pop() if len(campaigns) == 1 else None
        entries.append(
            delete_rows(session, stores, group, run_id, campaign_id, by=by, reason=reason)
        )
    return entries


class SelectionForm(PanelForm):
    """The documents ticked in the list."""

    document = IdListField()

    def ids(self) -> list[int]:
        return sorted(self.document.data)[:MAX_SELECTED]


class DeleteForm(SelectionForm):
    """The confirmation of a deletion: the documents again and why they go."""

    reason = TextField(max_length=2000)


class DeleteRunForm(PanelForm):
    """The confirmation of deleting a run's documents: why they go."""

    reason = TextField(max_length=2000)


def _render_delete(form: PanelForm, ids: list[int], status: int = 200) -> ResponseReturnValue:
    documents = (
        db_session()
        .scalars(
            select(ArchivedDocument)
            .where(ArchivedDocument.id.in_(ids))
            .order_by(ArchivedDocument.id)
        )
        .all()
    )
    return render_template("archive/delete.html", documents=documents, run=None, form=form), status


@bp.post("/delete/confirm")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_delete() -> ResponseReturnValue:
    form = SelectionForm()
    if not form.validate():
        flash(next(iter(form.messages.values())), "error")
        return redirect(request.referrer or url_for("archive.index"))
    ids = form.ids()
    if not ids:
        flash(t("archive.delete.nothing"), "warning")
        return redirect(request.referrer or url_for("archive.index"))
    return _render_delete(DeleteForm(formdata=None), ids)


@bp.post("/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete() -> ResponseReturnValue:
    session = db_session()
    form = DeleteForm()
    if not form.validate():
        if form.reason.errors and not form.document.errors:
            return _render_delete(form, form.ids(), 422)
        flash(next(iter(form.messages.values())), "error")
        return redirect(url_for("archive.index"))
    ids, reason = form.ids(), form.reason.data
    try:
        entries = delete_documents(session, _stores(), ids, by=current_username(), reason=reason)
    except ValueError:
        flash(t("archive.delete.gone"), "error")
        return redirect(url_for("archive.index"))
    count = sum(entry.count for entry in entries)
    record_audit(
        session,
        current_username(),
        "archive.delete",
        "archived_document",
        None,
        stored.plural("{count} document deleted", "{count} documents deleted", count=count),
        {"documents": ids, "deletions": [entry.id for entry in entries], "reason": reason},
    )
    session.commit()
    flash(tn("archive.delete.done", count), "success")
    return redirect(url_for("archive.deletions"))


@bp.get("/runs/<int:run_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_delete_run(run_id: int) -> ResponseReturnValue:
    return _render_delete_run(run_id, DeleteRunForm(formdata=None))


def _render_delete_run(run_id: int, form: DeleteRunForm, status: int = 200) -> ResponseReturnValue:
    session = db_session()
    run = session.get(Run, run_id)
    count = session.scalar(
        select(func.count()).select_from(ArchivedDocument).where(ArchivedDocument.run_id == run_id)
    )
    if run is None and not count:
        abort(404)
    campaign = session.get(Campaign, run.campaign_id) if run else None
    return render_template(
        "archive/delete.html",
        documents=None,
        run_id=run_id,
        run=run,
        campaign=campaign,
        count=count,
        form=form,
    ), status


@bp.post("/runs/<int:run_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_run(run_id: int) -> ResponseReturnValue:
    session = db_session()
    form = DeleteRunForm()
    if not form.validate():
        return _render_delete_run(run_id, form, 422)
    reason = form.reason.data
    entry = delete_run_documents(session, _stores(), run_id, by=current_username(), reason=reason)
    record_audit(
        session,
        current_username(),
        "archive.delete_run",
        "run",
        run_id,
        stored.plural(
            "{count} document of run {run} deleted",
            "{count} documents of run {run} deleted",
            count=entry.count,
            run=str(run_id),
        ),
        {"deletion": entry.id, "reason": reason},
    )
    session.commit()
    flash(tn("archive.delete.done", entry.count), "success")
    return redirect(url_for("archive.deletions"))


@bp.get("/deletions")
@role_required(Role.VIEWER)
def deletions() -> str:
    session = db_session()
    query = select(ArchiveDeletion).order_by(
        ArchiveDeletion.deleted_at.desc(), ArchiveDeletion.id.desc()
    )
    page = paginate(session, query, *page_arguments(request.args))
    campaign_names = _names(Campaign, {d.campaign_id for d in page.items if d.campaign_id})
    return render_template("archive/deletions.html", page=page, campaign_names=campaign_names)
