"""The campaign screen: the list on the left, the selected campaign's tabs on the right.

Tabs: General (name, description, last execution), Campaign (data source, groups,
filters, action, start) and Runs (``webapp.campaigns.runs``); static data has its own tab
(``webapp.campaigns.data``) when the data source stores records.
"""

from __future__ import annotations

import json
from typing import Any

from babel import dates
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from redis.exceptions import RedisError
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.engine import hourly_limit
from core.engine.campaigns import (
    CampaignConfig,
    CampaignError,
    create_campaign,
    default_name,
    last_execution,
)
from core.engine.hourly_limit import HourlyLimitError
from core.engine.runs import CampaignClosedError, RunError
from core.engine.sending_window import WEEK, SendingWindow, SendingWindowError
from core.messages import stored
from core.models import ACTIVE_RUN_STATES, Campaign, CampaignStatus, Role, Run, SavedQuery
from core.query import QueryError, compile_query, load_json
from webapp import campaign_operations as operations
from webapp.campaigns.config_form import (
    ConfigDraft,
    PluginPart,
    config_view,
    default_draft,
    draft_from_form,
    plugin_text,
    validate_draft,
)
from webapp.campaigns.listing import STATUS_FILTERS, campaign_list
from webapp.campaigns.records import CampaignDataError, freeze_query
from webapp.context import current_user, db_session, get_plugins, get_runtime
from webapp.forms import (
    ChoiceListField,
    FlagField,
    PanelForm,
    TextField,
    TimeOfDayField,
    WholeNumberField,
    parse_id,
    problem_text,
)
from webapp.i18n import get_language, stored_text, t, tn
from webapp.pagination import page_arguments
from webapp.security import role_required

bp = Blueprint(
    "campaigns",
    __name__,
    url_prefix="/campaigns",
    template_folder="templates",
    static_folder="static",
)

LIST_ARGUMENTS = ("q", "state", "status", "lp")
"""The list's search, state and status filters and page ("lp": the tabs have lists of their
own)."""


def list_args() -> dict[str, str]:
    """The list's search, status and page, kept on every link of the screen."""
    return {key: request.args[key] for key in LIST_ARGUMENTS if request.args.get(key)}


def username() -> str:
    user = current_user()
    assert user is not None  # every view here requires a login
    return user.username


def load_campaign(campaign_id: int) -> Campaign:
    campaign = db_session().get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


def active_run(campaign_id: int) -> Run | None:
    return db_session().scalar(
        select(Run)
        .where(Run.campaign_id == campaign_id, Run.state.in_(ACTIVE_RUN_STATES))
        .order_by(Run.number.desc())
        .limit(1)
    )


def render_screen(template: str, campaign: Campaign | None, tab: str, **context: Any) -> str:
    """A page of the campaign screen: the list, and the campaign's tab if one is selected."""
    number, _size = page_arguments({"page": request.args.get("lp", 1)})
    page = campaign_list(db_session(), request.args, number)
    return render_template(
        template,
        campaigns=page,
        campaign=campaign,
        tab=tab,
        list_args=list_args(),
        status_filters=STATUS_FILTERS,
        campaign_states=[state.value for state in CampaignStatus],
        static_data=campaign is not None and _stores_records(campaign),
        **context,
    )


def _stores_records(campaign: Campaign) -> bool:
    try:
        return not get_plugins().datasources.get(campaign.datasource).dynamic
    except LookupError:
        return False


# ---------------------------------------------------------------------------------------------
# The list


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    return render_screen("campaigns/index.html", None, "")


# ---------------------------------------------------------------------------------------------
# General tab


@bp.get("/<int:campaign_id>")
@role_required(Role.VIEWER)
def general(campaign_id: int) -> str:
    return _render_general(load_campaign(campaign_id))


def plugin_title(registry: Any, name: str) -> str:
    """A data source's or action's title in the reader's language; its name if none such is
    loaded (a run of a plugin since removed)."""
    try:
        return plugin_text(registry.get(name), "title")
    except LookupError:
        return name


def _render_general(campaign: Campaign, errors: dict[str, str] | None = None, **values) -> str:
    session = db_session()
    plugins = get_plugins()
    return render_screen(
        "campaigns/general.html",
        campaign,
        "general",
        last_execution=last_execution(session, campaign.id),
        run_count=session.scalar(
            select(func.count()).select_from(Run).where(Run.campaign_id == campaign.id)
        ),
        datasource_title=plugin_title(plugins.datasources, campaign.datasource),
        action_title=plugin_title(plugins.actions, campaign.action),
        errors=errors or {},
        values={"name": campaign.name, "description": campaign.description, **values},
    )


