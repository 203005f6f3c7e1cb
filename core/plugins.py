"""The plugin manager: loads built-in and third-party plugins the same way and keeps registries."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from core import hookspecs
from core.config import Settings
from core.events import CORE_EVENT_TYPES, EventType
from core.messages import StoredText
from core.plugin_base import (
    Action,
    Channel,
    DataSource,
    DocumentStore,
    Plugin,
    RecipientFilter,
    SettingsError,
    SmsGateway,
    UploadTarget,
    Workflow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ENTRY_POINT_GROUP = "campaign"


DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.datasources.query",
    "plugins.datasources.distribution_list",
    "plugins.datasources.combined",
    "plugins.datasources.static",
    "plugins.datasources.file_import",
    "plugins.filters.channel",
    "plugins.filters.consent",
    "plugins.filters.dedupe",
    "plugins.filters.exclusion",
    "plugins.filters.condition",
    "plugins.filters.limit",
    "plugins.filters.control_group",
    "plugins.actions.print_reports",
    "plugins.actions.sms",
    "plugins.actions.commission",
    "plugins.actions.email",
    "plugins.actions.file_upload",
    "plugins.gateways.http_sms",
    "plugins.gateways.outbox_sms",
    "plugins.stores.filesystem",
    "plugins.stores.database",
    "plugins.stores.s3",
    "plugins.targets.folder",
    "plugins.targets.sftp",
    "plugins.targets.http_upload",
    "plugins.processes",  # before the workflows that require it
    "plugins.webhooks",
    "plugins.workflows.budget",
    "plugins.workflows.stock",
    "plugins.workflows.delivery",
    "plugins.workflows.operation",
    "plugins.workflows.supplier",
    "plugins.workflows.inbound_mail",
    "plugins.commands",
    "plugins.demo",
    "webapp.commands",
)
"""The built-in plugins in load order, as text: the core never imports them."""

P = TypeVar("P", bound=Plugin)


class PluginConflictError(RuntimeError):
    """Two plugins registered the same name for the same kind."""


class UnknownPluginError(LookupError):
    """A setting names a plugin that is not loaded."""


@dataclass(frozen=True, slots=True)
class LoadError:
    """A plugin that could not be loaded, and why."""

    plugin: str
    reason: str


class Registry(Generic[P]):
    """Plugin classes of one kind keyed by their ``name``, each with the plugin that added it."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, tuple[type[P], str]] = {}

    def add(self, cls: type[P], plugin: str) -> None:
        """Add ``cls``; ``PluginHost.add`` has checked that its name is free."""
        self._entries[cls.name] = (cls, plugin)

    def get(self, name: str) -> type[P]:
        if name not in self._entries:
            known = ", ".join(self.names()) or "none"
            raise UnknownPluginError(f"unknown {self.kind} {name!r}; available: {known}")
        return self._entries[name][0]

    def provided_by(self, name: str) -> str:
        return self._entries[name][1]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[type[P]]:
        return (self._entries[name][0] for name in self.names())


REGISTER_HOOKS: dict[str, tuple[str, type[Plugin]]] = {
    "register_datasources": ("datasource", DataSource),
    "register_recipient_filters": ("recipient_filter", RecipientFilter),
    "register_actions": ("action", Action),
    "register_workflows": ("workflow", Workflow),
    "register_sms_gateways": ("sms_gateway", SmsGateway),
    "register_upload_targets": ("upload_target", UploadTarget),
    "register_document_stores": ("document_store", DocumentStore),
}


@dataclass(slots=True)
class LoadedPlugin:
    """One plugin as ``campaign plugins`` shows it."""

    name: str
    source: str
    hooks: list[str]
    registrations: list[tuple[str, str]] = field(default_factory=list)


