"""The campaign's configuration form: data source, filters in order, groups and action.

The whole configuration is one HTML form. Buttons other than "save" (switch the data
source, add, remove or move a filter, refresh the groups) post it back with an ``intent``
and the page is drawn again from what was submitted, without storing anything, so the
screen works without JavaScript; ``campaign_setup.js`` only presses those buttons for the
user when a select changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from core.engine.campaigns import CampaignConfig
from core.engine.context import RunContext
from core.messages import ExplainedError
from core.plugin_base import Channel, Group, Plugin, SettingsError
from core.plugins import PluginHost, Registry, UnknownPluginError
from core.runtime import Runtime
from webapp.i18n import plugin_text, plugin_translator, stored_text, t
from webapp.schema_forms import (
    OptionResolver,
    SettingsForm,
    all_problems,
    build_form,
    parse_form,
    submitted_plugin,
)

DATASOURCE_PREFIX = "ds"
ACTION_PREFIX = "act"
PREFERRED_DATASOURCE = "query"
PREFERRED_ACTION = "print_reports"
"""Preselected for a new campaign when they are loaded; otherwise the first of each kind."""


def filter_prefix(position: int) -> str:
    return f"f{position}"


@dataclass
class PluginPart:
    """A chosen plugin, its settings as submitted or stored, and the problems with them."""

    name: str
    settings: dict[str, Any]
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ConfigDraft:
    """A configuration being edited: maybe invalid, never stored as long as it is."""

    datasource: PluginPart
    filters: list[PluginPart]
    group_keys: list[str]
    action: PluginPart
    general_errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, config: CampaignConfig) -> ConfigDraft:
        return cls(
            datasource=PluginPart(config.datasource, dict(config.datasource_settings)),
            filters=[
                PluginPart(entry.get("name", ""), dict(entry.get("settings") or {}))
                for entry in config.filters
            ],
            group_keys=list(config.group_keys),
            action=PluginPart(config.action, dict(config.action_settings)),
        )

    def config(self) -> CampaignConfig:
        return CampaignConfig(
            datasource=self.datasource.name,
            datasource_settings=self.datasource.settings,
            action=self.action.name,
            action_settings=self.action.settings,
            filters=tuple({"name": f.name, "settings": f.settings} for f in self.filters),
            group_keys=tuple(self.group_keys),
        )

    @property
    def has_problems(self) -> bool:
        parts = [self.datasource, self.action, *self.filters]
        return bool(self.general_errors) or any(part.problems for part in parts)


def default_draft(plugins: PluginHost) -> ConfigDraft:
    def preferred(registry: Registry[Any], name: str) -> str:
        names = registry.names()
        return name if name in names else (names[0] if names else "")

    return ConfigDraft(
        datasource=PluginPart(preferred(plugins.datasources, PREFERRED_DATASOURCE), {}),
        filters=[],
        group_keys=[],
        action=PluginPart(preferred(plugins.actions, PREFERRED_ACTION), {}),
    )


def _part_from_form(form: MultiDict[str, str], registry: Registry[Any], name: str, prefix: str):
    """The settings of the plugin the form now names; a newly chosen plugin starts empty."""
    try:
        cls = registry.get(name)
    except UnknownPluginError:
        return PluginPart(name, {}, [("", t("campaigns.unknown_plugin", name=name))])
    if submitted_plugin(form, prefix) != name:
        return PluginPart(name, {})
    settings, problems = parse_form(cls.params_schema(), form, prefix)
    return PluginPart(name, settings, problems)


def draft_from_form(form: MultiDict[str, str], plugins: PluginHost) -> ConfigDraft:
    """The configuration as submitted, then changed as the pressed button asks."""
    datasource = _part_from_form(
        form, plugins.datasources, form.get("datasource", ""), DATASOURCE_PREFIX
    )
    filters = []
    for position in range(_int(form.get("filter_count"), 0)):
        name = form.get(f"filter-{position}-name")
        if name is None:  # a count beyond the filters posted: no work for a number typed in
            break
        filters.append(
            _part_from_form(form, plugins.recipient_filters, name, filter_prefix(position))
        )
    action = _part_from_form(form, plugins.actions, form.get("action", ""), ACTION_PREFIX)
    draft = ConfigDraft(datasource, filters, form.getlist("group_keys"), action)
    _apply_intent(draft, form.get("intent", ""), form.get("new_filter", ""), plugins)
    return draft


def _apply_intent(draft: ConfigDraft, intent: str, new_filter: str, plugins: PluginHost) -> None:
    verb, _, argument = intent.partition(":")
    position = _int(argument, -1)
    filters = draft.filters
    if verb == "add_filter" and new_filter in plugins.recipient_filters:
        filters.append(PluginPart(new_filter, {}))
    elif verb == "remove_filter" and 0 <= position < len(filters):
        del filters[position]
    elif verb == "filter_up" and 0 < position < len(filters):
        filters[position - 1], filters[position] = filters[position], filters[position - 1]
    elif verb == "filter_down" and 0 <= position < len(filters) - 1:
        filters[position + 1], filters[position] = filters[position], filters[position + 1]


def _int(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


def validate_draft(draft: ConfigDraft, plugins: PluginHost) -> None:
    """Check each plugin's settings, putting every problem on the part it belongs to."""
    parts = [
        (draft.datasource, plugins.datasources),
        (draft.action, plugins.actions),
        *((part, plugins.recipient_filters) for part in draft.filters),
    ]
    for part, registry in parts:
        try:
            cls = registry.get(part.name)
        except UnknownPluginError:
            if not part.problems:
                part.problems.append(("", t("campaigns.unknown_plugin", name=part.name)))
            continue
        part.problems[:] = all_problems(cls, part.settings, part.problems)