class GeneralForm(PanelForm):
    name = TextField(max_length=200)
    description = TextField(max_length=5000)


@bp.post("/<int:campaign_id>")
@role_required(Role.CAMPAIGN_MANAGER)
def save_general(campaign_id: int) -> str | Response:
    campaign = load_campaign(campaign_id)
    form = GeneralForm()
    if not form.validate():
        return _render_general(campaign, form.messages, **form.values), 422
    name, description = form.name.data, form.description.data
    session = db_session()
    try:
        operations.update(
            session,
            get_plugins(),
            campaign,
            CampaignConfig.of(campaign),
            username(),
            name=name,
            description=description,
        )
    except CampaignError as exc:
        session.rollback()
        errors = {"name" if str(exc).startswith("name: ") else "form": stored_text(exc.text)}
        return _render_general(campaign, errors, name=name, description=description), 422
    session.commit()
    flash(t("campaigns.saved"), "success")
    return redirect(url_for(".general", campaign_id=campaign.id, **list_args()))


# ---------------------------------------------------------------------------------------------
# Campaign tab: the configuration and the start


@bp.get("/<int:campaign_id>/setup")
@role_required(Role.VIEWER)
def setup(campaign_id: int) -> str:
    campaign = load_campaign(campaign_id)
    return _render_setup(campaign, ConfigDraft.of(CampaignConfig.of(campaign)))


def _render_setup(campaign: Campaign | None, draft: ConfigDraft, **context: Any) -> str:
    view = config_view(
        draft,
        db_session(),
        get_runtime(),
        campaign.id if campaign else None,
        campaign.name if campaign else "",
    )
    template = "campaigns/setup.html" if campaign else "campaigns/new.html"
    return render_screen(
        template,
        campaign,
        "setup",
        config=view,
        plugin_text=plugin_text,
        active=active_run(campaign.id) if campaign else None,
        window=SendingWindow.from_json(campaign.sending_window) if campaign else None,
        most_per_hour=hourly_limit.MOST_PER_HOUR,
        weekday_names=dates.get_day_names("wide", locale=get_language()),
        **context,
    )


def _save_draft(draft: ConfigDraft, **create_args: Any) -> Campaign:
    """Store the draft as a new campaign (CampaignError names what is wrong across plugins)."""
    return create_campaign(
        db_session(),
        get_plugins(),
        draft.config(),
        get_runtime().clock.now(),
        created_by=username(),
        **create_args,
    )


class SetupForm(PanelForm):
    """The Campaign tab's pressed button: "save", or one the configuration form redraws for."""

    intent = TextField(max_length=100)


@bp.post("/<int:campaign_id>/setup")
@role_required(Role.CAMPAIGN_MANAGER)
def save_setup(campaign_id: int) -> str | tuple[str, int] | Response:
    campaign = load_campaign(campaign_id)
    draft = draft_from_form(request.form, get_plugins())
    if SetupForm().intent.data != "save":
        return _render_setup(campaign, draft)
    validate_draft(draft, get_plugins())
    session = db_session()
    if not draft.has_problems:
        try:
            operations.update(session, get_plugins(), campaign, draft.config(), username())
        except CampaignError as exc:
            session.rollback()
            campaign = load_campaign(campaign_id)
            draft.general_errors.append(stored_text(exc.text))
        else:
            session.commit()
            flash(t("campaigns.saved"), "success")
            return redirect(url_for(".setup", campaign_id=campaign.id, **list_args()))
    return _render_setup(campaign, draft, failed=True), 422


class StartForm(PanelForm):
    mode = TextField()
    limit = WholeNumberField(minimum=1)
    """At most this many recipients (a test run), typed as the user's language writes it."""


@bp.post("/<int:campaign_id>/start")
@role_required(Role.CAMPAIGN_MANAGER)
def start(campaign_id: int) -> Response:
    campaign = load_campaign(campaign_id)
    form = StartForm()
    back = url_for(".setup", campaign_id=campaign.id, **list_args())
    if not form.validate():
        flash(form.messages["limit"], "error")
        return redirect(back)
    dry_run, limit = form.mode.data == "dry_run", form.limit.data
    session = db_session()
    try:
        run = operations.start(
            get_runtime(), session, campaign, username(), dry_run=dry_run, limit=limit
        )
    except CampaignClosedError:
        state = t(f"process.campaign_status.{campaign.status.value}")
        flash(t("campaigns.start.closed", state=state), "error")
        return redirect(back)
    except RunError as exc:
        flash(t("campaigns.start.refused", reason=stored_text(exc.text)), "error")
        return redirect(back)
    except RedisError as exc:
        flash(t("campaigns.start.queue_down", reason=str(exc)), "error")
        return redirect(back)
    session.commit()
    started = "campaigns.start.started" if dry_run else "campaigns.start.analysing"
    flash(t(started, number=run.number), "success")
    return redirect(url_for(".run", campaign_id=campaign.id, run_id=run.id, **list_args()))


