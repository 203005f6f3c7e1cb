"""Reports: the list by group, the editor with its live preview, copies, deletion and assets.

Viewers see everything read-only; campaign managers create, change, copy and delete. The
preview posts the editor's form (saved or not) and answers with the PDF, or with a small
page naming the problem and its line, into the frame beside the editor.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import load_only

from core.audit import record_audit
from core.documents.rendering import SUB_REPORTS
from core.models import Campaign, Report, ReportAsset, Role
from core.models.documents import MAX_ASSET_BYTES
from webapp.context import current_user, current_username, db_session, get_settings
from webapp.formatting import format_bytes
from webapp.i18n import stored_text, t
from webapp.imports import upload_size
from webapp.pagination import page_arguments, paginate, search_argument, search_condition
from webapp.reports.assets import asset_filename, upload_problem
from webapp.reports.forms import ConfirmForm, ReportForm
from webapp.reports.placeholders import placeholder_groups
from webapp.reports.preview import (
    PreviewProblem,
    find_sample,
    render_preview,
    sample_record,
    unsaved_copy,
)
from webapp.security import role_required

bp = Blueprint(
    "reports",
    __name__,
    url_prefix="/reports",
    template_folder="templates",
    static_folder="static",
)

FRAMEABLE = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; frame-ancestors 'self'",
}
"""Preview answers are shown in the frame beside the editor, on this site only."""


def _report(report_id: int) -> Report:
    report = db_session().get(Report, report_id)
    if report is None:
        abort(404)
    return report


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    search = search_argument(request.args)
    group = request.args.get("group", "")
    query = (
        select(Report)
        .options(
            load_only(
                Report.name,
                Report.group,
                Report.description,
                Report.usable_for_mass_print,
                Report.distribution_list,
                Report.page_format,
                Report.orientation,
                Report.address_window,
                Report.updated_at,
            )
        )
        .order_by(Report.group, Report.name, Report.id)
    )
    if search:
        query = query.where(search_condition(search, Report.name, Report.description))
    if group:
        query = query.where(Report.group == group)
    page = paginate(session, query, *page_arguments(request.args))
    groups = session.scalars(select(Report.group).distinct().order_by(Report.group)).all()
    return render_template(
        "reports/list.html", page=page, search=search, group=group, groups=groups
    )


def _editor(form: ReportForm, report: Report | None, status: int = 200) -> ResponseReturnValue:
    session = db_session()
    groups = session.scalars(
        select(Report.group).where(Report.group != "").distinct().order_by(Report.group)
    ).all()
    usage = report_usage(report) if report is not None else ([], [])
    page = render_template(
        "reports/edit.html",
        form=form,
        report=report,
        groups=groups,
        placeholders=placeholder_groups(session),
        usage=usage,
        confirm=ConfirmForm(),
        can_edit=current_user().role.includes(Role.CAMPAIGN_MANAGER),
    )
    return page, status


@bp.get("/new")
@role_required(Role.CAMPAIGN_MANAGER)
def new() -> ResponseReturnValue:
    form = ReportForm(
        data={"margin_top": 27.0, "margin_right": 20.0, "margin_bottom": 25.0, "margin_left": 25.0}
    )
    form.offer_sub_reports(db_session(), None)
    return _editor(form, None)


@bp.post("/new")
@role_required(Role.CAMPAIGN_MANAGER)
def create() -> ResponseReturnValue:
    session = db_session()
    form = ReportForm()
    form.offer_sub_reports(session, None)
    report = Report()
    if not (form.validate() and form.fill(report, session)):
        session.rollback()
        return _editor(form, None, 422)
    session.add(report)
    session.flush()
    record_audit(session, current_username(), "report.create", "report", report.id, report.name)
    session.commit()
    flash(t("reports.flash.created", name=report.name), "success")
    return redirect(url_for("reports.edit", report_id=report.id))


@bp.get("/<int:report_id>")
@role_required(Role.VIEWER)
def edit(report_id: int) -> ResponseReturnValue:
    report = _report(report_id)
    form = ReportForm(formdata=None)
    form.offer_sub_reports(db_session(), report.id)
    form.load(report)
    return _editor(form, report)


@bp.post("/<int:report_id>")
@role_required(Role.CAMPAIGN_MANAGER)
def save(report_id: int) -> ResponseReturnValue:
    session = db_session()
    report = _report(report_id)
    form = ReportForm()
    form.offer_sub_reports(session, report.id)
    if not (form.validate() and form.fill(report, session)):
        session.rollback()
        return _editor(form, _report(report_id), 422)
    changed = sorted(
        attribute.key
        for attribute in inspect(report).attrs
        if attribute.history.has_changes() and attribute.key != "updated_at"
    )
    record_audit(
        session,
        current_username(),
        "report.update",
        "report",
        report.id,
        report.name,
        {"changed": changed},
    )
    session.commit()
    flash(t("reports.flash.saved", name=report.name), "success")
    return redirect(url_for("reports.edit", report_id=report.id))


@bp.post("/preview")
@bp.post("/<int:report_id>/preview")
@role_required(Role.CAMPAIGN_MANAGER)
def preview(report_id: int | None = None) -> ResponseReturnValue:
    """The editor's form as it stands, saved or not, rendered for the sample recipient."""
    session = db_session()
    stored = _report(report_id) if report_id is not None else None
    form = ReportForm()
    form.offer_sub_reports(session, report_id)
    report = unsaved_copy(stored)
    try:
        if not form.validate() or not form.fill(report, session):
            wrong = next(field for field in form if field.errors)
            if wrong is form.layout and form.layout_error is not None:
                error = form.layout_error
                problem = PreviewProblem(stored_text(error.reason), "layout", error.lineno)
            else:
                problem = PreviewProblem("; ".join(map(str, wrong.errors)), wrong.name)
            return _preview_failed(problem)
        return _preview_response(report, form.sample.data)
    finally:
        session.rollback()


