import sys
import types

import pytest
from pydantic import BaseModel, Field

from core import (
    Action,
    Channel,
    DocumentStore,
    EventType,
    Outcome,
    SettingsError,
    Workflow,
    hookimpl,
)
from core.plugins import PluginConflictError, PluginHost, UnknownPluginError, load_plugins

PROCESS_WORKFLOWS = ("budget", "stock", "delivery", "operation", "supplier")


class Wave(Action):
    name = "wave"
    title = "Wave at each recipient"

    class Params(BaseModel):
        times: int = Field(ge=1, le=5, description="How often to wave")

    def process(self, recipient, context):
        return Outcome.done()


class OtherWave(Wave):
    title = "A second wave"


class Tidy(Workflow):
    name = "tidy"
    title = "Tidy up"

    def run(self, context):
        return "tidied"


def plugin_module(name: str, **hooks) -> types.ModuleType:
    """A real module object, like the ones DEFAULT_PLUGINS names, holding the given hooks."""
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    sys.modules[name] = module
    return module


@pytest.fixture
def host() -> PluginHost:
    return PluginHost()


def test_plugin_classes_land_in_registries_keyed_by_name(host):
    host.add(
        plugin_module("wave_plugin", register_actions=lambda register: register(Wave)),
        "wave_plugin",
        "built-in",
    )
    assert host.actions.get("wave") is Wave
    assert host.actions.provided_by("wave") == "wave_plugin"
    assert [p.registrations for p in host.loaded()] == [[("action", "wave")]]


def test_a_duplicate_name_is_an_error_naming_both_plugins(host):
    host.add(
        plugin_module("first", register_actions=lambda register: register(Wave)),
        "first",
        "built-in",
    )
    with pytest.raises(PluginConflictError, match=r"action 'wave'.*'first' and 'second'"):
        host.add(
            plugin_module("second", register_actions=lambda register: register(OtherWave)),
            "second",
            "built-in",
        )


def test_a_plugin_that_fails_to_register_is_reported_and_the_rest_loads(host):
    def broken(register):
        raise RuntimeError("database of greetings missing")

    host.add(plugin_module("broken", register_actions=broken), "broken", "built-in")
    host.add(
        plugin_module("good", register_workflows=lambda register: register(Tidy)),
        "good",
        "built-in",
    )
    assert [(e.plugin, e.reason) for e in host.errors] == [
        ("broken", "registration failed: RuntimeError: database of greetings missing")
    ]
    assert "tidy" in host.workflows
    assert [p.name for p in host.loaded()] == ["good"]


def test_a_misspelt_hook_is_rejected_with_a_suggestion(host):
    host.add(
        plugin_module("typo", register_actoins=lambda register: register(Wave)), "typo", "built-in"
    )
    assert list(host.actions) == []
    assert host.errors[0].plugin == "typo"
    assert "unknown hook 'register_actoins' (did you mean 'register_actions'?)" in (
        host.errors[0].reason
    )


def test_a_class_of_the_wrong_kind_is_refused(host):
    host.add(
        plugin_module("wrong", register_actions=lambda register: register(Tidy)),
        "wrong",
        "built-in",
    )
    assert "which is not a subclass of Action" in host.errors[0].reason
    assert list(host.actions) == []


def test_a_class_without_name_or_method_is_refused(host):
    class Nameless(Action):
        title = "No name"

        def process(self, recipient, context):
            return Outcome.done()

    class Lazy(Action):
        name = "lazy"
        title = "Does nothing"

    host.add(
        plugin_module("nameless", register_actions=lambda register: register(Nameless)),
        "nameless",
        "built-in",
    )
    host.add(
        plugin_module("lazy", register_actions=lambda register: register(Lazy)), "lazy", "built-in"
    )
    assert "needs a 'name'" in host.errors[0].reason
    assert "does not implement process" in host.errors[1].reason


def test_a_workflow_with_an_unusable_default_schedule_is_refused(host):
    from datetime import timedelta

    class Never(Tidy):
        name = "never"
        default_interval = timedelta(0)

    class BadCron(Tidy):
        name = "badCron"
        default_cron = "every morning"

    for workflow in (Never, BadCron):
        host.add(
            plugin_module(
                workflow.name, register_workflows=lambda register, cls=workflow: register(cls)
            ),
            workflow.name,
            "built-in",
        )
    assert "'default_interval' must be a positive timedelta, got datetime.timedelta(0)" in (
        host.errors[0].reason
    )
    assert "'default_cron': 'every morning' is not a schedule" in host.errors[1].reason
    assert list(host.workflows) == []


def test_a_plugin_module_that_fails_to_import_is_reported():
    host = load_plugins(modules=["plugins.no_such_module"], entry_points=False)
    assert host.errors[0].plugin == "plugins.no_such_module"
    assert "import failed: ModuleNotFoundError" in host.errors[0].reason


def test_disabled_plugins_are_not_imported_and_are_listed():
    host = load_plugins(
        disabled=["plugins.no_such_module"], modules=["plugins.no_such_module"], entry_points=False
    )
    assert host.errors == []
    assert host.disabled == ["plugins.no_such_module"]


def test_a_plugin_that_requires_a_disabled_bundle_is_left_out_with_it():
    host = load_plugins(disabled=["plugins.processes"], entry_points=False)
    assert host.errors == []
    process_workflows = {f"plugins.workflows.{name}" for name in PROCESS_WORKFLOWS}
    assert process_workflows <= set(host.disabled)
    loaded = {plugin.name for plugin in host.loaded()}
    assert not process_workflows & loaded and "plugins.processes" not in loaded
    assert "plugins.workflows.inbound_mail" in loaded  # needs no bundle
    assert "budgetMgt" not in host.workflows and "inboundMail" in host.workflows


