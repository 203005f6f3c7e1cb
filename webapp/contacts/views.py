"""Contacts: search and filters, the contact's page with its documents and events, the
consent settings, and the CSV import with a preview and a per-row error report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from core.audit import record_audit
from core.contact_events import set_consent
from core.messages import stored
from core.models import (
    FINAL_RUN_STATES,
    ArchivedDocument,
    AuditEntry,
    Campaign,
    Contact,
    ContactEvent,
    ContactKind,
    ContactStatus,
    Contract,
    DispatchChannel,
    ItemStatus,
    Role,
    Run,
    RunItem,
)
from webapp.admin.audit_codes import action_title
from webapp.contact_import import (
    CHOICE_TITLES,
    CONTACT_FIELDS,
    MATCH_ON,
    MAX_BYTES,
    import_and_record,
    plan_contact_import,
)
from webapp.contacts.channel_events import channel_events
from webapp.contacts.forms import ConsentForm, ImportForm, ImportOptionsForm, ImportRunForm
from webapp.contacts.search import ContactFilters, contact_query, dialect_of
from webapp.contacts.uploads import drop_upload, keep_upload, kept_upload
from webapp.context import current_user, current_username, db_session, get_plugins
from webapp.csv_import import CsvImportError, RowsRefused
from webapp.editing import change_summary
from webapp.formatting import format_bytes, format_date
from webapp.forms import add_error, problem_text
from webapp.i18n import stored_text, t, tn
from webapp.imports import describe_import_error, upload_size
from webapp.pagination import page_arguments, paginate
from webapp.security import role_required

bp = Blueprint("contacts", __name__, url_prefix="/contacts", template_folder="templates")

CONSENT_FIELDS = (
    "preferred_channel",
    "dispatch_block",
    "opt_out_post",
    "opt_out_email",
    "opt_out_sms",
    "opt_out_phone",
)
CONSENT_LABELS = {
    "preferred_channel": stored("preferred channel"),
    "dispatch_block": stored("dispatch block"),
    "opt_out_post": stored("no post"),
    "opt_out_email": stored("no e-mail"),
    "opt_out_sms": stored("no SMS"),
    "opt_out_phone": stored("no phone calls"),
}
"""How an audit summary names each consent field."""
CHANNEL_TITLES = {
    DispatchChannel.POST.value: stored("post"),
    DispatchChannel.EMAIL.value: stored("e-mail"),
    DispatchChannel.WEB.value: stored("web"),
}
"""How an audit summary names a preferred channel."""
LOOKUP_LIMIT = 10
TIMELINE_LIMIT = 200
PREVIEW_ROWS = 20


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    filters = ContactFilters.from_args(request.args)
    session = db_session()
    query = contact_query(filters, dialect_of(session))
    page = paginate(session, query, *page_arguments(request.args))
    return render_template(
        "contacts/list.html",
        page=page,
        filters=filters,
        kinds=[kind.value for kind in ContactKind],
        statuses=[status.value for status in ContactStatus],
        channels=[channel.value for channel in DispatchChannel],
    )


@bp.get("/lookup")
@role_required(Role.VIEWER)
def lookup() -> ResponseReturnValue:
    """A few contacts for a search box (JSON): number, name and city."""
    filters = ContactFilters.from_args({"q": request.args.get("q", "")})
    if len(filters.text) < 2:
        return jsonify([])
    session = db_session()
    contacts = session.scalars(contact_query(filters, dialect_of(session)).limit(LOOKUP_LIMIT))
    return jsonify(
        [
            {"id": c.id, "number": c.number, "name": c.display_name, "city": c.city or ""}
            for c in contacts
        ]
    )


@dataclass(frozen=True)
class Event:
    """One entry of the contact's history: an archived document or a recorded change."""

    at: datetime
    kind: str
    title: str
    detail: str
    document: ArchivedDocument | None = None
    actor: str | None = None


