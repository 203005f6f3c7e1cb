"""The example package examples/campaign-hello is a real third-party plugin.

It must be installed (``pip install -e examples/campaign-hello``) and is found only
through its ``campaign`` entry point: these tests never import ``campaign_hello``.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import sys
from pathlib import Path

import pytest

import core
from core.plugins import ENTRY_POINT_GROUP, load_plugins

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "campaign-hello"
DOCS = ROOT / "docs" / "plugins.md"


def normalized(distribution_name: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution_name).lower()


@pytest.fixture
def fresh_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget an earlier import of the example so each test sees who imports it."""
    monkeypatch.delitem(sys.modules, "campaign_hello", raising=False)


def test_entry_point_is_installed() -> None:
    hello = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if entry_point.name == "hello"
    ]
    assert len(hello) == 1, "run: .venv/bin/pip install -e examples/campaign-hello"
    (entry_point,) = hello
    assert ENTRY_POINT_GROUP == "campaign"
    assert entry_point.value == "campaign_hello"
    assert entry_point.dist is not None
    assert normalized(entry_point.dist.name) == "campaign-hello"
    assert entry_point.dist.version == "0.1.0"


def test_load_plugins_finds_the_example_through_its_entry_point(fresh_import: None) -> None:
    host = load_plugins(modules=())

    assert "campaign_hello" in sys.modules, "load_plugins should have imported it"
    assert [error for error in host.errors if error.plugin == "hello"] == []
    plugins = {plugin.name: plugin for plugin in host.loaded()}
    hello = plugins["hello"]
    assert normalized(hello.source.split()[0]) == "campaign-hello"
    assert hello.source.split()[1] == "0.1.0"
    assert hello.hooks == ["register_actions", "register_translations"]
    assert hello.registrations == [("action", "greeting_file")]

    action = host.actions.get("greeting_file")
    assert action.__module__ == "campaign_hello"
    assert host.actions.provided_by("greeting_file") == "hello"
    assert Path(inspect.getfile(action)).resolve() == EXAMPLE / "campaign_hello" / "__init__.py"
    assert action.title == "Write greetings to a file"


def test_disabled_example_is_neither_imported_nor_registered(fresh_import: None) -> None:
    host = load_plugins(modules=(), disabled=["hello"])

    assert "greeting_file" not in host.actions
    assert "hello" in host.disabled
    assert host.manager.get_plugin("hello") is None
    assert [error for error in host.errors if error.plugin == "hello"] == []
    assert "campaign_hello" not in sys.modules


def test_disabled_example_is_left_out_of_the_listing() -> None:
    host = load_plugins(modules=(), disabled=["hello"])

    assert "hello" not in {plugin.name for plugin in host.loaded()}


def test_params_describe_each_field() -> None:
    action = load_plugins(modules=()).actions.get("greeting_file")
    schema = action.params_schema()

    assert schema["required"] == ["path"]
    assert schema["properties"]["greeting"]["default"] == "Hallo"
    for field in ("path", "greeting"):
        assert schema["properties"][field]["description"]


def test_action_appends_one_line_per_recipient(tmp_path: Path) -> None:
    action_class = load_plugins(modules=()).actions.get("greeting_file")
    target = tmp_path / "greetings.txt"
    action = action_class({"path": str(target)})
    recipients = [
        core.Recipient("c1", "contact", 1, {"first_name": "Ada", "last_name": "Lovelace"}),
        core.Recipient("c2", "contact", 2, {"first_name": "Grace", "last_name": "Hopper"}),
    ]

    outcomes = [action.process(recipient, context=None) for recipient in recipients]

    assert [outcome.status for outcome in outcomes] == ["done", "done"]
    assert target.read_text(encoding="utf-8").splitlines() == [
        "Hallo Ada Lovelace",
        "Hallo Grace Hopper",
    ]


def test_action_uses_the_greeting_and_fails_without_a_name(tmp_path: Path) -> None:
    action_class = load_plugins(modules=()).actions.get("greeting_file")
    target = tmp_path / "out" / "greetings.txt"
    action = action_class({"path": str(target), "greeting": "Moin"})

    nameless = action.process(core.Recipient("c3", "contact", 3, {"email": "x@example.org"}), None)
    last_only = action.process(core.Recipient("c4", "contact", 4, {"last_name": "Curie"}), None)

    assert nameless == core.Outcome.failed("no name")
    assert last_only.status == "done"
    assert target.read_text(encoding="utf-8") == "Moin Curie\n"


def test_missing_path_is_a_settings_error_naming_the_field() -> None:
    action_class = load_plugins(modules=()).actions.get("greeting_file")

    with pytest.raises(core.SettingsError) as excinfo:
        action_class({"greeting": "Hi"})

    error = excinfo.value
    assert (error.kind, error.name) == ("action", "greeting_file")
    assert [field for field, _ in error.problems] == ["path"]
    assert "path" in str(error)
    with pytest.raises(core.SettingsError, match="path"):
        action_class.validate_params({})


def test_tutorial_shows_the_example_files_verbatim() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for filename, language in (
        ("pyproject.toml", "toml"),
        ("campaign_hello/__init__.py", "python"),
        ("campaign_hello/translations/de/LC_MESSAGES/messages.po", "po"),
    ):
        content = (EXAMPLE / filename).read_text(encoding="utf-8")
        assert f"```{language}\n{content}```" in docs, (
            f"docs/plugins.md should show examples/campaign-hello/{filename} as it is"
        )


def test_every_text_of_the_example_has_a_german_translation(fresh_import: None) -> None:
    """What ``pybabel extract`` finds in the example (method ``campaign_plugin``), its
    German catalog translates, so the German panel shows the action in German."""
    from babel.messages.pofile import read_po

    from core.plugin_texts import plugin_texts

    host = load_plugins(modules=())
    (catalog_dir,) = host.translations["hello"]
    with (catalog_dir / "de" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        german = read_po(source, locale="de")
    texts = list(plugin_texts(host.actions.get("greeting_file")))
    assert len(texts) == 6
    for context, text in texts:
        entry = german.get(text, context=context or None)
        assert entry is not None and entry.string, text
