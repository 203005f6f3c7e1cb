"""The plugin manager: loads built-in and third-party plugins the same way and keeps registries.

Built-in plugins are the modules in ``DEFAULT_PLUGINS`` (the ``plugins`` package and the
panel's command module), named as text and imported by ``load_plugins``, never by the
core's own imports; third-party plugins are found through the ``campaign`` entry-point
group. Both go through ``load_plugins``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pluggy

from core import hookspecs
from core.config import Settings
from core.events import CORE_EVENT_TYPES, EventType
from core.plugin_base import (
    Action,
    DataSource,
    DocumentStore,
    Plugin,
    RecipientFilter,
    SmsGateway,
    UploadTarget,
    Workflow,
)

ENTRY_POINT_GROUP = "campaign"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "plugins.datasources.query",
    "plugins.datasources.distribution_list",
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
    "plugins.processes",
    "plugins.webhooks",
    "plugins.workflows.budget",
    "plugins.workflows.stock",
    "plugins.workflows.delivery",
    "plugins.workflows.operation",
    "plugins.workflows.supplier",
    "plugins.workflows.inbound_mail",
    "plugins.demo",
    "webapp.commands",
)

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


@dataclass(frozen=True, slots=True)
class Registered(Generic[P]):
    """A plugin class in a registry together with the plugin that registered it."""

    cls: type[P]
    plugin: str


def conflict_message(kind: str, name: str, first: str, second: str) -> str:
    return (
        f"{kind} {name!r} is registered by both {first!r} and {second!r}; "
        "disable one of them with CAMPAIGN_DISABLE_PLUGINS"
    )


class Registry(Generic[P]):
    """Plugin classes of one kind keyed by their ``name``."""

    def __init__(self, kind: str, base: type[P]):
        self.kind = kind
        self.base = base
        self._entries: dict[str, Registered[P]] = {}

    def add(self, cls: type[P], plugin: str) -> None:
        existing = self._entries.get(cls.name)
        if existing is not None:
            raise PluginConflictError(
                conflict_message(self.kind, cls.name, existing.plugin, plugin)
            )
        self._entries[cls.name] = Registered(cls, plugin)

    def get(self, name: str) -> type[P]:
        try:
            return self._entries[name].cls
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownPluginError(f"unknown {self.kind} {name!r} (available: {known})") from None

    def provided_by(self, name: str) -> str:
        return self._entries[name].plugin

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[type[P]]:
        return (self._entries[name].cls for name in self.names())

    def __len__(self) -> int:
        return len(self._entries)


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
            kind: Registry(kind, base) for kind, base in REGISTER_HOOKS.values()
        }
        self.errors: list[LoadError] = []
        self.disabled: list[str] = []
        self._sources: dict[str, str] = {}
        self._registrations: dict[str, list[tuple[str, str]]] = {}
        self.translations: dict[str, list[Path]] = {}
        """Per plugin name, the catalog directories it registered (``register_translations``)."""
        self.event_types: dict[str, EventType] = {kind.name: kind for kind in CORE_EVENT_TYPES}
        """The domain events the core and the plugins record, by name (``register_event_types``)."""

    @property
    def hook(self) -> Any:
        return self.manager.hook

    @property
    def datasources(self) -> Registry[DataSource]:
        return self.registries["datasource"]

    @property
    def recipient_filters(self) -> Registry[RecipientFilter]:
        return self.registries["recipient_filter"]

    @property
    def actions(self) -> Registry[Action]:
        return self.registries["action"]

    @property
    def workflows(self) -> Registry[Workflow]:
        return self.registries["workflow"]

    @property
    def sms_gateways(self) -> Registry[SmsGateway]:
        return self.registries["sms_gateway"]

    @property
    def upload_targets(self) -> Registry[UploadTarget]:
        return self.registries["upload_target"]

    @property
    def document_stores(self) -> Registry[DocumentStore]:
        return self.registries["document_store"]

    def add(self, plugin: object, name: str, source: str) -> None:
        """Register one plugin object (a module or instance) and its classes, or record why not."""
        try:
            self.manager.register(plugin, name=name)
        except Exception as exc:  # a bad hook signature or a name clash in pluggy
            self.errors.append(LoadError(name, f"{type(exc).__name__}: {exc}"))
            return
        unknown = [
            caller.name
            for caller in self.manager.get_hookcallers(plugin) or []
            if not caller.has_spec()
        ]
        if unknown:
            self.manager.unregister(plugin)
            self.errors.append(LoadError(name, _describe_unknown_hooks(unknown)))
            return
        try:
            staged = list(self._collect_classes(plugin))
            catalogs = self._collect_translations(plugin)
            event_types = self._collect_event_types(plugin)
        except Exception as exc:
            self.manager.unregister(plugin)
            self.errors.append(LoadError(name, f"registration failed: {type(exc).__name__}: {exc}"))
            return
        try:
            self._check_conflicts(staged, name)
        except PluginConflictError:
            self.manager.unregister(plugin)
            raise
        for kind, cls in staged:
            self.registries[kind].add(cls, name)
        self._sources[name] = source
        self._registrations[name] = [(kind, cls.name) for kind, cls in staged]
        if catalogs:
            self.translations[name] = catalogs
        self.event_types.update((kind.name, kind) for kind in event_types)

    def _check_conflicts(self, staged: list[tuple[str, type[Plugin]]], plugin: str) -> None:
        """Refuse the whole plugin before adding anything, so no registry is left half-filled."""
        seen: set[tuple[str, str]] = set()
        for kind, cls in staged:
            registry = self.registries[kind]
            if cls.name in registry:
                raise PluginConflictError(
                    conflict_message(kind, cls.name, registry.provided_by(cls.name), plugin)
                )
            if (kind, cls.name) in seen:
                raise PluginConflictError(conflict_message(kind, cls.name, plugin, plugin))
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
                self.errors.append(
                    LoadError(
                        impl.plugin_name,
                        f"register_commands: {', '.join(clashes)} already exists; not replaced",
                    )
                )

    def _collect_translations(self, plugin: object) -> list[Path]:
        directories: list[Path] = []
        for impl in self.manager.hook.register_translations.get_hookimpls():
            if impl.plugin is plugin:
                impl.function(**{arg: directories.append for arg in impl.argnames})
        return [Path(directory) for directory in directories]

    def _collect_event_types(self, plugin: object) -> list[EventType]:
        collected: list[EventType] = []
        for impl in self.manager.hook.register_event_types.get_hookimpls():
            if impl.plugin is plugin:
                impl.function(**{arg: collected.append for arg in impl.argnames})
        for kind in collected:
            if not isinstance(kind, EventType):
                raise TypeError(f"register_event_types got {kind!r}, which is not an EventType")
            if kind.name in self.event_types:
                raise ValueError(f"the event type {kind.name!r} is registered already")
        return collected

    def _collect_classes(self, plugin: object) -> Iterator[tuple[str, type[Plugin]]]:
        for hook_name, (kind, base) in REGISTER_HOOKS.items():
            for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                collected: list[type[Plugin]] = []
                impl.function(**{arg: collected.append for arg in impl.argnames})
                for cls in collected:
                    if not (isinstance(cls, type) and issubclass(cls, base)):
                        raise TypeError(
                            f"{hook_name} got {cls!r}, which is not a subclass of {base.__name__}"
                        )
                    cls.check_definition()
                    yield kind, cls

    def describe(self) -> dict[str, Any]:
        """Plain data about every plugin, as ``campaign plugins --json`` and the panel show it:
        the loaded ones with their hooks and registrations, load errors, disabled names."""
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
            if plugin is None:  # a blocked (disabled) name
                continue
            hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
            result.append(LoadedPlugin(name, self._sources[name], hooks, self._registrations[name]))
        return result


def _describe_unknown_hooks(names: Iterable[str]) -> str:
    prefixes = ("register_", "run_", "item_", "install_")
    specs = [name for name in dir(hookspecs) if name.startswith(prefixes)]
    parts = []
    for name in names:
        close = difflib.get_close_matches(name, specs, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"unknown hook {name!r}{hint}")
    return "; ".join(parts)


def _missing_requirement(host: PluginHost, plugin: object) -> bool:
    """Whether ``plugin`` names in ``REQUIRES`` a plugin (bundle) that is not loaded, e.g. a
    process workflow when ``plugins.processes`` is disabled: it is then left out with it.
    A required plugin must come before the plugins that require it."""
    loaded = {name for name, module in host.manager.list_name_plugin() if module is not None}
    return not set(getattr(plugin, "REQUIRES", ())) <= loaded


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
    """Load the built-in modules, then every entry point of the ``campaign`` group."""
    host = PluginHost()
    for name in disabled:
        host.manager.set_blocked(name)
    for module_name in modules:
        if host.manager.is_blocked(module_name):
            host.disabled.append(module_name)
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            host.errors.append(
                LoadError(module_name, f"import failed: {type(exc).__name__}: {exc}")
            )
            continue
        if _missing_requirement(host, module):
            host.disabled.append(module_name)
            continue
        host.add(module, module_name, "built-in")
    if entry_points:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if host.manager.is_blocked(entry_point.name):
                host.disabled.append(entry_point.name)
                continue
            dist = entry_point.dist
            source = f"{dist.name} {dist.version}" if dist else entry_point.value
            try:
                plugin = entry_point.load()
            except Exception as exc:
                host.errors.append(
                    LoadError(entry_point.name, f"import failed: {type(exc).__name__}: {exc}")
                )
                continue
            if _missing_requirement(host, plugin):
                host.disabled.append(entry_point.name)
                continue
            host.add(plugin, entry_point.name, source)
    for name in disabled:
        if name not in host.disabled:
            host.errors.append(
                LoadError(name, "named in CAMPAIGN_DISABLE_PLUGINS, but no such plugin exists")
            )
    return host
