"""Providers and their services: the provider list, a provider's services, a service's
cost categories with their types and prices (``providers.prices``), and what happens with
a service's deliveries at the provider: the extraction file, the notification to the
router, the upload and the result file (``service_processes``, read by supplierMgt)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.mail import valid_email
from core.models import Role
from core.plugins import UnknownPluginError
from core.templating import TemplateError
from core.uploads import NamePatternError
from plugins.processes.costs import AMOUNT_KINDS, CostError, StructureKind
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
    check_file_name_pattern,
    check_notification,
)
from webapp import (
    FormReader,
    OptionResolver,
    all_problems,
    build_form,
    check_unique,
    db_session,
    format_number,
    get_or_404,
    get_plugins,
    parse_form,
    plugin_text,
    role_required,
    save_row,
    submitted_plugin,
    t,
    username,
)

bp = Blueprint("providers", __name__, url_prefix="/providers", template_folder="templates")

UPLOAD_PREFIX = "up"
COLUMN_ROWS_EXTRA = 3
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


def _provider_values(provider: Provider | None) -> dict[str, Any]:
    if provider is None:
        return {"kind": ProviderKind.OTHER.value, "active": True}
    return {
        "name": provider.name,
        "kind": provider.kind.value,
        "email": provider.email or "",
        "description": provider.description,
        "active": provider.active,
    }


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


def read_email(reader: FormReader, name: str) -> str | None:
    value = reader.text(name, max_length=254)
    if value and not valid_email(value):
        reader.error(name, t("providers.bad_email", value=value))
    return value or None


def _save_provider(provider: Provider | None) -> str | tuple[str, int] | Response:
    if request.method == "GET":
        return _render_provider_form(provider, _provider_values(provider), {})
    reader = FormReader(request.form)
    fields = {
        "name": reader.text("name", required=True),
        "kind": reader.choice("kind", ProviderKind),
        "email": read_email(reader, "email"),
        "description": reader.text("description", max_length=5000),
        "active": reader.flag("active"),
    }
    check_unique(reader, Provider, provider, "name")
    if not reader.ok:
        return _render_provider_form(provider, reader.values, reader.errors), 422
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
    except CostError as exc:
        return t("structures.broken", problem=str(exc).rpartition(": ")[2])

    def eur(value: Decimal) -> str:
        return f"{format_number(value.normalize() if value % 1 else value.quantize(1))} €"

    if spec.kind in AMOUNT_KINDS:
        text = eur(spec.amount)
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
        parts.append(f"{bound}: {eur(bracket.price)}")
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
    if request.method == "GET":
        values = (
            {} if service is None else {"name": service.name, "description": service.description}
        )
        return _render_service_form(provider, service, values, {})
    reader = FormReader(request.form)
    name = reader.text("name", required=True)
    description = reader.text("description", max_length=5000)
    check_unique(reader, ProviderService, service, "name", provider_id=provider.id)
    if not reader.ok:
        return _render_service_form(provider, service, reader.values, reader.errors), 422
    service, created = save_row(
        ProviderService,
        service,
        {"provider_id": provider.id, "name": name, "description": description},
        lambda row: f"{provider.name}: {row.name}",
    )
    flash(t("services.created" if created else "services.saved", name=service.name), "success")
    return redirect(url_for(".service", service_id=service.id))


# -- the provider process -------------------------------------------------------------------------


def _process_values(process: ServiceProcess | None) -> dict[str, Any]:
    if process is None:
        process = ServiceProcess(
            export_columns=[],
            file_name_pattern=DEFAULT_FILE_NAME,
            notification_recipients=[],
            upload_settings={},
        )
    values: dict[str, Any] = {
        "file_name_pattern": process.file_name_pattern,
        "raw_values": bool(process.raw_values),
        "notification_subject": process.notification_subject or "",
        "notification_template": process.notification_template or "",
        "notification_recipients": "\n".join(process.notification_recipients or []),
        "upload_target": process.upload_target or "",
        "column_rows": len(process.export_columns or []) + COLUMN_ROWS_EXTRA,
    }
    for index, column in enumerate(process.export_columns or []):
        values[f"column-{index}-header"] = column.get("header", "")
        values[f"column-{index}-field"] = column.get("field", "")
    result = process.result_format
    values["result_enabled"] = result is not None
    if result is not None:
        values.update(
            result_delimiter=result.get("delimiter", ";"),
            result_key=result.get("key_column", ""),
            result_status=result.get("status_column", ""),
            result_sent="\n".join(result.get("sent_values", [])),
        )
    return values


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
    )


@bp.route("/services/<int:service_id>/process", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_process(service_id: int) -> str | tuple[str, int] | Response:
    service = get_or_404(ProviderService, service_id)
    if request.method == "GET":
        process = service.process
        settings = dict(process.upload_settings or {}) if process is not None else {}
        return _render_process(service, _process_values(process), {}, settings)
    reader = FormReader(request.form)
    fields, settings, problems = _read_process(reader)
    if request.form.get("intent") != "save":
        if request.form.get("intent") == "more_columns":
            reader.values["column_rows"] = int(reader.values["column_rows"]) + COLUMN_ROWS_EXTRA
        return _render_process(service, reader.values, {}, settings, problems)
    if not reader.ok or problems:
        return _render_process(service, reader.values, reader.errors, settings, problems), 422
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
    if error.lineno:
        return t("provider_process.bad_template_line", line=error.lineno, problem=error.reason)
    return t("provider_process.bad_template", problem=error.reason)


def _read_process(reader: FormReader) -> tuple[dict[str, Any], dict[str, Any], list]:
    """The process as submitted: export columns, file name, notification, upload, result."""
    rows = reader.integer("column_rows", minimum=0, maximum=200) or 0
    columns = []
    for index in range(rows):
        header = reader.text(f"column-{index}-header")
        field = reader.text(f"column-{index}-field")
        if header and not field:
            reader.error(f"column-{index}-field", t("forms.required"))
        elif field and not header:
            reader.error(f"column-{index}-header", t("forms.required"))
        elif header:
            columns.append({"header": header, "field": field})
    pattern = reader.text("file_name_pattern", required=True)
    if pattern:
        try:
            check_file_name_pattern(pattern)
        except NamePatternError as exc:
            reader.error(
                "file_name_pattern", t(f"provider_process.pattern.{exc.code}", **exc.params)
            )
    subject = reader.text("notification_subject", max_length=300)
    template = reader.text("notification_template", max_length=TEMPLATE_LIMIT)
    for name, source in (("notification_subject", subject), ("notification_template", template)):
        if source and name not in reader.errors:
            try:
                check_notification(name, source)
            except TemplateError as exc:
                reader.error(name, template_problem(exc))
    recipients = []
    for line in reader.text("notification_recipients", max_length=5000).splitlines():
        address = line.strip()
        if not address:
            continue
        if not valid_email(address):
            reader.error("notification_recipients", t("providers.bad_email", value=address))
        recipients.append(address)
    target = reader.raw("upload_target") or None
    settings: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    if target is not None:
        try:
            cls = get_plugins().upload_targets.get(target)
        except UnknownPluginError:
            reader.error("upload_target", t("forms.not_a_choice", value=target))
        else:
            if submitted_plugin(request.form, UPLOAD_PREFIX) == target:
                settings, problems = parse_form(cls.params_schema(), request.form, UPLOAD_PREFIX)
                problems = all_problems(cls, settings, problems)
                if not problems:
                    settings = cls.validate_params(settings).model_dump(mode="json")
    result = None
    if reader.flag("result_enabled"):
        result = {
            "delimiter": reader.text("result_delimiter", required=True, max_length=1),
            "key_column": reader.text("result_key", required=True),
            "status_column": reader.text("result_status", required=True),
            "sent_values": [
                value.strip()
                for value in reader.text("result_sent", max_length=2000).splitlines()
                if value.strip()
            ],
        }
        if not result["sent_values"]:
            reader.error("result_sent", t("forms.required"))
    fields = {
        "export_columns": columns,
        "file_name_pattern": pattern,
        "raw_values": reader.flag("raw_values"),
        "notification_subject": subject,
        "notification_template": template,
        "notification_recipients": recipients,
        "upload_target": target,
        "upload_settings": settings if target else {},
        "result_format": result,
    }
    return fields, settings, problems