class SendingWindowForm(PanelForm):
    days = ChoiceListField(coerce=int)
    start = TimeOfDayField(required=True)
    end = TimeOfDayField(required=True)


@bp.post("/<int:campaign_id>/sending-window")
@role_required(Role.CAMPAIGN_MANAGER)
def set_sending_window(campaign_id: int) -> Response:
    """Set or remove the days and hours the campaign's runs may reach people; a run already
    started keeps the window it started with. The audit log records the change."""
    campaign = load_campaign(campaign_id)
    setup = url_for(".setup", campaign_id=campaign.id, _anchor="sending-window", **list_args())
    back = redirect(setup)
    window = None
    if request.form.get("intent") != "remove":
        form = SendingWindowForm()
        form.days.choices = [(day, day) for day in WEEK]
        labels = {"start": t("campaigns.window.start"), "end": t("campaigns.window.end")}
        if not form.validate():
            flash(problem_text(form, labels), "error")
            return back
        try:
            window = SendingWindow.of(form.days.data, form.start.data, form.end.data)
        except SendingWindowError as exc:
            flash(stored_text(exc.text), "error")
            return back
    operations.set_sending_window(db_session(), campaign, window, username())
    db_session().commit()
    flash(t("campaigns.window.saved" if window else "campaigns.window.removed"), "success")
    return back


class HourlyLimitForm(PanelForm):
    hourly_limit = WholeNumberField(required=True, minimum=None, maximum=None)


@bp.post("/<int:campaign_id>/hourly-limit")
@role_required(Role.CAMPAIGN_MANAGER)
def set_hourly_limit(campaign_id: int) -> Response:
    """Set or remove how many sends the campaign's runs make in any hour at most; a run
    already started keeps the limit it started with. The audit log records the change."""
    campaign = load_campaign(campaign_id)
    setup = url_for(".setup", campaign_id=campaign.id, _anchor="hourly-limit", **list_args())
    back = redirect(setup)
    limit = None
    if request.form.get("intent") != "remove":
        form = HourlyLimitForm()
        if not form.validate():
            flash(problem_text(form, {"hourly_limit": t("campaigns.hourly.label")}), "error")
            return back
        try:
            limit = hourly_limit.checked(form.hourly_limit.data)
        except HourlyLimitError as exc:
            flash(stored_text(exc.text), "error")
            return back
    operations.set_hourly_limit(db_session(), campaign, limit, username())
    db_session().commit()
    flash(t("campaigns.hourly.saved" if limit else "campaigns.hourly.removed"), "success")
    return back


class ServiceForm(PanelForm):
    service_communication = FlagField()


@bp.post("/<int:campaign_id>/service")
@role_required(Role.ADMIN)
def set_service(campaign_id: int) -> Response:
    """Mark or unmark the campaign as service communication: its runs then pass opt-outs
    (never a dispatch block). Only an administrator may, and the audit log records it."""
    campaign = load_campaign(campaign_id)
    wanted = ServiceForm().service_communication.data
    if wanted != campaign.service_communication:
        campaign.service_communication = wanted
        session = db_session()
        record_audit(
            session,
            username(),
            "campaign.service_communication",
            "campaign",
            campaign.id,
            stored("{campaign}: service communication on", campaign=campaign.name)
            if wanted
            else stored("{campaign}: service communication off", campaign=campaign.name),
            {"service_communication": wanted},
        )
        session.commit()
    flash(t("campaigns.service.on" if wanted else "campaigns.service.off"), "success")
    return redirect(url_for(".setup", campaign_id=campaign.id, **list_args()))


# ---------------------------------------------------------------------------------------------
# New, copy, delete


MAX_DEFINITION = 1_000_000
"""Characters of a query definition the new-campaign form takes from the query editor."""


class NewCampaignForm(PanelForm):
    """The new campaign's own fields beside its configuration (the plugins' schema forms):
    name and description, the query to freeze into its records, and the pressed button."""

    name = TextField(max_length=200)
    description = TextField(max_length=5000)
    freeze = TextField(max_length=MAX_DEFINITION)
    definition = TextField(max_length=MAX_DEFINITION)
    intent = TextField(max_length=100)


