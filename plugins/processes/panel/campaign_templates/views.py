"""Campaign templates: the list, the form (kind, model campaign, schedule), a template's page
with its schedule lines, and what a person decides about a line: approve it, let it start,
skip it (``plugins.processes.template_setup``, which the API uses too).

Creating the lines and starting them is operationMgt's part: a line the panel lets start is
started by the workflow's next pass, and its run still waits for a person's confirmation of
the count.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.models import Campaign, Role, Run, User
from plugins.processes.models import (
    CampaignTemplate,
    Frequency,
    Program,
    TemplateKind,
    TemplateOccurrence,
)
from plugins.processes.panel.choices import program_choices
from plugins.processes.template_setup import (
    DESCRIPTION_LENGTH,
    FIELDS,
    MAX_ADVANCE_DAYS,
    MAX_EVERY,
    NAME_LENGTH,
    LineAction,
    decide_line,
    delete_if_unstarted,
    deletion_audit,
    has_started,
    line_audit,
    template_details,
    template_problems,
    upcoming,
)
from webapp import (
    ChoiceField,
    EnumField,
    FlagField,
    LocalDateTimeField,
    PanelForm,
    TextField,
    WholeNumberField,
    acting_user,
    db_session,
    format_datetime,
    get_or_404,
    get_runtime,
    names_by_id,
    page_arguments,
    paginate,
    role_required,
    save_row,
    t,
    username,
)

bp = Blueprint("templates", __name__, url_prefix="/templates", template_folder="templates")

LIST_PAGE_SIZE = 25
LINES_PAGE_SIZE = 25


class TemplateForm(PanelForm):
    name = TextField(required=True, max_length=NAME_LENGTH)
    description = TextField(max_length=DESCRIPTION_LENGTH)
    kind = EnumField(TemplateKind, required=True)
    campaign_id = ChoiceField(required=True)
    program_id = ChoiceField()
    frequency = EnumField(Frequency)
    every = WholeNumberField(required=True, minimum=1, maximum=MAX_EVERY, default=1)
    first_at = LocalDateTimeField()
    until = LocalDateTimeField()
    create_in_advance_days = WholeNumberField(required=True, maximum=MAX_ADVANCE_DAYS, default=0)
    to_be_approved = FlagField()
    to_be_started = FlagField(default=True)
    active = FlagField(default=True)


def now() -> datetime:
    return get_runtime().clock.now()


# -- the list -------------------------------------------------------------------------------------


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    number, _size = page_arguments(request.args)
    page = paginate(
        session,
        select(CampaignTemplate).order_by(CampaignTemplate.name, CampaignTemplate.id),
        number,
        LIST_PAGE_SIZE,
    )
    return render_template(
        "campaign_templates/index.html",
        page=page,
        campaigns=names_by_id(Campaign.name, {row.campaign_id for row in page.items}),
        upcoming=upcoming(session, page.items, now()),
    )


# -- the form -------------------------------------------------------------------------------------


def _campaign_choices() -> list[tuple[int, str]]:
    rows = db_session().execute(select(Campaign.id, Campaign.name).order_by(Campaign.name))
    return [(row.id, row.name) for row in rows]


def _render_form(template, values, errors) -> str:
    session = db_session()
    return render_template(
        "campaign_templates/form.html",
        template=template,
        values=values,
        errors=errors,
        campaigns=_campaign_choices(),
        programs=program_choices(session),
        kinds=[(kind.value, t(f"templates.kind.{kind.value}")) for kind in TemplateKind],
        frequency_choices=[
            (frequency.value, t(f"templates.frequency.{frequency.value}"))
            for frequency in Frequency
        ],
        has_lines=template is not None and bool(template.occurrences),
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new() -> str | tuple[str, int] | Response:
    return _save(None)


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit(template_id: int) -> str | tuple[str, int] | Response:
    return _save(get_or_404(CampaignTemplate, template_id))


def _save(template: CampaignTemplate | None) -> str | tuple[str, int] | Response:
    form = TemplateForm(obj=template)
    if request.method == "GET":
        return _render_form(template, form.values, {})
    session = db_session()
    form.campaign_id.choices = _campaign_choices()
    form.program_id.choices = program_choices(session)
    form.validate()
    fields = {name: form[name].data for name in FIELDS}
    for name, problem in template_problems(session, fields, template).items():
        form.add_error(name, problem)
    if not form.ok:
        return _render_form(template, form.values, form.messages), 422
    template, created = save_row(
        CampaignTemplate, template, fields, lambda row: row.name, template_details
    )
    flash(t("templates.created" if created else "templates.saved", name=template.name), "success")
    return redirect(url_for(".template", template_id=template.id))


# -- a template's page ----------------------------------------------------------------------------


@bp.get("/<int:template_id>")
@role_required(Role.VIEWER)
def template(template_id: int) -> str:
    session = db_session()
    row = get_or_404(CampaignTemplate, template_id)
    number, _size = page_arguments(request.args)
    page = paginate(
        session,
        select(TemplateOccurrence)
        .where(TemplateOccurrence.template_id == row.id)
        .order_by(TemplateOccurrence.number.desc()),
        number,
        LINES_PAGE_SIZE,
    )
    run_ids = {line.run_id for line in page.items} - {None}
    runs = session.execute(
        select(Run.id, Run.campaign_id, Run.number).where(Run.id.in_(run_ids))
    ).all()
    return render_template(
        "campaign_templates/template.html",
        template=row,
        page=page,
        upcoming=upcoming(session, [row], now())[row.id],
        program=session.get(Program, row.program_id) if row.program_id else None,
        approvers=names_by_id(User.username, {line.approved_by_id for line in page.items}),
        runs={run.id: run for run in runs},
        created=names_by_id(Campaign.name, {line.campaign_id for line in page.items}),
        started=has_started(db_session(), row.id),
    )


# -- a line's decisions ---------------------------------------------------------------------------


def _decide(line_id: int, action: LineAction) -> Response:
    session = db_session()
    line = get_or_404(TemplateOccurrence, line_id)
    back = url_for(".template", template_id=line.template_id) + f"#line-{line.id}"
    refused = decide_line(session, line, action, acting_user(), now())
    if refused is not None:
        flash(refused, "error")
        return redirect(back)
    record_audit(session, username(), *line_audit(line, action))
    session.commit()
    flash(_done(line, action), "success")
    return redirect(back)


def _done(line: TemplateOccurrence, action: str) -> str:
    """What ``action`` did; letting a line start says when it will."""
    if action != "start":
        return t(f"templates.line.{action}_done", line=line.label)
    if line.to_be_approved and line.approved_at is None:
        return t("templates.line.start_after_approval_done", line=line.label)
    if line.planned_at > now():
        return t(
            "templates.line.start_at_date_done",
            line=line.label,
            at=format_datetime(line.planned_at),
        )
    return t("templates.line.start_done", line=line.label)


@bp.post("/lines/<int:line_id>/approve")
@role_required(Role.CAMPAIGN_MANAGER)
def approve_line(line_id: int) -> Response:
    return _decide(line_id, "approve")


@bp.post("/lines/<int:line_id>/start")
@role_required(Role.CAMPAIGN_MANAGER)
def start_line(line_id: int) -> Response:
    return _decide(line_id, "start")


@bp.post("/lines/<int:line_id>/skip")
@role_required(Role.CAMPAIGN_MANAGER)
def skip_line(line_id: int) -> Response:
    return _decide(line_id, "skip")


# -- deleting -------------------------------------------------------------------------------------


@bp.post("/<int:template_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_template(template_id: int) -> Response:
    """Only while none of its lines started; its planned and skipped lines go with it."""
    session = db_session()
    row = get_or_404(CampaignTemplate, template_id)
    name, audit = row.name, deletion_audit(row)
    refused = delete_if_unstarted(session, row)
    if refused is not None:
        flash(refused, "error")
        return redirect(url_for(".template", template_id=template_id))
    record_audit(session, username(), *audit)
    session.commit()
    flash(t("templates.deleted", name=name), "success")
    return redirect(url_for(".index"))
