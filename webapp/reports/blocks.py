"""Address patterns and text blocks: the reusable templates every report can insert."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from core.audit import record_audit
from core.documents.templating import TemplateError
from core.models import AddressPattern, Report, Role, TextBlock
from webapp.context import current_user, current_username, db_session
from webapp.forms import add_error
from webapp.i18n import t
from webapp.reports.forms import AddressPatternForm, ConfirmForm, TextBlockForm, template_error_text
from webapp.reports.views import bp
from webapp.security import role_required


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role.includes(Role.CAMPAIGN_MANAGER)


# --- address patterns --------------------------------------------------------------------


@bp.get("/address-patterns/")
@role_required(Role.VIEWER)
def patterns() -> str:
    rows = db_session().scalars(select(AddressPattern).order_by(AddressPattern.name)).all()
    return render_template("reports/patterns.html", patterns=rows, form=ConfirmForm())


def _pattern(pattern_id: int) -> AddressPattern:
    pattern = db_session().get(AddressPattern, pattern_id)
    if pattern is None:
        abort(404)
    return pattern


def _fill_pattern(form: AddressPatternForm, pattern: AddressPattern) -> bool:
    session = db_session()
    ok = form.validate()
    if not ok:
        return False
    name = form.name.data
    taken = session.scalar(
        select(AddressPattern.id).where(
            AddressPattern.name == name, AddressPattern.id != pattern.id
        )
    )
    if taken is not None:
        add_error(form.name, t("reports.error.name_taken", name=name))
        ok = False
    codes = [
        code for code in (form.countries.data or "").replace(";", ",").split(",") if code.strip()
    ]
    try:
        pattern.countries = codes
    except ValueError:
        add_error(form.countries, t("reports.pattern.error.countries"))
        ok = False
    try:
        pattern.template = form.template.data
    except TemplateError as exc:
        add_error(form.template, template_error_text(exc))
        ok = False
    if ok:
        pattern.name = name
    return ok


def _pattern_page(form: AddressPatternForm, pattern: AddressPattern | None, status: int = 200):
    page = render_template(
        "reports/pattern_edit.html", form=form, pattern=pattern, can_edit=_can_edit()
    )
    return page, status


@bp.route("/address-patterns/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_pattern() -> ResponseReturnValue:
    form = AddressPatternForm()
    if request.method == "GET":
        return _pattern_page(form, None)
    session = db_session()
    pattern = AddressPattern()
    if not _fill_pattern(form, pattern):
        session.rollback()
        return _pattern_page(form, None, 422)
    session.add(pattern)
    session.flush()
    record_audit(
        session,
        current_username(),
        "address_pattern.create",
        "address_pattern",
        pattern.id,
        pattern.name,
    )
    session.commit()
    flash(t("reports.flash.created", name=pattern.name), "success")
    return redirect(url_for("reports.patterns"))


@bp.get("/address-patterns/<int:pattern_id>")
@role_required(Role.VIEWER)
def edit_pattern(pattern_id: int) -> ResponseReturnValue:
    pattern = _pattern(pattern_id)
    form = AddressPatternForm(formdata=None, obj=pattern)
    form.countries.data = ", ".join(pattern.countries)
    return _pattern_page(form, pattern)


@bp.post("/address-patterns/<int:pattern_id>")
@role_required(Role.CAMPAIGN_MANAGER)
def save_pattern(pattern_id: int) -> ResponseReturnValue:
    session = db_session()
    pattern = _pattern(pattern_id)
    form = AddressPatternForm()
    if not _fill_pattern(form, pattern):
        session.rollback()
        return _pattern_page(form, _pattern(pattern_id), 422)
    record_audit(
        session,
        current_username(),
        "address_pattern.update",
        "address_pattern",
        pattern.id,
        pattern.name,
    )
    session.commit()
    flash(t("reports.flash.saved", name=pattern.name), "success")
    return redirect(url_for("reports.patterns"))


@bp.post("/address-patterns/<int:pattern_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_pattern(pattern_id: int) -> ResponseReturnValue:
    session = db_session()
    pattern = _pattern(pattern_id)
    record_audit(
        session,
        current_username(),
        "address_pattern.delete",
        "address_pattern",
        pattern.id,
        pattern.name,
    )
    session.delete(pattern)
    session.commit()
    flash(t("reports.flash.deleted", name=pattern.name), "success")
    return redirect(url_for("reports.patterns"))


# --- text blocks -------------------------------------------------------------------------


@bp.get("/text-blocks/")
@role_required(Role.VIEWER)
def text_blocks() -> str:
    rows = db_session().scalars(select(TextBlock).order_by(TextBlock.name)).all()
    return render_template("reports/text_blocks.html", blocks=rows, form=ConfirmForm())


def _block(block_id: int) -> TextBlock:
    block = db_session().get(TextBlock, block_id)
    if block is None:
        abort(404)
    return block


def _fill_block(form: TextBlockForm, block: TextBlock) -> bool:
    session = db_session()
    if not form.validate():
        return False
    ok = True
    name = form.name.data
    taken = session.scalar(
        select(TextBlock.id).where(TextBlock.name == name, TextBlock.id != block.id)
    )
    if taken is not None:
        add_error(form.name, t("reports.error.name_taken", name=name))
        ok = False
    try:
        block.name = name
    except ValueError:
        add_error(form.name, t("reports.text.error.name"))
        ok = False
    try:
        block.body = form.body.data
    except TemplateError as exc:
        add_error(form.body, template_error_text(exc))
        ok = False
    return ok


def _block_page(form: TextBlockForm, block: TextBlock | None, status: int = 200):
    page = render_template(
        "reports/text_block_edit.html", form=form, block=block, can_edit=_can_edit()
    )
    return page, status


@bp.route("/text-blocks/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_text_block() -> ResponseReturnValue:
    form = TextBlockForm()
    if request.method == "GET":
        return _block_page(form, None)
    session = db_session()
    block = TextBlock()
    if not _fill_block(form, block):
        session.rollback()
        return _block_page(form, None, 422)
    session.add(block)
    session.flush()
    record_audit(
        session, current_username(), "text_block.create", "text_block", block.id, block.name
    )
    session.commit()
    flash(t("reports.flash.created", name=block.name), "success")
    return redirect(url_for("reports.text_blocks"))


@bp.get("/text-blocks/<int:block_id>")
@role_required(Role.VIEWER)
def edit_text_block(block_id: int) -> ResponseReturnValue:
    block = _block(block_id)
    return _block_page(TextBlockForm(formdata=None, obj=block), block)


@bp.post("/text-blocks/<int:block_id>")
@role_required(Role.CAMPAIGN_MANAGER)
def save_text_block(block_id: int) -> ResponseReturnValue:
    session = db_session()
    block = _block(block_id)
    form = TextBlockForm()
    if not _fill_block(form, block):
        session.rollback()
        return _block_page(form, _block(block_id), 422)
    record_audit(
        session, current_username(), "text_block.update", "text_block", block.id, block.name
    )
    session.commit()
    flash(t("reports.flash.saved", name=block.name), "success")
    return redirect(url_for("reports.text_blocks"))


@bp.post("/text-blocks/<int:block_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_text_block(block_id: int) -> ResponseReturnValue:
    session = db_session()
    block = _block(block_id)
    users = session.scalars(
        select(Report.name)
        .where(Report.layout.contains(f"text.{block.name}", autoescape=True))
        .order_by(Report.name)
    ).all()
    if users:
        flash(t("reports.text.in_use", name=block.name, reports=", ".join(users)), "error")
        return redirect(url_for("reports.text_blocks"))
    record_audit(
        session, current_username(), "text_block.delete", "text_block", block.id, block.name
    )
    session.delete(block)
    session.commit()
    flash(t("reports.flash.deleted", name=block.name), "success")
    return redirect(url_for("reports.text_blocks"))