def _new_draft(form: NewCampaignForm | None) -> tuple[ConfigDraft, str | None]:
    """A new campaign's configuration, prefilled from the query editor if it sent one: a
    saved query (the link's ``saved_query_id``) or, posted, a definition to freeze."""
    plugins = get_plugins()
    draft = default_draft(plugins)
    freeze = None
    saved_id = parse_id(request.args.get("saved_query_id", ""))
    if saved_id is not None and "query" in plugins.datasources:
        saved = db_session().get(SavedQuery, saved_id)
        if saved is not None:
            entity = (saved.definition or {}).get("root", "contacts")
            draft.datasource = PluginPart("query", {"saved_query_id": saved.id, "entity": entity})
    if form is not None and form.definition.data and not form.definition.errors:
        try:
            compiled = compile_query(form.definition.data)
        except QueryError as exc:
            flash(t("campaigns.new.bad_query", reason=stored_text(exc.text)), "error")
        else:
            freeze = json.dumps(compiled.definition.model_dump(mode="json"))
            if "static" in plugins.datasources:
                draft.datasource = PluginPart("static", {"entity": compiled.root.name})
    return draft, freeze


def _named_form() -> NewCampaignForm:
    """An empty new-campaign form with the next generated name."""
    return NewCampaignForm(
        formdata=None, name=default_name(db_session(), get_runtime().clock.now())
    )


@bp.get("/new")
@role_required(Role.CAMPAIGN_MANAGER)
def new() -> str:
    draft, _freeze = _new_draft(None)
    return _render_new(draft, _named_form(), None)


def _render_new(draft: ConfigDraft, form: NewCampaignForm, freeze: str | None, **kw):
    return _render_setup(None, draft, values=form.values, errors=form.messages, freeze=freeze, **kw)


@bp.post("/new")
@role_required(Role.CAMPAIGN_MANAGER)
def create() -> str | tuple[str, int] | Response:
    session = db_session()
    form = NewCampaignForm()
    if form.intent.data == "from_query_static":
        if not form.validate():
            flash(problem_text(form, {"definition": t("queries.json")}), "error")
        draft, freeze = _new_draft(form)
        return _render_new(draft, _named_form(), freeze)
    draft = draft_from_form(request.form, get_plugins())
    freeze = form.freeze.data or None
    if form.intent.data != "save":
        return _render_new(draft, form, freeze)
    form.validate()
    validate_draft(draft, get_plugins())
    if form.ok and not draft.has_problems:
        try:
            campaign = _save_draft(draft, name=form.name.data, description=form.description.data)
            frozen = freeze_query(session, campaign.id, load_json(freeze)) if freeze else None
        except (CampaignError, CampaignDataError, QueryError) as exc:
            session.rollback()
            if str(exc).startswith("name: "):
                form.add_error("name", stored_text(exc.text))
            else:
                draft.general_errors.append(stored_text(exc.text))
        else:
            record_audit(
                session,
                username(),
                "campaign.create",
                "campaign",
                campaign.id,
                campaign.name,
                {"config": CampaignConfig.of(campaign).snapshot(), "frozen_records": frozen},
            )
            session.commit()
            flash(t("campaigns.created", name=campaign.name), "success")
            if frozen is not None:
                flash(tn("campaigns.data.frozen", frozen), "success")
            return redirect(url_for(".setup", campaign_id=campaign.id))
    return _render_new(draft, form, freeze, failed=True), 422


@bp.post("/<int:campaign_id>/copy")
@role_required(Role.CAMPAIGN_MANAGER)
def copy(campaign_id: int) -> Response:
    campaign = load_campaign(campaign_id)
    session = db_session()
    duplicate = operations.copy(session, campaign, username())
    session.commit()
    flash(t("campaigns.copied", name=duplicate.name), "success")
    return redirect(url_for(".general", campaign_id=duplicate.id, **list_args()))


@bp.get("/<int:campaign_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def confirm_delete(campaign_id: int) -> str:
    campaign = load_campaign(campaign_id)
    session = db_session()
    return render_screen(
        "campaigns/delete.html",
        campaign,
        "general",
        active=active_run(campaign.id),
        run_count=session.scalar(
            select(func.count()).select_from(Run).where(Run.campaign_id == campaign.id)
        ),
    )


@bp.post("/<int:campaign_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete(campaign_id: int) -> Response:
    campaign = load_campaign(campaign_id)
    running = active_run(campaign.id)
    if running is not None:
        flash(t("campaigns.delete.refused", number=running.number), "error")
        return redirect(url_for(".confirm_delete", campaign_id=campaign.id, **list_args()))
    session = db_session()
    record_audit(
        session,
        username(),
        "campaign.delete",
        "campaign",
        campaign.id,
        campaign.name,
        {"config": CampaignConfig.of(campaign).snapshot()},
    )
    session.delete(campaign)
    session.commit()
    flash(t("campaigns.deleted", name=campaign.name), "success")
    return redirect(url_for(".index", **list_args()))