@bp.get("/<int:report_id>/preview.pdf")
@role_required(Role.VIEWER)
def stored_preview(report_id: int) -> ResponseReturnValue:
    """The stored report rendered for the sample recipient (for readers of the report)."""
    return _preview_response(_report(report_id), request.args.get("sample", ""))


def _preview_response(report: Report, sample: str | None) -> ResponseReturnValue:
    session = db_session()
    try:
        contact_id = None
        if sample and sample.strip():
            contact_id = find_sample(session, sample)
            if contact_id is None:
                raise PreviewProblem(t("reports.preview.no_contact", text=sample), "sample")
        pdf = render_preview(
            session,
            report,
            sample_record(session, contact_id),
            get_settings().data_dir / "cache" / "report-assets",
            t("reports.preview.campaign"),
        )
    except PreviewProblem as problem:
        return _preview_failed(problem)
    headers = {
        **FRAMEABLE,
        "Content-Security-Policy": "frame-ancestors 'self'",
        "Content-Disposition": 'inline; filename="preview.pdf"',
    }
    return Response(pdf, mimetype="application/pdf", headers=headers)


def _preview_failed(problem: PreviewProblem) -> ResponseReturnValue:
    return render_template("reports/preview_error.html", problem=problem), 422, FRAMEABLE


def report_usage(report: Report) -> tuple[list[str], list[str]]:
    """The campaigns whose action prints ``report`` and the reports it is a part of."""
    session = db_session()
    names = {report.name, str(report.id)}
    campaigns = [
        name
        for name, settings in session.execute(select(Campaign.name, Campaign.action_settings))
        if str((settings or {}).get("report")) in names
    ]
    as_part = or_(*(getattr(Report, f"{part}_id") == report.id for part in SUB_REPORTS))
    reports = list(session.scalars(select(Report.name).where(as_part).order_by(Report.name)))
    return sorted(campaigns), reports


def _copy_name(name: str) -> str:
    session = db_session()
    base = t("reports.copy_name", name=name)[:190]
    candidate, number = base, 2
    while session.scalar(select(Report.id).where(Report.name == candidate)) is not None:
        candidate, number = f"{base} ({number})", number + 1
    return candidate


