"""The example package examples/campaign-hello is a real third-party plugin.

It must be installed (``pip install -e examples/campaign-hello``) and is found only
through its ``campaign`` entry point: these tests never import ``campaign_hello``.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect as inspect_schema
from sqlalchemy import text

from core.db.database import Database
from core.db.schema import (
    UnloadedBranchError,
    branch_states,
    downgrade,
    missing_heads,
    upgrade,
)
from core.plugins import ENTRY_POINT_GROUP, PluginHost, load_plugins

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "campaign-hello"
PACKAGE = EXAMPLE / "campaign_hello"
DOCS = ROOT / "docs" / "plugins.md"
TABLE = "hello_greetings"


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
    assert hello.hooks == ["register_actions", "register_migrations", "register_translations"]
    assert hello.registrations == [("action", "greeting_file")]

    action = host.actions.get("greeting_file")
    assert action.__module__ == "campaign_hello"
    assert host.actions.provided_by("greeting_file") == "hello"
    assert Path(inspect.getfile(action)).resolve() == PACKAGE / "__init__.py"
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
    for field in ("path", "greeting", "price"):
        assert schema["properties"][field]["description"]


def greetings(database: Database) -> list[tuple[int, str, str]]:
    with database.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(f"SELECT run_id, recipient, line FROM {TABLE} ORDER BY recipient")
            )
        ]


def test_a_run_records_each_greeting_in_the_plugins_table(campaign_testbed, tmp_path: Path) -> None:
    ids = campaign_testbed.add_contacts(*({"last_name": f"Name{n}"} for n in range(1, 4)))
    campaign = campaign_testbed.create_campaign(
        "query",
        "greeting_file",
        {"definition": {"root": "contacts"}},
        {"path": f"{tmp_path}/g.txt"},
    )

    result = campaign_testbed.run(campaign, confirmed_by="test")

    lines = [f"Hallo Name{n}" for n in range(1, 4)]
    keys = [f"contacts:{contact_id}" for contact_id in ids]
    assert {key: outcome.units for key, outcome in result.outcomes.items()} == dict.fromkeys(
        keys, 10
    )
    assert greetings(campaign_testbed.database) == [
        (result.run_id, key, line) for key, line in sorted(zip(keys, lines, strict=True))
    ]


@pytest.fixture
def database(campaign_database_url: str) -> Iterator[Database]:
    database = Database(campaign_database_url)
    yield database
    database.dispose()


def tables(database: Database) -> set[str]:
    return set(inspect_schema(database.engine).get_table_names())


@pytest.fixture
def hello_disabled() -> PluginHost:
    return load_plugins(disabled=["hello"])


def test_the_branch_goes_down_and_up_without_touching_the_core(database: Database) -> None:
    core_tables = tables(database) - {TABLE}

    downgrade(database.engine, "hello@base")
    assert tables(database) == core_tables
    assert missing_heads(database.engine, load_plugins())

    upgrade(database.engine)
    assert tables(database) == core_tables | {TABLE}
    assert not missing_heads(database.engine, load_plugins())
    states = {state.name: state for state in branch_states(database.engine, load_plugins())}
    assert states["hello"].database == states["hello"].code == "hello_0001_greetings"
    assert states["core"].database == states["core"].code == "0034_hourly_limit"


def test_going_below_the_core_revision_the_branch_depends_on_takes_the_branch_first(
    database: Database,
) -> None:
    downgrade(database.engine, "0020_consent_rules")
    assert TABLE not in tables(database)

    upgrade(database.engine)
    assert TABLE in tables(database)


def test_a_disabled_plugin_gets_no_tables_and_keeps_them_when_disabled_later(
    database: Database, hello_disabled: PluginHost
) -> None:
    downgrade(database.engine, "base")
    upgrade(database.engine, plugins=hello_disabled)
    assert TABLE not in tables(database)
    assert "contacts" in tables(database)
    assert not missing_heads(database.engine, hello_disabled)
    assert missing_heads(database.engine, load_plugins()), "enabled again, it needs its branch"

    upgrade(database.engine)
    assert TABLE in tables(database)

    upgrade(database.engine, plugins=hello_disabled)
    assert TABLE in tables(database)
    assert not missing_heads(database.engine, hello_disabled)
    states = branch_states(database.engine, hello_disabled)
    assert [(state.name, state.database) for state in states] == [
        ("core", "0034_hourly_limit"),
        ("plugins.actions.commission", "commission_0001_bookings"),
        ("plugins.stores.database", "database_store_0001_chunks"),
        ("plugins.processes", "processes_0002_confirmed_count"),
        ("plugins.webhooks", "webhooks_0001_tables"),
        ("plugins.workflows.inbound_mail", "inbound_mail_0001_mails"),
        (None, "hello_0001_greetings"),
    ]
    with pytest.raises(UnloadedBranchError, match="hello_0001_greetings"):
        downgrade(database.engine, "0020_consent_rules", plugins=hello_disabled)


def test_tutorial_shows_the_example_files_verbatim() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    files = (
        ("pyproject.toml", "toml"),
        ("campaign_hello/__init__.py", "python"),
        ("campaign_hello/models.py", "python"),
        ("campaign_hello/migrations/hello_0001_greetings.py", "python"),
        ("campaign_hello/translations/de/LC_MESSAGES/messages.po", "po"),
        ("tests/test_greeting_file.py", "python"),
    )
    for filename, language in files:
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
    assert len(texts) == 9
    for context, message in texts:
        entry = german.get(message, context=context or None)
        assert entry is not None and entry.string, message
