"""Campaigns: list, read, create, change settings through each plugin's parameter model,
copy, and start runs (a dry run, or a real run that waits for ``POST /runs/{id}/start``
with the count the caller saw)."""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy import select

from core.engine import operations
from core.engine.campaigns import CampaignConfig, CampaignError, last_execution
from core.engine.runs import RunError
from core.engine.sending_window import SendingWindow, SendingWindowError
from core.models import Campaign, Role
from webapp import campaign_operations
from webapp.api import models
from webapp.api.auth import actor, via
from webapp.api.blueprint import bp
from webapp.api.paging import PageQuery, page
from webapp.api.problems import ApiProblem, FieldProblem, from_message
from webapp.api.runs import run_model
from webapp.api.spec import operation
from webapp.context import db_session, get_plugins, get_runtime
from webapp.i18n import plugin_translator, validation_text

TAG = "campaigns"
PLUGIN_KINDS = ("datasource", "recipient_filter", "action")


def campaign_model(campaign: Campaign) -> models.Campaign:
    return models.Campaign(
        id=campaign.id,
        name=campaign.name,
        description=campaign.description,
        state=campaign.status.value,
        datasource=campaign.datasource,
        datasource_settings=campaign.datasource_settings or {},
        filters=list(campaign.filters or []),
        action=campaign.action,
        action_settings=campaign.action_settings or {},
        service_communication=bool(campaign.service_communication),
        sending_window=campaign.sending_window,
        hourly_limit=campaign.hourly_limit,
        created_by=campaign.created_by,
        last_execution=last_execution(db_session(), campaign.id),
    )


def load_campaign(campaign_id: int) -> Campaign:
    campaign = db_session().get(Campaign, campaign_id)
    if campaign is None:
        raise ApiProblem(404, f"campaign {campaign_id} does not exist")
    return campaign


def _config(settings: models.CampaignSettings, campaign: Campaign | None = None) -> CampaignConfig:
    return CampaignConfig(
        datasource=settings.datasource,
        action=settings.action,
        datasource_settings=settings.datasource_settings,
        action_settings=settings.action_settings,
        filters=tuple(entry.model_dump() for entry in settings.filters),
        group_keys=tuple(campaign.group_keys or ()) if campaign is not None else (),
        service_communication=bool(campaign.service_communication) if campaign else False,
    )


def _refused(exc: Exception) -> ApiProblem:
    """A campaign error names its field (``action.settings.price: ...``); a plugin's settings
    refused by its parameter model name each field, in the token user's language (the
    plugin's own messages through its catalog)."""
    problems = getattr(exc, "problems", None)
    if not problems:
        return from_message(str(exc))
    plugin = getattr(exc, "plugin", None)
    translate = plugin_translator(plugin) if plugin is not None else None
    errors = [
        FieldProblem(field=field, detail=validation_text(message, translate))
        for field, message in problems
    ]
    return ApiProblem(422, "; ".join(f"{e.field}: {e.detail}" for e in errors), errors)


@operation(
    bp,
    "GET",
    "/plugins",
    summary="List the plugins a campaign can use",
    tag=TAG,
    role=Role.VIEWER,
    response=models.PluginList,
)
def list_plugins() -> models.PluginList:
    """Data sources, recipient filters and actions with the JSON Schema of their settings."""
    plugins = get_plugins()
    items = [
        models.Plugin(
            kind=kind, name=cls.name, title=cls.title, settings_schema=cls.params_schema()
        )
        for kind in PLUGIN_KINDS
        for cls in plugins.registries[kind]
    ]
    return models.PluginList(items=items)


@operation(
    bp,
    "GET",
    "/campaigns",
    summary="List campaigns",
    tag=TAG,
    role=Role.VIEWER,
    query=PageQuery,
    response=models.CampaignPage,
)
def list_campaigns(query: PageQuery) -> models.CampaignPage:
    rows, cursor = page(db_session(), select(Campaign), Campaign.id, query)
    return models.CampaignPage(items=[campaign_model(row) for row in rows], next_cursor=cursor)


@operation(
    bp,
    "GET",
    "/campaigns/<int:campaign_id>",
    summary="Read a campaign",
    tag=TAG,
    role=Role.VIEWER,
    response=models.Campaign,
)
def get_campaign_(campaign_id: int) -> models.Campaign:
    return campaign_model(load_campaign(campaign_id))