class PluginHost:
    """The loaded plugins of one process: the pluggy manager, the registries and load errors."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager("campaign")
        self.manager.add_hookspecs(hookspecs)
        self.registries: dict[str, Registry[Any]] = {
            kind: Registry(kind) for kind, _ in REGISTER_HOOKS.values()
        }
        self.datasources: Registry[DataSource] = self.registries["datasource"]
        self.recipient_filters: Registry[RecipientFilter] = self.registries["recipient_filter"]
        self.actions: Registry[Action] = self.registries["action"]
        self.workflows: Registry[Workflow] = self.registries["workflow"]
        self.sms_gateways: Registry[SmsGateway] = self.registries["sms_gateway"]
        self.upload_targets: Registry[UploadTarget] = self.registries["upload_target"]
        self.document_stores: Registry[DocumentStore] = self.registries["document_store"]
        self.errors: list[LoadError] = []
        self.disabled: list[str] = []
        self._added: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        self.translations: dict[str, list[Path]] = {}
        """Per plugin name, the catalog directories it registered (``register_translations``)."""
        self.event_types: dict[str, EventType] = {kind.name: kind for kind in CORE_EVENT_TYPES}
        """The domain events the core and the plugins record, by name (``register_event_types``)."""

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def add(self, plugin: object, name: str, source: str) -> None:
        """Register one plugin object (a module or instance) and its classes, or record why not."""
        try:
            self.manager.register(plugin, name=name)
        except Exception as exc:  # a bad hook signature or a name clash in pluggy
            self.errors.append(LoadError(name, f"{type(exc).__name__}: {exc}"))
            return
        reason = self._unknown_hooks(plugin)
        if not reason:
            try:
                staged = self.collect_classes(plugin)
                catalogs = [
                    Path(path) for path in self._registered("register_translations", plugin)
                ]
                event_types = self._collect_event_types(plugin)
            except Exception as exc:
                reason = f"registration failed: {type(exc).__name__}: {exc}"
        if reason:
            self.manager.unregister(plugin)
            self.errors.append(LoadError(name, reason))
            return
        try:
            self._check_conflicts(staged, name)
        except PluginConflictError:
            self.manager.unregister(plugin)
            raise
        for kind, cls in staged:
            self.registries[kind].add(cls, name)
        self._added[name] = (source, [(kind, cls.name) for kind, cls in staged])
        if catalogs:
            self.translations[name] = catalogs
        self.event_types.update((kind.name, kind) for kind in event_types)

    def _check_conflicts(self, staged: list[tuple[str, type[Plugin]]], plugin: str) -> None:
        """Refuse the whole plugin before adding anything, so no registry is left half-filled."""
        seen: set[tuple[str, str]] = set()
        for kind, cls in staged:
            registry = self.registries[kind]
            first = registry.provided_by(cls.name) if cls.name in registry else None
            if first or (kind, cls.name) in seen:
                raise PluginConflictError(
                    f"{kind} {cls.name!r} is registered by both {first or plugin!r} and "
                    f"{plugin!r}; disable one of them with CAMPAIGN_DISABLE_PLUGINS"
                )
            seen.add((kind, cls.name))

    def add_commands(self, cli: Any) -> None:
        """Let each plugin add CLI commands; one that fails or clashes is reported, not fatal."""
        for impl in self.manager.hook.register_commands.get_hookimpls():
            before = dict(cli.commands)
            try:
                impl.function(**{arg: cli for arg in impl.argnames})
            except Exception as exc:
                cli.commands = before
                self.errors.append(LoadError(impl.plugin_name, f"register_commands failed: {exc}"))
                continue
            clashes = sorted(name for name in before if cli.commands.get(name) is not before[name])
            if clashes:
                cli.commands = {**cli.commands, **{name: before[name] for name in clashes}}
                reason = f"register_commands: {', '.join(clashes)} already exists; not replaced"
                self.errors.append(LoadError(impl.plugin_name, reason))

    def _registered(self, hook_name: str, plugin: object) -> list[Any]:
        """What ``plugin``'s implementation of the ``register_*`` hook ``hook_name`` registers."""
        collected: list[Any] = []
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            if impl.plugin is plugin:
                impl.function(**{arg: collected.append for arg in impl.argnames})
        return collected

    def _collect_event_types(self, plugin: object) -> list[EventType]:
        collected = self._registered("register_event_types", plugin)
        for kind in collected:
            if not isinstance(kind, EventType):
                raise TypeError(f"register_event_types got {kind!r}, which is not an EventType")
            if kind.name in self.event_types:
                raise ValueError(f"the event type {kind.name!r} is registered already")
        return collected

    def collect_classes(self, plugin: object) -> list[tuple[str, type[Plugin]]]:
        """The checked classes ``plugin`` registers, with their kinds, before any is added."""
        staged = []
        for hook_name, (kind, base) in REGISTER_HOOKS.items():
            for cls in self._registered(hook_name, plugin):
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    raise TypeError(
                        f"{hook_name} got {cls!r}, which is not a subclass of {base.__name__}"
                    )
                cls.check_definition()
                staged.append((kind, cls))
        return staged

    def run_channel(self, config: Mapping[str, Any]) -> Channel | None:
        """The channel a run's action reaches with the run's own settings (``config``: its
        snapshot, or a delivery's ``action`` and ``action_settings``): an action may choose it
        by a setting, as file_upload's ``reach``; the class's channel when the settings no
        longer validate; None when the action is not loaded here."""
        try:
            cls = self.actions.get(config.get("action") or "")
        except UnknownPluginError:
            return None
        try:
            return cls(config.get("action_settings") or {}).channel
        except SettingsError:
            return cls.channel

    def held_back(self, session: Session, run_ids: Iterable[int]) -> dict[int, StoredText]:
        """The runs among ``run_ids`` whose done rows a plugin still holds back, each with
        why (``runs_held_back``): they count as done, but nobody was reached yet."""
        wanted = sorted(set(run_ids))
        if not wanted:
            return {}
        held: dict[int, StoredText] = {}
        for answer in self.hook.runs_held_back(session=session, run_ids=wanted):
            held.update(answer)
        return held

    def describe(self) -> dict[str, Any]:
        """Plain data about every plugin, as ``campaign plugins --json`` and the panel show it."""
        return {
            "plugins": [
                {
                    "name": plugin.name,
                    "source": plugin.source,
                    "hooks": plugin.hooks,
                    "registers": [
                        {"kind": kind, "name": name} for kind, name in plugin.registrations
                    ],
                }
                for plugin in self.loaded()
            ],
            "errors": [{"plugin": error.plugin, "reason": error.reason} for error in self.errors],
            "disabled": list(self.disabled),
        }

    def loaded(self) -> list[LoadedPlugin]:
        """Every loaded plugin with the hooks it implements and what it registered."""
        result = []
        for name, plugin in self.manager.list_name_plugin():
            if plugin is not None:  # None: a blocked (disabled) name
                source, registrations = self._added[name]
                hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
                result.append(LoadedPlugin(name, source, hooks, registrations))
        return result

    def _unknown_hooks(self, plugin: object) -> str:
        """Why ``plugin`` is refused for hooks with no specification, with the likely spelling."""
        specs = [hook.name for hook in vars(self.manager.hook).values() if hook.has_spec()]
        parts = []
        for caller in self.manager.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                close = difflib.get_close_matches(caller.name, specs, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                parts.append(f"unknown hook {caller.name!r}{hint}")
        return "; ".join(parts)


def plugins_for(settings: Settings) -> PluginHost:
    """The plugins of an installation: built-ins, ``CAMPAIGN_PLUGINS`` modules, entry points."""
    return load_plugins(
        disabled=settings.disabled_plugins, modules=(*DEFAULT_PLUGINS, *settings.extra_plugins)
    )


def load_plugins(
    disabled: Iterable[str] = (),
    modules: Iterable[str] = DEFAULT_PLUGINS,
    entry_points: bool = True,
) -> PluginHost:
    """Load the built-in modules, then the ``campaign`` entry points; a plugin whose
    ``REQUIRES`` names one not loaded before it is left out with it."""
    host = PluginHost()
    for name in disabled:
        host.manager.set_blocked(name)
    candidates = [(name, partial(importlib.import_module, name), "built-in") for name in modules]
    if entry_points:
        for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            source = f"{point.dist.name} {point.dist.version}" if point.dist else point.value
            candidates.append((point.name, point.load, source))
    for name, load, source in candidates:
        if host.manager.is_blocked(name):
            host.disabled.append(name)
            continue
        try:
            plugin = load()
        except Exception as exc:
            host.errors.append(LoadError(name, f"import failed: {type(exc).__name__}: {exc}"))
            continue
        loaded = {added for added, other in host.manager.list_name_plugin() if other is not None}
        if set(getattr(plugin, "REQUIRES", ())) <= loaded:
            host.add(plugin, name, source)
        else:
            host.disabled.append(name)
    host.errors += [
        LoadError(name, "named in CAMPAIGN_DISABLE_PLUGINS, but no such plugin exists")
        for name in disabled
        if name not in host.disabled
    ]
    return host
