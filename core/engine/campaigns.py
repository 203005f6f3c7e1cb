"""Campaign configurations: validated by each plugin's parameter model, copied, named."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.documents.templating import LOCAL_TIME
from core.messages import ExplainedError, StoredText, stored
from core.models import Campaign, CampaignRecord, Run
from core.plugin_base import Action, DataSource, RecipientFilter, SettingsError
from core.plugins import PluginHost
from core.validation import problem_text


class CampaignError(ExplainedError):
    """A campaign cannot be saved or started as given; the text names the field.

    ``problems`` holds (field, message) of each setting the parameter model of ``plugin``
    (the class) refused (``action.settings.price``), so the API can show each in its
    reader's language."""

    def __init__(
        self,
        text: StoredText,
        problems: list[tuple[str, str]] | None = None,
        plugin: type | None = None,
    ):
        super().__init__(text)
        self.problems = list(problems or [])
        self.plugin = plugin


@dataclass(frozen=True, slots=True)
class ActionOverride:
    """Another action than the campaign's for one run, with its settings: the process
    bundle's delivery with an action of its own (a letter printed, then the same letter by
    e-mail)."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignConfig:
    """Everything a run needs to know about its campaign; stored as the run's snapshot."""

    datasource: str
    action: str
    datasource_settings: Mapping[str, Any] = field(default_factory=dict)
    action_settings: Mapping[str, Any] = field(default_factory=dict)
    filters: tuple[Mapping[str, Any], ...] = ()
    group_keys: tuple[str, ...] = ()
    service_communication: bool = False
    """Service communication (a contract change, a legally required notice) passes opt-outs,
    never a dispatch block; only an administrator sets it on the campaign."""
    sending_window: Mapping[str, Any] | None = None
    """The days and hours the runs may reach people (``core.engine.sending_window``)."""
    hourly_limit: int | None = None
    """At most so many sends in any hour (``core.engine.hourly_limit``)."""

    @classmethod
    def of(cls, campaign: Campaign, action: ActionOverride | None = None) -> CampaignConfig:
        """The campaign's configuration; ``action`` replaces the campaign's action and its
        settings."""
        return cls(
            datasource=campaign.datasource,
            action=action.name if action else campaign.action,
            datasource_settings=campaign.datasource_settings or {},
            action_settings=(action.settings if action else campaign.action_settings) or {},
            filters=tuple(campaign.filters or ()),
            group_keys=tuple(campaign.group_keys or ()),
            service_communication=bool(campaign.service_communication),
            sending_window=campaign.sending_window,
            hourly_limit=campaign.hourly_limit,
        )

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> CampaignConfig:
        return cls(
            datasource=data["datasource"],
            action=data["action"],
            datasource_settings=data.get("datasource_settings", {}),
            action_settings=data.get("action_settings", {}),
            filters=tuple(data.get("filters", ())),
            group_keys=tuple(data.get("group_keys", ())),
            service_communication=bool(data.get("service_communication", False)),
            sending_window=data.get("sending_window"),
            hourly_limit=data.get("hourly_limit"),
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "datasource": self.datasource,
            "datasource_settings": dict(self.datasource_settings),
            "filters": [dict(entry) for entry in self.filters],
            "group_keys": list(self.group_keys),
            "action": self.action,
            "action_settings": dict(self.action_settings),
            "service_communication": self.service_communication,
            "sending_window": dict(self.sending_window) if self.sending_window else None,
            "hourly_limit": self.hourly_limit,
        }


@dataclass
class CampaignPlugins:
    """The plugin instances one campaign configuration describes."""

    datasource: DataSource
    filters: list[RecipientFilter]
    action: Action


def _instance(registry: Any, name: str, settings: Mapping[str, Any], where: str) -> Any:
    if name not in registry:
        raise CampaignError(
            stored(
                "{where}: unknown {kind} '{name}' (available: {known})",
                where=where,
                kind=registry.kind,
                name=name,
                known=registry.names(),
            )
        )
    cls = registry.get(name)
    try:
        return cls(settings)
    except SettingsError as exc:
        problems = [
            (f"{where}.settings" + ("" if loc == "(settings)" else f".{loc}"), msg)
            for loc, msg in exc.problems
        ]
        texts = [problem_text(loc, msg, cls.__module__) for loc, msg in problems]
        raise CampaignError(stored("{problems}", problems=texts), problems, cls) from None


def build_plugins(plugins: PluginHost, config: CampaignConfig) -> CampaignPlugins:
    """Instantiate and validate every plugin of a configuration, naming the first bad field."""
    datasource = _instance(
        plugins.datasources, config.datasource, config.datasource_settings, "datasource"
    )
    filters = []
    for position, entry in enumerate(config.filters):
        where = f"filters[{position}]"
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise CampaignError(stored("{where}: needs a 'name' and 'settings'", where=where))
        filters.append(
            _instance(plugins.recipient_filters, entry["name"], entry.get("settings", {}), where)
        )
    for position, entry in enumerate(filters[:-1]):
        if entry.holds_out:
            raise CampaignError(
                stored(
                    "filters[{position}]: '{name}' holds out a control group and must be last",
                    position=position,
                    name=entry.name,
                )
            )
    action = _instance(plugins.actions, config.action, config.action_settings, "action")
    return CampaignPlugins(datasource, filters, action)


