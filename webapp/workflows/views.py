"""The technical workflows page: every registered workflow with its state, schedule, last
and next run, and its own settings; start and stop, a new schedule (checked, the problem
shown next to the input), the settings (a form drawn from the workflow's ``Params`` model, as
an action's is), run now on a worker, and each workflow's history with logs and errors.

Who may do what: everyone reads; campaign managers run a workflow now (starting work is
theirs); administrators start, stop, reschedule and set up (that changes the installation).
The service functions are ``core.workflows.operating``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from core.models import Role, WorkflowRun
from core.plugins import UnknownPluginError
from core.workflows.operating import (
    WorkflowState,
    list_workflows,
    request_run,
    run_history,
    set_schedule,
    set_settings,
    set_started,
    stopped_workflows,
)
from core.workflows.schedules import Schedule, ScheduleError, format_duration
from webapp.context import db_session, get_plugins, get_runtime, get_settings
from webapp.editing import get_or_404, username
from webapp.forms import FlagField, PanelForm, TextField
from webapp.i18n import plugin_text, plugin_translator, stored_text, t, workflow_summary
from webapp.pagination import Page, page_arguments
from webapp.schema_forms import (
    OptionResolver,
    SettingsForm,
    all_problems,
    build_form,
    parse_form,
)
from webapp.security import has_role, role_required, safe_next

bp = Blueprint(
    "workflows",
    __name__,
    url_prefix="/workflows",
    template_folder="templates",
    static_folder="static",
)

HISTORY_PAGE_SIZE = 20


class ScheduleForm(PanelForm):
    expression = TextField(required=True, max_length=120)
    timezone = TextField(max_length=64)


def schedule_label(schedule: Schedule) -> str:
    """``stündlich``, ``alle 15 Minuten`` / ``every 15 minutes``, or ``Cron 0 6 * * 1-5
    (Europe/Berlin)``."""
    return stored_text(schedule.described(get_settings().timezone))


def schedule_expression(schedule: Schedule) -> str:
    """What the schedule input shows: the interval or the cron expression."""
    return format_duration(schedule.interval) if schedule.interval is not None else schedule.cron


def title_of(name: str) -> str:
    try:
        return plugin_text(get_plugins().workflows.get(name), "title")
    except UnknownPluginError:
        abort(404)


def workflow_settings(state: WorkflowState) -> list[tuple[str, str, str]]:
    """(label, value, help) of each setting the workflow declares in its ``Params`` model,
    with the value it runs with, in the user's language."""
    cls = get_plugins().workflows.get(state.name)
    label = plugin_translator(cls)
    rows = []
    for key, field in cls.Params.model_fields.items():
        title = field.title or key.replace("_", " ").capitalize()
        value = state.settings.get(key, field.get_default(call_default_factory=True))
        shown = value.value if isinstance(value, Enum) else value
        rows.append((label(title, ""), str(shown), label(field.description or "", "")))
    return rows


def settings_form(
    state: WorkflowState,
    values: Mapping[str, Any] | None = None,
    problems: Sequence[tuple[str, str]] = (),
) -> SettingsForm | None:
    """The administrator's form of the workflow's settings (None: it declares none), showing
    ``values`` (default: those it runs with) and each problem at its field."""
    cls = get_plugins().workflows.get(state.name)
    if not cls.Params.model_fields:
        return None
    return build_form(
        cls.params_schema(),
        settings_prefix(state.name),
        cls.name,
        state.settings if values is None else values,
        problems if values is not None else state.settings_problems,
        OptionResolver(db_session(), get_plugins()),
        plugin_translator(cls),
    )


def settings_prefix(name: str) -> str:
    """Input names of one workflow's settings (``settings-stockMgt.days``): one page holds
    every workflow's form, so each needs ids of its own."""
    return f"settings-{name}"


def _render_index(
    errors: dict[str, dict[str, str]] | None = None,
    values=None,
    forms: dict[str, SettingsForm] | None = None,
) -> str:
    """The page; ``forms`` replaces a workflow's settings form by one with submitted values
    and their problems."""
    session = db_session()
    states = list_workflows(session, get_plugins(), get_settings(), get_runtime().clock.now())
    session.commit()  # a workflow seen for the first time gets its default schedule, started
    admin = has_role(Role.ADMIN)
    return render_template(
        "workflows/index.html",
        workflows=states,
        texts={
            state.name: (
                plugin_text(get_plugins().workflows.get(state.name), "title"),
                plugin_text(get_plugins().workflows.get(state.name), "description"),
            )
            for state in states
        },
        settings={state.name: workflow_settings(state) for state in states},
        settings_forms={
            state.name: (forms or {}).get(state.name) or settings_form(state)
            for state in states
            if admin
        },
        stopped=[title_of(name) for name in stopped_workflows(session, get_plugins())],
        errors=errors or {},
        values=values or {},
        default_zone=get_settings().timezone,
        schedule_label=schedule_label,
        schedule_expression=schedule_expression,
    )


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    return _render_index()


