"""The Data tab of campaigns whose data source stores records: add records by id or from a
saved query's current result ("store current list"), remove them, import a CSV file after a
preview with every row's problems (``webapp.campaigns.records``).

The import reads the file with the encoding and delimiter the user chose or detected ones,
maps its columns as the preview's selects say, and replaces the rows of earlier imports or,
by the user's choice, adds to them. An uploaded file waits for the confirmation in the data
directory under a random token, for at most a day; the options travel with the preview's
form, checked again on every request.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response
from wtforms import Field, ValidationError

from core.audit import record_audit
from core.messages import StoredText, stored
from core.models import IMPORT_FIELDS, Campaign, Role
from core.query import ENTITIES, QueryError, SavedQueryNotFound
from webapp.campaigns.records import (
    MAX_BYTES,
    CampaignDataError,
    CsvImportError,
    RowsRefused,
    add_records,
    count_imported,
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
from webapp.imports import (
    DELIMITERS,
    ENCODINGS,
    MappingField,
    ReadOptionsForm,
    delimiter_name,
    describe_import_error,
    drop_stale_uploads,
    save_upload,
    upload_size,
)
from webapp.pagination import Page, page_arguments
from webapp.schema_forms import OptionResolver
from webapp.security import role_required

RECORDS_PAGE_SIZE = 50
PREVIEW_ROWS = 20
UPLOAD_LIFETIME_SECONDS = 24 * 3600
CSV_SUFFIXES = (".csv", ".txt")
IMPORT_MODES = ("replace", "append")
"""What an import does with the rows of earlier imports: drop them, or keep them and add."""
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
        encodings=ENCODINGS,
        delimiters=list(DELIMITERS),
        import_modes=IMPORT_MODES,
        imported_before=count_imported(session, campaign.id),
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
        stored.plural(
            "{campaign}: {count} record of {entity} added",
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
        stored.plural(
            "{campaign}: {count} record removed",
            "{campaign}: {count} records removed",
            campaign=campaign.name,
            count=removed,
        ),
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
        stored.plural(
            "{campaign}: {count} record frozen",
            "{campaign}: {count} records frozen",
            campaign=campaign.name,
            count=frozen,
        ),
        saved_query_id=saved_query_id,
    )
    flash(tn("campaigns.data.frozen", frozen), "success")
    return _back(campaign.id)


@dataclass(frozen=True)
class ImportChoices:
    """How the user asked for the file to be read and imported: the encoding and the
    delimiter's name as offered (empty: detected), whether earlier imported rows are
    replaced, and the column mapping (None: detected from the header)."""

    encoding: str = ""
    delimiter: str = ""
    replace: bool = True
    mapping: dict[str, str] | None = None

    def read_options(self) -> dict[str, Any]:
        """What ``preview_csv`` and ``import_csv`` take."""
        return {
            "encoding": self.encoding or None,
            "delimiter": DELIMITERS[self.delimiter] or None,
            "mapping": self.mapping,
        }


class ImportOptionsForm(ReadOptionsForm):
    """How the file is read and whether its rows replace those of earlier imports (the
    default) or are added to them; a value not offered is refused."""

    mode = ChoiceField(coerce=str)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mode.choices = [(mode, mode) for mode in IMPORT_MODES]

    def choices(self) -> ImportChoices:
        """The options as given; a refused value counts as not given."""
        return ImportChoices(
            self.encoding.data or "", self.delimiter.data or "", self.mode.data != "append"
        )


def _option_labels() -> dict[str, str]:
    return {
        "encoding": t("campaigns.import.encoding"),
        "delimiter": t("campaigns.import.delimiter"),
        "mode": t("campaigns.import.mode"),
        "mapping": t("campaigns.import.mapping"),
    }


def _render_preview(
    campaign_id: int,
    token: str,
    upload_name: str,
    choices: ImportChoices,
    status: int = 200,
    import_error: str | None = None,
) -> tuple[str, int]:
    """The preview of the kept file read with the user's choices. A mapping the file refuses
    (two columns on one field, none mapped) is shown as chosen, with why, over the rows read
    with the detected mapping."""
    read = choices.read_options()
    with _upload_path(token).open("rb") as file:
        try:
            preview = preview_csv(file, **read, rows=PREVIEW_ROWS)
        except CsvImportError as exc:
            if choices.mapping is None:
                raise
            import_error, status = describe_import_error(exc), 422
            preview = preview_csv(file, **{**read, "mapping": None}, rows=PREVIEW_ROWS)
    return _render_data(
        campaign_id,
        status,
        preview=preview,
        token=token,
        upload_name=upload_name,
        choices=choices,
        chosen_mapping=preview.mapping if choices.mapping is None else choices.mapping,
        delimiter_name=delimiter_name(preview.delimiter),
        fields=IMPORT_FIELDS,
        import_error=import_error,
    )


@bp.post("/<int:campaign_id>/data/import")
@role_required(Role.CAMPAIGN_MANAGER)
def upload(campaign_id: int) -> Response | tuple[str, int]:
    """Check an uploaded CSV file, read as the user chose, and show what an import would
    do."""
    campaign = load_campaign(campaign_id)
    form = ImportOptionsForm()
    if not form.validate():
        return _render_data(
            campaign.id, 422, import_errors=form.messages, import_values=form.values
        )
    options = {"import_values": form.values}
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_data(campaign.id, 422, import_error=t("campaigns.import.no_file"), **options)
    if not upload.filename.lower().endswith(CSV_SUFFIXES):
        return _render_data(
            campaign.id,
            422,
            import_error=t("campaigns.import.not_csv", name=upload.filename),
            **options,
        )
    if upload_size(upload) > MAX_BYTES:  # refused by its size, before it is read
        return _render_data(
            campaign.id,
            422,
            import_error=t("campaigns.import.too_large", megabytes=MAX_BYTES // 2**20),
            **options,
        )
    token = secrets.token_urlsafe(24)
    save_upload(upload, _upload_path(token))
    try:
        return _render_preview(campaign.id, token, upload.filename, form.choices())
    except CsvImportError as exc:
        _upload_path(token).unlink(missing_ok=True)
        return _render_data(campaign.id, 422, import_error=describe_import_error(exc), **options)


class ConfirmImportForm(ImportOptionsForm):
    """The checked file's token and name, the options it was read with, the column mapping,
    whether only its valid rows are wanted, and whether to import or show the preview again
    with the mapping chosen (``action``; importing unless it says "preview")."""

    token = TextField(max_length=64)
    upload_name = TextField(max_length=1000)
    only_valid_rows = FlagField()
    mapping = MappingField(IMPORT_FIELDS)
    action = ChoiceField(coerce=str)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.action.choices = [("preview", "preview"), ("import", "import")]

    def validate_token(self, field: TextField) -> None:
        if not _TOKEN.match(field.data):
            raise ValidationError(t("campaigns.import.expired"))

    def choices(self) -> ImportChoices:
        mapping = self.mapping.data if self.mapping.submitted else None
        return dataclasses.replace(super().choices(), mapping=mapping)


@bp.post("/<int:campaign_id>/data/import/confirm")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_import(campaign_id: int) -> Response | tuple[str, int]:
    """Import the checked file with the options and mapping the preview shows: every row,
    or, by the user's explicit choice, only the valid rows (the rows left out are listed and
    recorded in the audit log). An option not offered shows the preview again with why."""
    campaign = load_campaign(campaign_id)
    form = ConfirmImportForm()
    valid = form.validate()
    if form.token.errors:
        return _render_data(campaign.id, 422, import_error=problem_text(form, {}))
    token, upload_name = form.token.data, form.upload_name.data
    path = _upload_path(token)
    if not path.is_file():
        return _render_data(campaign.id, 422, import_error=t("campaigns.import.expired"))
    choices = form.choices()
    try:
        if not valid:
            return _render_preview(
                campaign.id,
                token,
                upload_name,
                choices,
                422,
                problem_text(form, _option_labels()),
            )
        if form.action.data == "preview":
            return _render_preview(campaign.id, token, upload_name, choices)
        return _import(campaign, token, upload_name, choices, form.only_valid_rows.data)
    except CsvImportError as exc:  # the file read with the options chosen on the preview
        db_session().rollback()
        error = describe_import_error(exc)
        try:
            return _render_preview(campaign.id, token, upload_name, choices, 422, error)
        except CsvImportError:
            return _render_data(campaign.id, 422, import_error=error)


def _import(
    campaign: Campaign, token: str, upload_name: str, choices: ImportChoices, only_valid_rows: bool
) -> Response | tuple[str, int]:
    path = _upload_path(token)
    session = db_session()
    earlier = count_imported(session, campaign.id)
    try:
        with path.open("rb") as file:
            report = import_csv(
                session,
                campaign.id,
                file,
                **choices.read_options(),
                replace=choices.replace,
                only_valid_rows=only_valid_rows,
            )
    except RowsRefused as refused:
        session.rollback()
        return _render_preview(
            campaign.id,
            token,
            upload_name,
            choices,
            422,
            tn("campaigns.import.refused", len(refused.errors)),
        )
    except CampaignDataError as exc:
        session.rollback()
        return _render_data(campaign.id, 422, import_error=stored_text(exc.text))
    left_out = [error.line for error in report.errors]
    how = (
        stored.plural(
            "replacing {count} earlier row", "replacing {count} earlier rows", count=report.replaced
        )
        if choices.replace
        else stored.plural(
            "added to {count} earlier row", "added to {count} earlier rows", count=earlier
        )
    )
    summary = (
        stored.plural(
            "{campaign}: {count} row imported, {how}; {left_out}",
            "{campaign}: {count} rows imported, {how}; {left_out}",
            campaign=campaign.name,
            count=report.imported,
            how=how,
            left_out=stored.plural(
                "{count} row with errors left out",
                "{count} rows with errors left out",
                count=len(left_out),
            ),
        )
        if left_out
        else stored.plural(
            "{campaign}: {count} row imported, {how}",
            "{campaign}: {count} rows imported, {how}",
            campaign=campaign.name,
            count=report.imported,
            how=how,
        )
    )
    _audit_and_commit(
        campaign.id,
        "campaign.records.import",
        summary,
        imported=report.imported,
        errors=len(report.errors),
        only_valid_rows=only_valid_rows,
        left_out_lines=left_out[:1000],
        file=upload_name,
        encoding=report.encoding,
        encoding_chosen=bool(choices.encoding),
        delimiter=report.delimiter,
        delimiter_chosen=bool(choices.delimiter),
        mapping=report.mapping,
        mapping_chosen=choices.mapping is not None,
        ignored_columns=report.ignored_columns,
        replace=choices.replace,
        replaced=report.replaced,
        earlier_rows=earlier,
    )
    path.unlink(missing_ok=True)
    if left_out:
        flash(
            tn(
                "campaigns.import.done_left_out",
                report.imported,
                left_out=tn(
                    "campaigns.import.left_out",
                    len(left_out),
                    lines=", ".join(str(line) for line in left_out),
                ),
            ),
            "warning",
        )
    else:
        flash(tn("campaigns.import.done_all", report.imported), "success")
    if choices.replace:
        if report.replaced:
            flash(tn("campaigns.import.replaced", report.replaced), "info")
    else:
        flash(tn("campaigns.import.appended", earlier + report.imported), "info")
    return _back(campaign.id)