@bp.post("/<int:report_id>/copy")
@role_required(Role.CAMPAIGN_MANAGER)
def copy(report_id: int) -> ResponseReturnValue:
    session = db_session()
    original = _report(report_id)
    duplicate = Report(
        name=_copy_name(original.name),
        group=original.group,
        description=original.description,
        usable_for_mass_print=original.usable_for_mass_print,
        distribution_list=original.distribution_list,
        address_kind=original.address_kind,
        page_format=original.page_format,
        orientation=original.orientation,
        margin_top=original.margin_top,
        margin_right=original.margin_right,
        margin_bottom=original.margin_bottom,
        margin_left=original.margin_left,
        address_window=original.address_window,
        letterhead=original.letterhead,
        header=original.header,
        footer=original.footer,
        layout=original.layout,
        stylesheet=original.stylesheet,
    )
    for asset in original.assets:
        duplicate.add_asset(asset.filename, asset.data)
    session.add(duplicate)
    session.flush()
    record_audit(
        session,
        current_username(),
        "report.copy",
        "report",
        duplicate.id,
        f"{original.name} → {duplicate.name}",
        {"from": original.id},
    )
    session.commit()
    flash(t("reports.flash.copied", name=duplicate.name), "success")
    return redirect(url_for("reports.edit", report_id=duplicate.id))


@bp.get("/<int:report_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_delete(report_id: int) -> str:
    report = _report(report_id)
    campaigns, reports = report_usage(report)
    return render_template(
        "reports/delete.html",
        report=report,
        campaigns=campaigns,
        reports=reports,
        form=ConfirmForm(),
    )


@bp.post("/<int:report_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete(report_id: int) -> ResponseReturnValue:
    session = db_session()
    report = _report(report_id)
    campaigns, reports = report_usage(report)
    if campaigns or reports:
        flash(t("reports.flash.in_use", name=report.name), "error")
        return redirect(url_for("reports.confirm_delete", report_id=report.id))
    record_audit(session, current_username(), "report.delete", "report", report.id, report.name)
    session.delete(report)
    session.commit()
    flash(t("reports.flash.deleted", name=report.name), "success")
    return redirect(url_for("reports.index"))


# --- images and fonts --------------------------------------------------------------------


@bp.post("/<int:report_id>/assets")
@role_required(Role.CAMPAIGN_MANAGER)
def upload_asset(report_id: int) -> ResponseReturnValue:
    session = db_session()
    report = _report(report_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(t("reports.asset.error.missing"), "error")
        return redirect(url_for("reports.edit", report_id=report.id, _anchor="assets"))
    filename = asset_filename(upload.filename)
    size = upload_size(upload)
    if size > MAX_ASSET_BYTES:  # refused by its size, before it is read
        reason = t(
            "reports.asset.error.size", size=format_bytes(size), limit=format_bytes(MAX_ASSET_BYTES)
        )
        flash(t("reports.asset.refused", name=upload.filename, reason=reason), "error")
        return redirect(url_for("reports.edit", report_id=report.id, _anchor="assets"))
    data = upload.read()
    problem = upload_problem(report, filename, data)
    if problem:
        flash(t("reports.asset.refused", name=upload.filename, reason=problem), "error")
        return redirect(url_for("reports.edit", report_id=report.id, _anchor="assets"))
    asset = report.add_asset(filename, data)
    session.flush()
    record_audit(
        session,
        current_username(),
        "report.asset_upload",
        "report",
        report.id,
        f"{report.name}: {filename}",
        {"asset": asset.id, "size": len(data), "sha256": asset.sha256},
    )
    session.commit()
    flash(t("reports.asset.uploaded", name=filename), "success")
    return redirect(url_for("reports.edit", report_id=report.id, _anchor="assets"))


def _asset(report_id: int, asset_id: int) -> ReportAsset:
    asset = db_session().get(ReportAsset, asset_id)
    if asset is None or asset.report_id != report_id:
        abort(404)
    return asset


@bp.get("/<int:report_id>/assets/<int:asset_id>")
@role_required(Role.VIEWER)
def asset(report_id: int, asset_id: int) -> Response:
    found = _asset(report_id, asset_id)
    disposition = "inline" if found.content_type.startswith("image/") else "attachment"
    return Response(
        found.data,
        mimetype=found.content_type,
        headers={"Content-Disposition": f'{disposition}; filename="{found.filename}"'},
    )


@bp.post("/<int:report_id>/assets/<int:asset_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_asset(report_id: int, asset_id: int) -> ResponseReturnValue:
    session = db_session()
    found = _asset(report_id, asset_id)
    report = found.report
    record_audit(
        session,
        current_username(),
        "report.asset_delete",
        "report",
        report.id,
        f"{report.name}: {found.filename}",
        {"asset": found.id},
    )
    report.assets.remove(found)
    session.commit()
    flash(t("reports.asset.deleted", name=found.filename), "success")
    return redirect(url_for("reports.edit", report_id=report_id, _anchor="assets"))