@bp.post("/<name>/run")
@role_required(Role.CAMPAIGN_MANAGER)
def run_now(name: str) -> Response:
    """Queue a pass now; a page that offers it (a delivery's costs) passes ``next`` to be
    returned to."""
    title = title_of(name)
    back = safe_next(request.form.get("next"))
    try:
        run = request_run(get_runtime(), name, username())
    except RedisError as exc:
        flash(t("workflows.queue_down", reason=str(exc)), "error")
        return redirect(back or url_for(".index"))
    flash(t("workflows.queued", title=title, run=run.id), "success")
    return redirect(back or url_for(".history", name=name))


class StateForm(PanelForm):
    """Start ("true") or stop the workflow."""

    started = FlagField()


@bp.post("/<name>/state")
@role_required(Role.ADMIN)
def change_state(name: str) -> Response:
    title = title_of(name)
    started = StateForm().started.data
    session = db_session()
    set_started(
        session,
        get_plugins(),
        get_settings(),
        name,
        started,
        username(),
        get_runtime().clock.now(),
    )
    session.commit()
    flash(t("workflows.started" if started else "workflows.stopped", title=title), "success")
    return redirect(url_for(".index") + f"#workflow-{name}")


@bp.post("/<name>/schedule")
@role_required(Role.ADMIN)
def change_schedule(name: str) -> str | tuple[str, int] | Response:
    title = title_of(name)
    session = db_session()
    form = ScheduleForm()
    if form.validate():
        zone = form.timezone.data or None
        try:
            row = set_schedule(
                session,
                get_plugins(),
                get_settings(),
                name,
                form.expression.data,
                username(),
                get_runtime().clock.now(),
                timezone=zone,
            )
        except ScheduleError as exc:
            session.rollback()
            about_zone = zone and "time zone" in str(exc).lower()  # the English names the field
            form.add_error("timezone" if about_zone else "expression", stored_text(exc.text))
    if not form.ok:
        return _render_index({name: form.messages}, {name: form.values}), 422
    session.commit()
    flash(
        t(
            "workflows.schedule_saved",
            title=title,
            schedule=schedule_label(row.schedule),
        ),
        "success",
    )
    return redirect(url_for(".index") + f"#workflow-{name}")


@bp.post("/<name>/settings")
@role_required(Role.ADMIN)
def change_settings(name: str) -> str | tuple[str, int] | Response:
    title = title_of(name)
    session = db_session()
    cls = get_plugins().workflows.get(name)
    values, problems = parse_form(cls.params_schema(), request.form, settings_prefix(name))
    problems = all_problems(cls, values, problems)
    if not problems:
        set_settings(
            session,
            get_plugins(),
            get_settings(),
            name,
            values,
            username(),
            get_runtime().clock.now(),
        )
        session.commit()
        flash(t("workflows.settings_saved", title=title), "success")
        return redirect(url_for(".index") + f"#workflow-{name}")
    state = next(
        state
        for state in list_workflows(
            session, get_plugins(), get_settings(), get_runtime().clock.now()
        )
        if state.name == name
    )
    form = settings_form(state, values, problems)
    return _render_index(forms={name: form} if form is not None else {}), 422


# -- history --------------------------------------------------------------------------------------


@bp.get("/<name>")
@role_required(Role.VIEWER)
def history(name: str) -> str:
    title = title_of(name)
    number, _size = page_arguments(request.args)
    session = db_session()
    runs = run_history(session, name, number, HISTORY_PAGE_SIZE)
    if not runs.runs and runs.total:  # beyond the end: the last page
        runs = run_history(session, name, runs.pages, HISTORY_PAGE_SIZE)
    page = Page(runs.runs, runs.page, runs.per_page, runs.total)
    state = next(
        state
        for state in list_workflows(
            session, get_plugins(), get_settings(), get_runtime().clock.now()
        )
        if state.name == name
    )
    session.commit()
    return render_template(
        "workflows/history.html",
        name=name,
        title=title,
        state=state,
        page=page,
        schedule_label=schedule_label,
    )


@bp.get("/<name>/runs/<int:run_id>.json")
@role_required(Role.VIEWER)
def run_status(name: str, run_id: int) -> Response:
    run = get_or_404(WorkflowRun, run_id)
    if run.workflow != name:
        abort(404)
    return jsonify(_status(run))


def _status(run: WorkflowRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status.value,
        "status_label": t(f"workflows.status.{run.status.value}"),
        "finished": run.finished,
        "summary": workflow_summary(run.workflow, run.summary),
    }
