"""The Data tab of campaigns whose data source stores records: add records by id or from a
saved query's current result ("store current list"), remove them, import a CSV file after a
preview with every row's problems (``webapp.campaigns.records``).

An uploaded file waits for the confirmation in the data directory under a random token,
for at most a day.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response
from wtforms import Field, ValidationError

from core.audit import record_audit
from core.messages import StoredText, stored
from core.models import Role
from core.query import ENTITIES, QueryError, SavedQueryNotFound
from webapp.campaigns.records import (
    MAX_BYTES,
    CampaignDataError,
    CsvImportError,
    RowsRefused,
    add_records,
    freeze_query,
    import_csv,
    list_records,
    preview_csv,
    remove_records,
)
from webapp.campaigns.views import bp, list_args, load_campaign, render_screen, username
from webapp.context import db_session, get_plugins, get_settings
from webapp.forms import ChoiceField, FlagField, PanelForm, TextField, parse_id, problem_text
from webapp.i18n import stored_text, t, tn
from webapp.imports import describe_import_error, drop_stale_uploads, save_upload, upload_size
from webapp.pagination import Page, page_arguments
from webapp.schema_forms import OptionResolver
from webapp.security import role_required

RECORDS_PAGE_SIZE = 50
PREVIEW_ROWS = 20
UPLOAD_LIFETIME_SECONDS = 24 * 3600
CSV_SUFFIXES = (".csv", ".txt")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_ID_SEPARATORS = re.compile(r"[\s,;]+")


def _uploads() -> Path:
    path = get_settings().data_dir / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    drop_stale_uploads(path, UPLOAD_LIFETIME_SECONDS)
    return path


def _upload_path(token: str) -> Path:
    return _uploads() / f"{token}.csv"


def _back(campaign_id: int) -> Response:
    return redirect(url_for(".data", campaign_id=campaign_id, **list_args()))


def _render_data(campaign_id: int, status: int = 200, **context: Any) -> tuple[str, int]:
    campaign = load_campaign(campaign_id)
    session = db_session()
    number, _size = page_arguments(request.args)
    total = list_records(session, campaign.id, 0, 1).total
    number = min(number, max(1, -(-total // RECORDS_PAGE_SIZE)))
    listed = list_records(session, campaign.id, (number - 1) * RECORDS_PAGE_SIZE, RECORDS_PAGE_SIZE)
    page = render_screen(
        "campaigns/data.html",
        campaign,
        "data",
        records=Page(listed.records, number, RECORDS_PAGE_SIZE, listed.total),
        entities=ENTITIES,
        saved_queries=OptionResolver(session, get_plugins())("saved_queries"),
        **context,
    )
    return page, status


@bp.get("/<int:campaign_id>/data")
@role_required(Role.VIEWER)
def data(campaign_id: int) -> tuple[str, int]:
    return _render_data(campaign_id)


def _audit_and_commit(campaign_id: int, action: str, summary: StoredText, **details: Any) -> None:
    session = db_session()
    record_audit(session, username(), action, "campaign", campaign_id, summary, details)
    session.commit()


class AddForm(PanelForm):
    """Records added by hand: the entity and its ids, separated by commas, spaces or lines."""

    entity = ChoiceField(coerce=str, required=True)
    ids = TextField(max_length=200_000)

    def validate_ids(self, field: TextField) -> None:
        parts = [part for part in _ID_SEPARATORS.split(field.data) if part]
        if not parts:
            raise ValidationError(t("campaigns.data.no_ids"))
        ids = [parse_id(part) for part in parts]
        if None in ids:
            raise ValidationError(t("campaigns.data.bad_ids"))
        self.id_list = ids


def _add_form() -> AddForm:
    form = AddForm()
    form.entity.choices = [(name, spec.title) for name, spec in ENTITIES.items()]
    return form


def _render_add(campaign_id: int, form: AddForm) -> tuple[str, int]:
    return _render_data(campaign_id, 422, add_errors=form.messages, add_values=form.values)


@bp.post("/<int:campaign_id>/data/add")
@role_required(Role.CAMPAIGN_MANAGER)
def add(campaign_id: int) -> Response | tuple[str, int]:
    campaign = load_campaign(campaign_id)
    form = _add_form()
    if not form.validate():
        return _render_add(campaign.id, form)
    entity, ids = form.entity.data, form.id_list
    session = db_session()
    try:
        added = add_records(session, campaign.id, entity, ids)
    except CampaignDataError as exc:
        session.rollback()
        form.add_error("ids", stored_text(exc.text))
        return _render_add(campaign.id, form)
    _audit_and_commit(
        campaign.id,
        "campaign.records.add",
        stored(
            "{campaign}: {count} records of {entity} added",
            campaign=campaign.name,
            count=added,
            entity=entity,
        ),
        ids=ids[:1000],
    )
    flash(t("campaigns.data.added", count=added), "success")
    return _back(campaign.id)


class RecordListField(Field):
    """The ticked records as ``entity:id``, by entity; anything else is refused, naming it."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = {}
        for value in valuelist:
            entity, _, record_id = str(value).partition(":")
            number = parse_id(record_id)
            if entity not in ENTITIES or number is None:
                self.data = {}
                raise ValueError(t("forms.not_a_choice", value=value))
            self.data.setdefault(entity, []).append(number)


class RemoveForm(PanelForm):
    records = RecordListField(default=dict)