def test_built_in_plugins_load_without_errors():
    host = load_plugins(entry_points=False)
    assert host.errors == []
    assert all(p.source == "built-in" for p in host.loaded())


def test_unknown_plugin_names_say_what_is_available(host):
    host.add(
        plugin_module("wave_plugin2", register_actions=lambda register: register(Wave)),
        "wave_plugin2",
        "built-in",
    )
    with pytest.raises(UnknownPluginError, match=r"unknown action 'print'; available: wave"):
        host.actions.get("print")


def test_settings_are_validated_by_the_parameter_model():
    assert Wave({"times": 2}).params.times == 2
    with pytest.raises(SettingsError) as error:
        Wave({"times": 9, "colour": "red"})
    message = str(error.value)
    assert "action 'wave'" in message and "times:" in message
    assert Wave.params_schema()["properties"]["times"]["description"] == "How often to wave"
    with pytest.raises(SettingsError, match="colour"):
        Tidy({"colour": "red"})


def test_lifecycle_hooks_reach_plugins(host):
    seen = []
    host.add(
        plugin_module("listener", run_finished=lambda run: seen.append(run.state)),
        "listener",
        "built-in",
    )
    from core import RunEvent

    host.hook.run_finished(run=RunEvent(1, 2, "Info", "wave", "completed"))
    assert seen == ["completed"]


def declaring(event_type: EventType):
    return lambda register: register(event_type)


class Courier(Wave):
    """An action whose settings choose whom it reaches, as file_upload's ``reach``."""

    name = "courier"
    title = "Courier"

    class Params(BaseModel):
        reach: Channel = Channel.POSTAL

    def __init__(self, params=None):
        super().__init__(params)
        self.channel = self.params.reach


def test_a_runs_channel_is_the_one_its_settings_choose(host):
    host.add(
        plugin_module(
            "courier", register_actions=lambda register: [register(Wave), register(Courier)]
        ),
        "courier",
        "built-in",
    )

    def channel(action, settings=None):
        return host.run_channel({"action": action, "action_settings": settings})

    assert channel("courier", {"reach": "email"}) is Channel.EMAIL
    assert channel("courier") is Channel.POSTAL
    assert channel("courier", {"reach": "pigeon"}) is Channel.NONE  # no longer valid: the class's
    assert channel("wave", {"times": 2}) is Channel.NONE
    assert channel("fax") is None


def test_event_types_are_the_cores_and_the_plugins_and_a_taken_name_is_refused(host):
    written = EventType("greeting.written", "Greeting written")
    copy = EventType("run.started", "Started")
    for name, event_type in (("greeter", written), ("copycat", copy)):
        declare = declaring(event_type)
        host.add(plugin_module(name, register_event_types=declare), name, "built-in")

    assert host.event_types["greeting.written"] == written
    assert host.event_types["run.started"].title == "events.run.started"
    assert [(error.plugin, error.reason) for error in host.errors] == [
        (
            "copycat",
            "registration failed: ValueError: the event type 'run.started' is registered already",
        )
    ]


def test_a_conflicting_plugin_leaves_nothing_half_registered(host):
    host.add(
        plugin_module("first_wave", register_actions=lambda register: register(Wave)),
        "first_wave",
        "built-in",
    )

    mixed = plugin_module(
        "mixed",
        register_workflows=lambda register: register(Tidy),
        register_actions=lambda register: register(OtherWave),
    )
    with pytest.raises(PluginConflictError):
        host.add(mixed, "mixed", "built-in")
    assert "tidy" not in host.workflows
    assert [p.name for p in host.loaded()] == ["first_wave"]


def test_a_misspelt_disabled_name_is_reported():
    host = load_plugins(disabled=["helo"], modules=(), entry_points=False)
    assert host.errors[0].plugin == "helo"
    assert "no such plugin exists" in host.errors[0].reason


def test_plugin_commands_that_fail_or_clash_are_reported_not_fatal(host):
    import click

    def clash(cli):
        @cli.command("plugins")
        def impostor():
            """Pretends to be the real command."""

    def broken(cli):
        raise RuntimeError("no commands today")

    host.add(plugin_module("clash", register_commands=clash), "clash", "built-in")
    host.add(plugin_module("broken_cli", register_commands=broken), "broken_cli", "built-in")
    real = click.Command("plugins")
    group = click.Group(commands={"plugins": real})
    host.add_commands(group)
    assert group.commands == {"plugins": real}
    assert sorted((e.plugin, e.reason) for e in host.errors) == [
        ("broken_cli", "register_commands failed: no commands today"),
        ("clash", "register_commands: plugins already exists; not replaced"),
    ]


class MemoryStore(DocumentStore):
    """A store with only the required methods: streaming comes from the base class."""

    name = "memory"
    title = "Memory"
    chunk_size = 4

    def __init__(self, params=None):
        super().__init__(params)
        self.blobs: dict[str, bytes] = {}

    def put(self, key, data):
        self.blobs[key] = data
        return key

    def get(self, reference):
        if reference not in self.blobs:
            raise FileNotFoundError(reference)
        return self.blobs[reference]

    def delete(self, reference):
        self.blobs.pop(reference, None)


def test_a_store_without_streaming_of_its_own_streams_through_put_and_get():
    store = MemoryStore()
    reference = store.put_stream("a/letter.pdf", iter([b"Hallo ", b"Welt"]))
    assert list(store.get_stream(reference)) == [b"Hall", b"o We", b"lt"]
    store.put_stream("a/letter.pdf", [b"neu"])
    assert list(store.get_stream(reference)) == [b"neu"]
    with pytest.raises(FileNotFoundError):
        store.get_stream("missing")