@operation(
    bp,
    "POST",
    "/campaigns",
    summary="Create a campaign",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.NewCampaign,
    response=models.Campaign,
    status=201,
)
def create_campaign(body: models.NewCampaign) -> models.Campaign:
    """Each plugin's settings are checked by its parameter model; errors name the field."""
    session = db_session()
    try:
        campaign = operations.create(
            session,
            get_plugins(),
            _config(body),
            get_runtime().clock.now(),
            actor(),
            name=body.name,
            description=body.description,
            via=via(),
        )
        _set_window(campaign, body.sending_window)
        campaign_operations.set_hourly_limit(
            session, campaign, body.hourly_limit, actor(), via=via()
        )
    except (CampaignError, SendingWindowError) as exc:
        session.rollback()
        raise _refused(exc) from None
    session.commit()
    return campaign_model(campaign)


def _set_window(campaign: Campaign, window: models.SendingWindow | None) -> None:
    """The body's window, checked as the panel checks it (``SendingWindowError``)."""
    wanted = SendingWindow.from_json(window.model_dump()) if window else None
    campaign_operations.set_sending_window(db_session(), campaign, wanted, actor(), via=via())


@operation(
    bp,
    "PATCH",
    "/campaigns/<int:campaign_id>",
    summary="Change a campaign",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.CampaignChange,
    response=models.Campaign,
)
def update_campaign(campaign_id: int, body: models.CampaignChange) -> models.Campaign:
    """Name, description, and the plugins with their settings (which replace the whole
    configuration); nothing is stored unless all of it validates."""
    session = db_session()
    campaign = load_campaign(campaign_id)
    config = _config(body.settings, campaign) if body.settings else CampaignConfig.of(campaign)
    try:
        campaign_operations.update(
            session,
            get_plugins(),
            campaign,
            config,
            actor(),
            name=body.name,
            description=body.description,
            via=via(),
        )
        if "sending_window" in body.model_fields_set:
            _set_window(campaign, body.sending_window)
        if "hourly_limit" in body.model_fields_set:
            campaign_operations.set_hourly_limit(
                session, campaign, body.hourly_limit, actor(), via=via()
            )
    except (CampaignError, SendingWindowError) as exc:
        session.rollback()
        raise _refused(exc) from None
    session.commit()
    return campaign_model(campaign)


@operation(
    bp,
    "POST",
    "/campaigns/<int:campaign_id>/copy",
    summary="Copy a campaign",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    response=models.Campaign,
    status=201,
)
def copy_campaign(campaign_id: int) -> models.Campaign:
    """The same settings and static records, no runs, named "<name> (Kopie)"."""
    session = db_session()
    duplicate = campaign_operations.copy(session, load_campaign(campaign_id), actor(), via=via())
    session.commit()
    return campaign_model(duplicate)


def _start(campaign_id: int, body: models.StartRun, dry_run: bool) -> models.Run:
    session = db_session()
    campaign = load_campaign(campaign_id)
    try:
        run = campaign_operations.start(
            get_runtime(), session, campaign, actor(), dry_run=dry_run, limit=body.limit, via=via()
        )
    except RunError as exc:
        raise ApiProblem(409, str(exc)) from None
    except RedisError as exc:
        raise ApiProblem(503, f"the job queue cannot be reached: {exc}") from None
    session.commit()
    return run_model(run)


@operation(
    bp,
    "POST",
    "/campaigns/<int:campaign_id>/analyse",
    summary="Prepare a real run",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.StartRun,
    response=models.Run,
    status=202,
)
def analyse(campaign_id: int, body: models.StartRun) -> models.Run:
    """Targets the recipients and stops in ``awaiting_confirmation``: read the run until its
    ``confirmation`` is there, then send ``POST /runs/{id}/start`` with ``reached``. Nothing
    reaches anybody before that."""
    return _start(campaign_id, body, dry_run=False)


@operation(
    bp,
    "POST",
    "/campaigns/<int:campaign_id>/dry-run",
    summary="Start a dry run",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.StartRun,
    response=models.Run,
    status=202,
)
def dry_run(campaign_id: int, body: models.StartRun) -> models.Run:
    """Renders what a run would produce and reaches nobody; no confirmation needed."""
    return _start(campaign_id, body, dry_run=True)