@bp.post("/<int:campaign_id>/data/remove")
@role_required(Role.CAMPAIGN_MANAGER)
def remove(campaign_id: int) -> Response:
    campaign = load_campaign(campaign_id)
    form = RemoveForm()
    if not form.validate():
        flash(problem_text(form, {}), "error")
        return _back(campaign.id)
    by_entity: dict[str, list[int]] = form.records.data
    if not by_entity:
        flash(t("campaigns.data.none_selected"), "error")
        return _back(campaign.id)
    session = db_session()
    removed = sum(
        remove_records(session, campaign.id, entity, ids) for entity, ids in by_entity.items()
    )
    _audit_and_commit(
        campaign.id,
        "campaign.records.remove",
        stored("{campaign}: {count} records removed", campaign=campaign.name, count=removed),
        records=by_entity,
    )
    flash(t("campaigns.data.removed", count=removed), "success")
    return _back(campaign.id)


class FreezeForm(PanelForm):
    saved_query_id = ChoiceField()


@bp.post("/<int:campaign_id>/data/freeze")
@role_required(Role.CAMPAIGN_MANAGER)
def freeze(campaign_id: int) -> Response:
    campaign = load_campaign(campaign_id)
    session = db_session()
    form = FreezeForm()
    form.saved_query_id.choices = [
        (int(value), label)
        for value, label in OptionResolver(session, get_plugins())("saved_queries")
    ]
    if not form.validate():
        flash(problem_text(form, {"saved_query_id": t("campaigns.data.saved_query")}), "error")
        return _back(campaign.id)
    saved_query_id = form.saved_query_id.data
    if saved_query_id is None:
        flash(t("campaigns.data.choose_query"), "error")
        return _back(campaign.id)
    try:
        frozen = freeze_query(session, campaign.id, saved_query_id)
    except (SavedQueryNotFound, QueryError, CampaignDataError) as exc:
        session.rollback()
        flash(stored_text(exc.text), "error")
        return _back(campaign.id)
    _audit_and_commit(
        campaign.id,
        "campaign.records.freeze",
        stored("{campaign}: {count} records frozen", campaign=campaign.name, count=frozen),
        saved_query_id=saved_query_id,
    )
    flash(tn("campaigns.data.frozen", frozen), "success")
    return _back(campaign.id)


@bp.post("/<int:campaign_id>/data/import")
@role_required(Role.CAMPAIGN_MANAGER)
def upload(campaign_id: int) -> Response | tuple[str, int]:
    """Check an uploaded CSV file and show what an import would do."""
    campaign = load_campaign(campaign_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_data(campaign.id, 422, import_error=t("campaigns.import.no_file"))
    if not upload.filename.lower().endswith(CSV_SUFFIXES):
        return _render_data(
            campaign.id, 422, import_error=t("campaigns.import.not_csv", name=upload.filename)
        )
    if upload_size(upload) > MAX_BYTES:  # refused by its size, before it is read
        return _render_data(
            campaign.id,
            422,
            import_error=t("campaigns.import.too_large", megabytes=MAX_BYTES // 2**20),
        )
    try:
        preview = preview_csv(upload.stream, rows=PREVIEW_ROWS)
    except CsvImportError as exc:
        return _render_data(campaign.id, 422, import_error=describe_import_error(exc))
    token = secrets.token_urlsafe(24)
    save_upload(upload, _upload_path(token))
    return _render_data(campaign.id, preview=preview, token=token, upload_name=upload.filename)


class ConfirmImportForm(PanelForm):
    """The checked file's token and name, and whether only its valid rows are wanted."""

    token = TextField(max_length=64)
    upload_name = TextField(max_length=1000)
    only_valid_rows = FlagField()

    def validate_token(self, field: TextField) -> None:
        if not _TOKEN.match(field.data):
            raise ValidationError(t("campaigns.import.expired"))


@bp.post("/<int:campaign_id>/data/import/confirm")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_import(campaign_id: int) -> Response | tuple[str, int]:
    """Import the checked file: every row, or, by the user's explicit choice, only the valid
    rows (the rows left out are listed and recorded in the audit log)."""
    campaign = load_campaign(campaign_id)
    form = ConfirmImportForm()
    if not form.validate():
        return _render_data(campaign.id, 422, import_error=problem_text(form, {}))
    token, upload_name = form.token.data, form.upload_name.data
    path = _upload_path(token)
    if not path.is_file():
        return _render_data(campaign.id, 422, import_error=t("campaigns.import.expired"))
    only_valid_rows = form.only_valid_rows.data
    session = db_session()
    try:
        with path.open("rb") as file:
            report = import_csv(session, campaign.id, file, only_valid_rows=only_valid_rows)
    except RowsRefused as refused:
        session.rollback()
        with path.open("rb") as file:
            preview = preview_csv(file, rows=PREVIEW_ROWS)
        return _render_data(
            campaign.id,
            422,
            preview=preview,
            token=token,
            upload_name=upload_name,
            import_error=t("campaigns.import.refused", count=len(refused.errors)),
        )
    except CsvImportError as exc:
        session.rollback()
        return _render_data(campaign.id, 422, import_error=describe_import_error(exc))
    except CampaignDataError as exc:
        session.rollback()
        return _render_data(campaign.id, 422, import_error=stored_text(exc.text))
    left_out = [error.line for error in report.errors]
    _audit_and_commit(
        campaign.id,
        "campaign.records.import",
        f"{campaign.name}: {report.imported} rows"
        + (f", {len(left_out)} rows with errors left out" if left_out else ""),
        imported=report.imported,
        errors=len(report.errors),
        only_valid_rows=only_valid_rows,
        left_out_lines=left_out[:1000],
        file=upload_name,
    )
    path.unlink(missing_ok=True)
    if left_out:
        flash(
            t(
                "campaigns.import.done_left_out",
                count=report.imported,
                errors=len(left_out),
                lines=", ".join(str(line) for line in left_out),
            ),
            "warning",
        )
    else:
        flash(t("campaigns.import.done_all", count=report.imported), "success")
    return _back(campaign.id)
