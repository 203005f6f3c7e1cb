"""Providers and their services: the provider list, a provider's services, a service's
cost categories with their types and prices (``providers.prices``), and what happens with
a service's deliveries at the provider: the extraction file, the notification to the
router, the upload and the result file (``service_processes``, read by supplierMgt)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.documents.templating import TemplateError
from core.messaging.mail import valid_email
from core.models import Role
from core.plugins import UnknownPluginError
from core.uploads import NamePatternError
from plugins.processes.costs import AMOUNT_KINDS, StructureError, StructureKind
from plugins.processes.models import (
    CostCategory,
    CostStructure,
    Provider,
    ProviderKind,
    ProviderService,
    ServiceProcess,
)
from plugins.processes.provider_processes import (
    MAX_NOTIFICATION,
    REFERENCE_FIELD,
    check_file_name_pattern,
    check_notification,
)
from webapp import (
    EnumField,
    FlagField,
    OptionResolver,
    PanelForm,
    TextField,
    WholeNumberField,
    all_problems,
    build_form,
    check_unique,
    db_session,
    format_money,
    format_number,
    get_or_404,
    get_plugins,
    parse_form,
    plugin_text,
    plugin_translator,
    pressed_button,
    role_required,
    save_row,
    stored_text,
    submitted_plugin,
    t,
    username,
)

bp = Blueprint("providers", __name__, url_prefix="/providers", template_folder="templates")

UPLOAD_PREFIX = "up"
COLUMN_ROWS_EXTRA = 3
COLUMN_ROWS_MAX = 200
TEMPLATE_LIMIT = MAX_NOTIFICATION
DEFAULT_FILE_NAME = ServiceProcess.__table__.c.file_name_pattern.default.arg


# -- providers ------------------------------------------------------------------------------------


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    providers = session.scalars(select(Provider).order_by(Provider.name)).all()
    services = dict(
        session.execute(
            select(ProviderService.provider_id, func.count(ProviderService.id)).group_by(
                ProviderService.provider_id
            )
        ).all()
    )
    return render_template("providers/index.html", providers=providers, services=services)


@bp.get("/<int:provider_id>")
@role_required(Role.VIEWER)
def provider(provider_id: int) -> str:
    provider = get_or_404(Provider, provider_id)
    categories = dict(
        db_session()
        .execute(
            select(CostCategory.service_id, func.count(CostCategory.id))
            .join(ProviderService, CostCategory.service_id == ProviderService.id)
            .where(ProviderService.provider_id == provider.id)
            .group_by(CostCategory.service_id)
        )
        .all()
    )
    return render_template("providers/provider.html", provider=provider, categories=categories)


class ProviderForm(PanelForm):
    name = TextField(required=True)
    kind = EnumField(ProviderKind, required=True, default=ProviderKind.OTHER)
    email = TextField(max_length=254)
    description = TextField(max_length=5000)
    active = FlagField(default=True)


class ServiceForm(PanelForm):
    name = TextField(required=True)
    description = TextField(max_length=5000)


def _render_provider_form(provider, values, errors) -> str:
    kinds = [(kind.value, t(f"providers.kind.{kind.value}")) for kind in ProviderKind]
    return render_template(
        "providers/provider_form.html", provider=provider, values=values, errors=errors, kinds=kinds
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_provider() -> str | tuple[str, int] | Response:
    return _save_provider(None)


@bp.route("/<int:provider_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_provider(provider_id: int) -> str | tuple[str, int] | Response:
    return _save_provider(get_or_404(Provider, provider_id))


def check_email(form: PanelForm, name: str) -> None:
    value = form[name].data
    if value and not valid_email(value):
        form.add_error(name, t("providers.bad_email", value=value))


def _save_provider(provider: Provider | None) -> str | tuple[str, int] | Response:
    form = ProviderForm(obj=provider)
    if request.method == "GET":
        return _render_provider_form(provider, form.values, {})
    form.validate()
    check_email(form, "email")
    check_unique(form, Provider, provider, "name")
    if not form.ok:
        return _render_provider_form(provider, form.values, form.messages), 422
    fields = {
        "name": form.name.data,
        "kind": form.kind.data,
        "email": form.email.data or None,
        "description": form.description.data,
        "active": form.active.data,
    }
    provider, created = save_row(
        Provider,
        provider,
        fields,
        lambda row: row.name,
        lambda row: {"kind": row.kind.value, "active": row.active},
    )
    flash(t("providers.created" if created else "providers.saved", name=provider.name), "success")
    return redirect(url_for(".provider", provider_id=provider.id))


def describe_structure(structure: CostStructure) -> str:
    """A price as one line of text ("0,13 € je Stück bis 100; 0,12 € bis 1.000 ..."), or
    what is wrong with it."""
    try:
        spec = structure.spec()
    except StructureError as exc:
        return t("structures.broken", problem="; ".join(stored_text(text) for text in exc.problems))

    if spec.kind in AMOUNT_KINDS:
        text = format_money(spec.amount, exact=True)
        if spec.batch_size:
            text += " " + t("structures.per_batch", size=format_number(spec.batch_size))
        return text
    if spec.kind is StructureKind.SURCHARGE:
        return f"{format_number(spec.percent.normalize())} %"
    parts = []
    for bracket in spec.brackets:
        bound = (
            t("structures.bracket_open")
            if bracket.up_to is None
            else f"≤ {format_number(bracket.up_to)}"
        )
        parts.append(f"{bound}: {format_money(bracket.price, exact=True)}")
    return "; ".join(parts)


# -- services -------------------------------------------------------------------------------------


@bp.get("/services/<int:service_id>")
@role_required(Role.VIEWER)
def service(service_id: int) -> str:
    service = get_or_404(ProviderService, service_id)
    categories = db_session().scalars(
        select(CostCategory)
        .where(CostCategory.service_id == service.id)
        .options(
            selectinload(CostCategory.cost_types),
            selectinload(CostCategory.structures),
            selectinload(CostCategory.expense_category),
        )
        .order_by(CostCategory.id)
    )
    upload_title = None
    process = service.process
    if process is not None and process.upload_target:
        try:
            upload_title = plugin_text(
                get_plugins().upload_targets.get(process.upload_target), "title"
            )
        except UnknownPluginError:
            upload_title = process.upload_target
    return render_template(
        "providers/service.html",
        service=service,
        provider=service.provider,
        categories=list(categories),
        process=process,
        upload_title=upload_title,
        describe=describe_structure,
    )


def _render_service_form(provider, service, values, errors) -> str:
    return render_template(
        "providers/service_form.html",
        provider=provider,
        service=service,
        values=values,
        errors=errors,
    )


@bp.route("/<int:provider_id>/services/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_service(provider_id: int) -> str | tuple[str, int] | Response:
    return _save_service(get_or_404(Provider, provider_id), None)


@bp.route("/services/<int:service_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_service(service_id: int) -> str | tuple[str, int] | Response:
    service = get_or_404(ProviderService, service_id)
    return _save_service(service.provider, service)


def _save_service(
    provider: Provider, service: ProviderService | None
) -> str | tuple[str, int] | Response:
    form = ServiceForm(obj=service)
    if request.method == "GET":
        return _render_service_form(provider, service, form.values, {})
    form.validate()
    check_unique(form, ProviderService, service, "name", provider_id=provider.id)
    if not form.ok:
        return _render_service_form(provider, service, form.values, form.messages), 422
    service, created = save_row(
        ProviderService,
        service,
        {
            "provider_id": provider.id,
            "name": form.name.data,
            "description": form.description.data,
        },
        lambda row: f"{provider.name}: {row.name}",
    )
    flash(t("services.created" if created else "services.saved", name=service.name), "success")
    return redirect(url_for(".service", service_id=service.id))


# -- the provider process -------------------------------------------------------------------------


COLUMN_PARTS = ("header", "field")


def more_rows(rows: int, extra: int, maximum: int) -> int:
    """How many rows a form with rows to add draws: ``extra`` empty ones, as many as its count
    field accepts, and never fewer than those already filled."""
    return max(rows, min(rows + extra, maximum))


class ColumnRowsForm(PanelForm):
    column_rows = WholeNumberField(maximum=COLUMN_ROWS_MAX)
    """How many export column rows the form shows."""


class ProcessForm(ColumnRowsForm):
    file_name_pattern = TextField(required=True)
    raw_values = FlagField()
    notification_subject = TextField(max_length=300)
    notification_template = TextField(max_length=TEMPLATE_LIMIT)
    notification_recipients = TextField(max_length=5000)
    upload_target = TextField()
    result_enabled = FlagField()
    result_delimiter = TextField(max_length=1)
    result_key = TextField()
    result_status = TextField()
    result_sent = TextField(max_length=2000)


def _process_form(rows: int, data: dict[str, Any] | None = None) -> ProcessForm:
    """The process form with ``rows`` export column rows (``column-<n>-header`` and
    ``column-<n>-field``)."""
    columns = {
        f"column-{index}-{part}": TextField() for index in range(rows) for part in COLUMN_PARTS
    }
    return type("ProcessColumnsForm", (ProcessForm,), columns)(data=data)


def _stored_process_form(process: ServiceProcess | None) -> ProcessForm:
    if process is None:
        process = ServiceProcess(
            export_columns=[],
            file_name_pattern=DEFAULT_FILE_NAME,
            notification_recipients=[],
            upload_settings={},
        )
    columns = process.export_columns or []
    data: dict[str, Any] = {
        "file_name_pattern": process.file_name_pattern,
        "raw_values": bool(process.raw_values),
        "notification_subject": process.notification_subject or "",
        "notification_template": process.notification_template or "",
        "notification_recipients": "\n".join(process.notification_recipients or []),
        "upload_target": process.upload_target or "",
        "column_rows": more_rows(len(columns), COLUMN_ROWS_EXTRA, COLUMN_ROWS_MAX),
    }
    for index, column in enumerate(columns):
        data[f"column-{index}-header"] = column.get("header", "")
        data[f"column-{index}-field"] = column.get("field", "")
    result = process.result_format
    data["result_enabled"] = result is not None
    if result is not None:
        data.update(
            result_delimiter=result.get("delimiter", ";"),
            result_key=result.get("key_column", ""),
            result_status=result.get("status_column", ""),
            result_sent="\n".join(result.get("sent_values", [])),
        )
    return _process_form(data["column_rows"], data)


def _upload_form(target: str, settings: dict[str, Any], problems: list[tuple[str, str]]):
    if not target:
        return None
    try:
        cls = get_plugins().upload_targets.get(target)
    except UnknownPluginError:
        return None
    return build_form(
        cls.params_schema(),
        UPLOAD_PREFIX,
        cls.name,
        settings,
        problems,
        OptionResolver(db_session(), get_plugins()),
        plugin_translator(cls),
    )


def _render_process(service, values, errors, settings=None, problems=()) -> str:
    return render_template(
        "providers/process_form.html",
        service=service,
        provider=service.provider,
        values=values,
        errors=errors,
        targets=[(cls.name, plugin_text(cls, "title")) for cls in get_plugins().upload_targets],
        upload_form=_upload_form(values.get("upload_target", ""), settings or {}, list(problems)),
        more_rows=int(values.get("column_rows") or 0) < COLUMN_ROWS_MAX,
    )


@bp.route("/services/<int:service_id>/process", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_process(service_id: int) -> str | tuple[str, int] | Response:
    service = get_or_404(ProviderService, service_id)
    if request.method == "GET":
        process = service.process
        settings = dict(process.upload_settings or {}) if process is not None else {}
        return _render_process(service, _stored_process_form(process).values, {}, settings)
    counted = ColumnRowsForm()
    rows = counted.column_rows.data if counted.validate() else 0
    form = _process_form(rows or 0)
    fields, settings, problems = _read_process(form, rows or 0)
    intent = pressed_button(("save", "more_columns", "refresh"))
    values = form.values
    values["column_rows"] = rows or 0  # the count read, not a number typed over it
    if intent != "save":
        if intent == "more_columns":
            values["column_rows"] = more_rows(rows or 0, COLUMN_ROWS_EXTRA, COLUMN_ROWS_MAX)
        return _render_process(service, values, {}, settings, problems)
    if not form.ok or problems:
        return _render_process(service, values, form.messages, settings, problems), 422
    session = db_session()
    process = service.process
    if process is None:
        process = ServiceProcess(service_id=service.id)
        session.add(process)
    for key, value in fields.items():
        setattr(process, key, value)
    session.flush()
    record_audit(
        session,
        username(),
        "provider_process.update",
        "provider_service",
        service.id,
        f"{service.provider.name}: {service.name}",
        {
            "columns": len(fields["export_columns"]),
            "upload_target": fields["upload_target"],
            "recipients": fields["notification_recipients"],
        },
    )
    session.commit()
    flash(t("provider_process.saved"), "success")
    return redirect(url_for(".service", service_id=service.id) + "#process-heading")


def template_problem(error: TemplateError) -> str:
    """The sandbox's reason, with the template line when it has one."""
    problem = stored_text(error.reason)
    if error.lineno:
        return t("provider_process.bad_template_line", line=error.lineno, problem=problem)
    return t("provider_process.bad_template", problem=problem)