# ---------------------------------------------------------------------------------------------
# What the template draws


@dataclass
class FilterView:
    """A filter of the draft; one whose plugin is not loaded has no form but its ``missing``
    message, so that the campaign cannot be saved without it unnoticed."""

    position: int
    name: str
    title: str
    description: str
    form: SettingsForm | None
    missing: str | None = None


@dataclass
class GroupsView:
    """The data source's groups with their sizes, or why they cannot be counted now."""

    total: int | None = None
    groups: list[Group] = field(default_factory=list)
    error: str | None = None


@dataclass
class ConfigView:
    datasource_choices: list[type[Plugin]]
    datasource: type[Plugin] | None
    datasource_form: SettingsForm | None
    filter_choices: list[type[Plugin]]
    filters: list[FilterView]
    action_choices: list[type[Plugin]]
    action: type[Plugin] | None
    action_form: SettingsForm | None
    group_keys: list[str]
    groups: GroupsView
    general_errors: list[str]
    datasource_missing: str | None = None
    """The stored data source's name when no loaded plugin has it (a disabled plugin's)."""
    action_missing: str | None = None


def _form(
    registry: Registry[Any], part: PluginPart, prefix: str, options: OptionResolver
) -> tuple[type[Plugin] | None, SettingsForm | None]:
    try:
        cls = registry.get(part.name)
    except UnknownPluginError:
        return None, None
    form = build_form(
        cls.params_schema(),
        prefix,
        cls.name,
        part.settings,
        part.problems,
        options,
        plugin_translator(cls),
    )
    return cls, form


def config_view(
    draft: ConfigDraft,
    session: Session,
    runtime: Runtime,
    campaign_id: int | None,
    campaign_name: str,
) -> ConfigView:
    plugins = runtime.plugins
    options = OptionResolver(session, plugins)
    datasource, datasource_form = _form(
        plugins.datasources, draft.datasource, DATASOURCE_PREFIX, options
    )
    action, action_form = _form(plugins.actions, draft.action, ACTION_PREFIX, options)
    filters = []
    for position, part in enumerate(draft.filters):
        cls, form = _form(plugins.recipient_filters, part, filter_prefix(position), options)
        if cls is not None and form is not None:
            filters.append(
                FilterView(
                    position,
                    cls.name,
                    plugin_text(cls, "title"),
                    plugin_text(cls, "description"),
                    form,
                )
            )
        else:
            missing = t("campaigns.unknown_plugin", name=part.name)
            filters.append(FilterView(position, part.name, part.name, "", None, missing))
    return ConfigView(
        datasource_choices=list(plugins.datasources),
        datasource=datasource,
        datasource_form=datasource_form,
        filter_choices=list(plugins.recipient_filters),
        filters=filters,
        action_choices=list(plugins.actions),
        action=action,
        action_form=action_form,
        group_keys=draft.group_keys,
        groups=count_groups(draft, session, runtime, campaign_id, campaign_name),
        general_errors=draft.general_errors,
        datasource_missing=None if datasource else draft.datasource.name,
        action_missing=None if action else draft.action.name,
    )


def count_groups(
    draft: ConfigDraft,
    session: Session,
    runtime: Runtime,
    campaign_id: int | None,
    campaign_name: str,
) -> GroupsView:
    """How many records the data source selects now, and its groups with their sizes."""
    if draft.datasource.problems:
        return GroupsView()
    try:
        source_class = runtime.plugins.datasources.get(draft.datasource.name)
        source = source_class(draft.datasource.settings)
        action_class = runtime.plugins.actions.get(draft.action.name)
    except (UnknownPluginError, SettingsError):
        return GroupsView()
    context = RunContext(
        runtime=runtime,
        session=session,
        campaign_id=campaign_id,
        campaign_name=campaign_name,
        run_id=None,
        channel=getattr(action_class, "channel", Channel.NONE),
        entity=source.entity(),
    )
    try:
        selected = source.select(context)
        total = (
            None
            if selected is None
            else session.scalar(
                select(func.count()).select_from(selected.order_by(None).subquery())
            )
        )
        return GroupsView(total=total, groups=source.list_groups(context))
    except Exception as exc:  # a plugin's own error, through its catalog: keep the page usable
        session.rollback()
        if isinstance(exc, ExplainedError):
            return GroupsView(error=stored_text(exc.text))
        return GroupsView(error=plugin_translator(source_class)(str(exc)))