def normalized(plugins: PluginHost, config: CampaignConfig) -> CampaignConfig:
    """The configuration with every plugin's settings as its parameter model stores them."""
    built = build_plugins(plugins, config)
    return replace(
        config,
        datasource_settings=built.datasource.params.model_dump(mode="json"),
        action_settings=built.action.params.model_dump(mode="json"),
        filters=tuple(
            {"name": entry.name, "settings": entry.params.model_dump(mode="json")}
            for entry in built.filters
        ),
    )


def apply_config(campaign: Campaign, config: CampaignConfig) -> None:
    campaign.datasource = config.datasource
    campaign.datasource_settings = dict(config.datasource_settings)
    campaign.filters = [dict(entry) for entry in config.filters]
    campaign.group_keys = list(config.group_keys)
    campaign.action = config.action
    campaign.action_settings = dict(config.action_settings)


def default_name(session: Session, now: datetime) -> str:
    """An automatically generated, unique name such as "Kampagne 2026-11-23 #2", dated as
    the panel shows times (German time), so a campaign made after midnight there is not
    named after the day before."""
    base = f"Kampagne {now.astimezone(LOCAL_TIME):%Y-%m-%d}"
    return _first_free(session, (f"{base} #{number}" for number in itertools.count(1)))


def _first_free(session: Session, names: Iterable[str]) -> str:
    """The first of ``names`` no campaign has."""
    taken = select(Campaign.id).where(Campaign.name == bindparam("name"))
    return next(name for name in names if session.scalar(taken, {"name": name}) is None)


def check_name(session: Session, name: str, campaign_id: int | None = None) -> str:
    """The name, stripped, if it is one a campaign (other than ``campaign_id``) may have."""
    name = name.strip()
    if not name:
        raise CampaignError(stored("name: must not be empty"))
    if len(name) > 200:
        raise CampaignError(stored("name: at most 200 characters"))
    clash = session.scalar(select(Campaign.id).where(Campaign.name == name))
    if clash is not None and clash != campaign_id:
        raise CampaignError(stored("name: a campaign named '{name}' already exists", name=name))
    return name


def create_campaign(
    session: Session,
    plugins: PluginHost,
    config: CampaignConfig,
    now: datetime,
    name: str | None = None,
    description: str = "",
    created_by: str | None = None,
) -> Campaign:
    campaign = Campaign(
        name=check_name(session, name or default_name(session, now)),
        description=description,
        created_by=created_by,
    )
    apply_config(campaign, normalized(plugins, config))
    session.add(campaign)
    session.flush()
    return campaign


def copy_campaign(session: Session, campaign: Campaign, name: str | None = None) -> Campaign:
    """A new campaign with the same settings, sending window, program, provider service
    (which prices its runs), manager, estimate and static records, and no runs; named
    ``name`` (by default "<name> (Kopie)"), with a number added while that name is taken."""
    base = f"{campaign.name} (Kopie)" if name is None else name.strip()
    name = _first_free(session, (f"{base} {n}" if n > 1 else base for n in itertools.count(1)))
    copy = Campaign(
        name=check_name(session, name),
        description=campaign.description,
        created_by=campaign.created_by,
        program_id=campaign.program_id,
        provider_service_id=campaign.provider_service_id,
        manager_id=campaign.manager_id,
        estimated_cost=campaign.estimated_cost,
        sending_window=campaign.sending_window,
        hourly_limit=campaign.hourly_limit,
    )
    apply_config(copy, CampaignConfig.of(campaign))
    session.add(copy)
    session.flush()
    records = session.execute(
        select(
            CampaignRecord.entity,
            CampaignRecord.entity_id,
            CampaignRecord.data,
            CampaignRecord.source,
            CampaignRecord.line_number,
        ).where(CampaignRecord.campaign_id == campaign.id)
    )
    if batch := [{"campaign_id": copy.id, **row._mapping} for row in records]:
        session.execute(CampaignRecord.__table__.insert(), batch)
    return copy


def find_campaign(session: Session, name_or_id: str | int) -> Campaign:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        campaign = session.get(Campaign, int(name_or_id))
    else:
        campaign = session.scalar(select(Campaign).where(Campaign.name == name_or_id))
    if campaign is None:
        raise CampaignError(stored("no campaign '{name}'", name=str(name_or_id)))
    return campaign


def last_execution(session: Session, campaign_id: int) -> datetime | None:
    """When the campaign last started a run (derived from its runs, never stored twice)."""
    return session.scalar(select(func.max(Run.created_at)).where(Run.campaign_id == campaign_id))