def _read_process(
    form: ProcessForm, rows: int
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]:
    """The process as submitted (export columns, file name, notification, upload, result),
    each problem the supplier workflow would meet put on its input: this is the one check of
    a process before it is stored."""
    form.validate()
    columns = []
    for index in range(rows):
        header = form[f"column-{index}-header"].data
        field = form[f"column-{index}-field"].data
        if header and not field:
            form.add_error(f"column-{index}-field", t("forms.required"))
        elif field and not header:
            form.add_error(f"column-{index}-header", t("forms.required"))
        elif header:
            columns.append({"header": header, "field": field})
    half_filled = any(
        form[f"column-{index}-{part}"].errors for index in range(rows) for part in COLUMN_PARTS
    )
    if not columns and not half_filled:
        form.add_error("column-0-field" if rows else "form", t("provider_process.no_columns"))
    pattern = form.file_name_pattern.data
    if pattern and not form.file_name_pattern.errors:
        try:
            check_file_name_pattern(pattern)
        except NamePatternError as exc:
            form.add_error(
                "file_name_pattern", t(f"provider_process.pattern.{exc.code}", **exc.params)
            )
    subject, template = form.notification_subject.data, form.notification_template.data
    for name, source in (("notification_subject", subject), ("notification_template", template)):
        if source and not form[name].errors:
            try:
                check_notification(name, source)
            except TemplateError as exc:
                form.add_error(name, template_problem(exc))
    recipients = []
    for line in form.notification_recipients.data.splitlines():
        address = line.strip()
        if not address:
            continue
        if not valid_email(address):
            form.add_error("notification_recipients", t("providers.bad_email", value=address))
        recipients.append(address)
    target = form.upload_target.data or None
    settings: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    if target is not None:
        try:
            cls = get_plugins().upload_targets.get(target)
        except UnknownPluginError:
            form.add_error("upload_target", t("forms.not_a_choice", value=target))
        else:
            if submitted_plugin(request.form, UPLOAD_PREFIX) == target:
                settings, problems = parse_form(cls.params_schema(), request.form, UPLOAD_PREFIX)
                problems = all_problems(cls, settings, problems)
                if not problems:
                    settings = cls.validate_params(settings).model_dump(mode="json")
    result = None
    if form.result_enabled.data:
        for name in ("result_delimiter", "result_key", "result_status", "result_sent"):
            if not form[name].data:
                form.add_error(name, t("forms.required"))
        result = {
            "delimiter": form.result_delimiter.data,
            "key_column": form.result_key.data,
            "status_column": form.result_status.data,
            "sent_values": [
                value.strip() for value in form.result_sent.data.splitlines() if value.strip()
            ],
        }
        if not result["sent_values"]:
            form.add_error("result_sent", t("forms.required"))
        if all(column["field"] != REFERENCE_FIELD for column in columns):
            form.add_error(
                "result_key", t("provider_process.no_reference_column", field=REFERENCE_FIELD)
            )
    fields = {
        "export_columns": columns,
        "file_name_pattern": pattern,
        "raw_values": form.raw_values.data,
        "notification_subject": subject,
        "notification_template": template,
        "notification_recipients": recipients,
        "upload_target": target,
        "upload_settings": settings if target else {},
        "result_format": result,
    }
    return fields, settings, problems