def _timeline(contact: Contact) -> list[Event]:
    session = db_session()
    documents = session.scalars(
        select(ArchivedDocument)
        .where(ArchivedDocument.contact_id == contact.id)
        .order_by(ArchivedDocument.created_at.desc(), ArchivedDocument.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    changes = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == "contact", AuditEntry.target_id == str(contact.id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    events = [
        Event(d.created_at, d.kind.value, d.title, d.filename, document=d, actor=d.created_by)
        for d in documents
    ] + [
        Event(
            e.at,
            "change",
            action_title(e.action) or e.action,
            stored_text(e.summary_message, e.summary),
            actor=e.actor,
        )
        for e in changes
    ]
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:TIMELINE_LIMIT]


@dataclass(frozen=True)
class RunEntry:
    """One run that reached the contact, or skipped them, and how."""

    item: RunItem
    run: Run
    campaign: str
    channel: str | None
    held_back: bool = False
    """A plugin holds the run's done rows back (``runs_held_back``): nobody reached yet."""

    @property
    def at(self) -> datetime:
        return self.item.finished_at or self.run.created_at

    @property
    def status(self) -> str:
        """The row's status, but "not_sent" for a pending row of a run that ended (discarded
        or cancelled before it got there), and for a done row that never went out: "voided"
        (its run was voided) or "held_back" (not yet)."""
        if self.item.status is ItemStatus.PENDING and self.run.state in FINAL_RUN_STATES:
            return "not_sent"
        if self.item.status is not ItemStatus.DONE:
            return self.item.status.value
        if self.run.superseded_at is not None:
            return "voided"
        return "held_back" if self.held_back else self.item.status.value


def _consent_events(contact: Contact) -> list[ContactEvent]:
    return list(
        db_session().scalars(
            select(ContactEvent)
            .where(ContactEvent.contact_id == contact.id)
            .order_by(ContactEvent.at.desc(), ContactEvent.id.desc())
            .limit(TIMELINE_LIMIT)
        )
    )


def _event_runs(contact: Contact) -> dict[int, tuple[int, int, str]]:
    """The runs the contact's consent events came from (an unsubscribe link): run id →
    (campaign id, run number, campaign name), for a link to the run."""
    rows = db_session().execute(
        select(Run.id, Run.campaign_id, Run.number, Campaign.name)
        .join(Campaign, Campaign.id == Run.campaign_id)
        .where(
            Run.id.in_(
                select(ContactEvent.run_id).where(
                    ContactEvent.contact_id == contact.id, ContactEvent.run_id.is_not(None)
                )
            )
        )
    )
    return {run_id: (campaign_id, number, name) for run_id, campaign_id, number, name in rows}


def _runs(contact: Contact) -> list[RunEntry]:
    """The ledger rows of the contact (and of their contracts): every run that reached
    them on which channel, and every run that skipped them with the reason."""
    rows_of = [and_(RunItem.entity == "contacts", RunItem.entity_id == contact.id)]
    contract_ids = [contract.id for contract in contact.contracts]
    if contract_ids:
        rows_of.append(and_(RunItem.entity == "contracts", RunItem.entity_id.in_(contract_ids)))
    rows = db_session().execute(
        select(RunItem, Run, Campaign.name)
        .join(Run, Run.id == RunItem.run_id)
        .join(Campaign, Campaign.id == Run.campaign_id)
        .where(or_(*rows_of))
        .order_by(RunItem.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    rows = rows.all()
    plugins = get_plugins()
    held = plugins.held_back(db_session(), (run.id for _, run, _ in rows))
    entries = []
    for item, run, campaign in rows:
        reached = plugins.run_channel(run.config)
        channel = reached.value if reached is not None else None
        entries.append(RunEntry(item, run, campaign, channel, run.id in held))
    return entries


def _contact(contact_id: int) -> Contact:
    contact = db_session().get(
        Contact,
        contact_id,
        options=[selectinload(Contact.contracts).selectinload(Contract.product)],
    )
    if contact is None:
        abort(404)
    return contact


def _detail(contact: Contact, form: ConsentForm, status: int = 200) -> ResponseReturnValue:
    page = render_template(
        "contacts/detail.html",
        contact=contact,
        form=form,
        events=_timeline(contact),
        consent_events=_consent_events(contact),
        event_runs=_event_runs(contact),
        runs=_runs(contact),
        channel_events=channel_events(contact),
        timeline_limit=TIMELINE_LIMIT,
        contracts=sorted(contact.contracts, key=lambda c: (c.signed_on, c.id), reverse=True),
        can_edit=current_user().role.includes(Role.CAMPAIGN_MANAGER),
    )
    return page, status


@bp.get("/<int:contact_id>")
@role_required(Role.VIEWER)
def detail(contact_id: int) -> ResponseReturnValue:
    contact = _contact(contact_id)
    form = ConsentForm(formdata=None, obj=contact)
    form.preferred_channel.data = contact.preferred_channel.value
    return _detail(contact, form)


@bp.post("/<int:contact_id>/consent")
@role_required(Role.CAMPAIGN_MANAGER)
def save_consent(contact_id: int) -> ResponseReturnValue:
    session = db_session()
    contact = _contact(contact_id)
    form = ConsentForm()
    if not form.validate():
        return _detail(contact, form, 422)
    before = _consent(contact)
    contact.preferred_channel = DispatchChannel(form.preferred_channel.data)
    set_consent(
        session,
        contact,
        {name: bool(getattr(form, name).data) for name in CONSENT_FIELDS[1:]},
        actor=current_username(),
        source="panel",
    )
    after = _consent(contact)
    changed = {
        name: [before[name], after[name]] for name in CONSENT_FIELDS if before[name] != after[name]
    }
    if changed:
        summary = change_summary(changed, CONSENT_LABELS, {"preferred_channel": CHANNEL_TITLES})
        record_audit(
            session, current_username(), "contact.consent", "contact", contact.id, summary, changed
        )
        session.commit()
        flash(t("contacts.flash.consent_saved"), "success")
    else:
        flash(t("contacts.flash.consent_unchanged"), "info")
    return redirect(url_for("contacts.detail", contact_id=contact.id, _anchor="consent"))


def _consent(contact: Contact) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in CONSENT_FIELDS}
    values["preferred_channel"] = contact.preferred_channel.value
    return values


# --- CSV import --------------------------------------------------------------------------


@bp.get("/import")
@role_required(Role.CAMPAIGN_MANAGER)
def import_form() -> str:
    return render_template("contacts/import.html", form=ImportForm())


@bp.post("/import")
@role_required(Role.CAMPAIGN_MANAGER)
def import_upload() -> ResponseReturnValue:
    form = ImportForm()
    form.validate()
    upload = form.file.data
    if not form.ok:
        return render_template("contacts/import.html", form=form), 422
    if upload is None or not upload.filename:
        add_error(form.file, t("contacts.import.error.missing"))
        return render_template("contacts/import.html", form=form), 422
    if not upload.filename.lower().endswith((".csv", ".txt")):
        add_error(form.file, t("contacts.import.error.type"))
        return render_template("contacts/import.html", form=form), 422
    if upload_size(upload) > MAX_BYTES:  # refused by its size, before it is read
        add_error(form.file, t("contacts.import.error.size", limit=format_bytes(MAX_BYTES)))
        return render_template("contacts/import.html", form=form), 422
    try:
        plan = plan_contact_import(db_session(), upload.stream, **form.options())
    except CsvImportError as exc:
        add_error(form.file, t("contacts.import.error.fatal", reason=describe_import_error(exc)))
        return render_template("contacts/import.html", form=form), 422
    token = keep_upload(current_user().id, upload)
    return _preview(plan, token, form, upload.filename)


def _import_cell(name: str, value: Any) -> str:
    """A previewed row's value as the contact's page shows it: a date and yes or no in the
    reader's language, a choice by its title."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return t("contacts.yes_no.yes" if value else "contacts.yes_no.no")
    if isinstance(value, date):
        return format_date(value)
    prefix = CHOICE_TITLES.get(name)
    return t(prefix + str(value)) if prefix else str(value)


def _preview(
    plan: Any, token: str, form: ImportOptionsForm, filename: str, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "contacts/import_preview.html",
        plan=plan,
        token=token,
        filename=filename,
        rows=plan.new[:PREVIEW_ROWS] + [row for _id, row in plan.updates[:PREVIEW_ROWS]],
        cell=_import_cell,
        fields=CONTACT_FIELDS,
        match_choices=[
            name
            for name in MATCH_ON
            if name != "number" or "number" in plan.parsed.mapping.values()
        ],
        encoding=form.encoding.data or "",
        delimiter=form.delimiter.data or "",
        update_existing=form.update_existing.data,
    ), status


@bp.post("/import/<token>")
@role_required(Role.CAMPAIGN_MANAGER)
def import_run(token: str) -> ResponseReturnValue:
    session = db_session()
    user = current_user()
    path = kept_upload(user.id, token)
    if path is None:
        flash(t("contacts.import.error.expired"), "error")
        return redirect(url_for("contacts.import_form"))
    form = ImportRunForm()
    refused = not form.validate()
    if refused:
        labels = {
            "encoding": t("contacts.import.encoding"),
            "delimiter": t("contacts.import.delimiter"),
            "match_on": t("contacts.import.match_on"),
            "mapping": t("contacts.import.mapping"),
            "filename": t("contacts.import.file"),
        }
        flash(problem_text(form, labels), "error")
    filename = form.filename.data
    try:
        with path.open("rb") as file:
            plan = plan_contact_import(session, file, **form.options())
        if refused or form.action.data != "import":
            return _preview(plan, token, form, filename, 422 if refused else 200)
        report = import_and_record(
            session,
            plan,
            source_name=filename,
            only_valid_rows=form.only_valid_rows.data,
            actor=user.username,
        )
    except RowsRefused:
        session.rollback()
        flash(tn("contacts.import.error.rows", len(plan.errors)), "error")
        return _preview(plan, token, form, filename, 422)
    except CsvImportError as exc:
        session.rollback()
        flash(t("contacts.import.error.fatal", reason=describe_import_error(exc)), "error")
        return redirect(url_for("contacts.import_form"))
    session.commit()
    drop_upload(user.id, token)
    return render_template("contacts/import_done.html", report=report, filename=filename)
