"""A test kit for plugin authors: migrated databases, a runtime whose queue is worked in the
test's own process, campaigns created and run in code, and fake contexts for unit tests.

It is a pytest plugin (entry point ``pytest11``, so installing ``campaign`` is enough) with
these fixtures; ``docs/plugins.md`` ("Testing a plugin") shows them in use:

- ``campaign_database_url``: a clean, migrated database (the tables of every installed
  plugin but those ``CAMPAIGN_DISABLE_PLUGINS`` names),
  once on SQLite and once on PostgreSQL; the PostgreSQL half runs when
  ``CAMPAIGN_TEST_POSTGRES_URL`` names a server whose user may create databases.
- ``campaign_redis_url``: ``CAMPAIGN_TEST_REDIS_URL``, or an embedded server for the session.
- ``campaign_settings``: an installation in the test's temporary directory.
- ``campaign_testbed``: a :class:`Testbed` with every installed plugin (but those
  ``CAMPAIGN_DISABLE_PLUGINS`` names).

Tests of one class alone need no database: :class:`FakeRunContext` and
:class:`FakeWorkflowContext` stand in for what the engine and the scheduler hand over.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from core.config import DEFAULT_TIMEZONE, Settings
from core.db.database import Database
from core.db.schema import upgrade
from core.messages import StoredText, literal, stored
from core.plugin_base import Channel, Outcome, Recipient
from core.plugins import PluginHost, load_plugins
from core.runtime import Runtime
from core.workflows.context import WorkflowContext, load_params
from core.workflows.schedules import load_zone

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, reason: object) -> None:
    """Skip the test for a missing service, or fail it where ``CI=true``."""
    message = f"{what} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


def disabled_plugins() -> list[str]:
    """The plugins ``CAMPAIGN_DISABLE_PLUGINS`` names, which the test databases and a test's
    plugin host leave out as an installation does."""
    names = os.environ.get("CAMPAIGN_DISABLE_PLUGINS", "").split(",")
    return [name.strip() for name in names if name.strip()]


def migrated_database(url: str, plugins: PluginHost | None = None) -> Database:
    """The database at ``url`` with the core's and every plugin's migrations applied."""
    database = Database(url)
    upgrade(database.engine, plugins=plugins or load_plugins())
    return database


def empty_tables(url: str, plugins: PluginHost) -> None:
    """Bring a PostgreSQL database back to its migrated, empty state after a test."""
    engine = create_engine(url)
    # Restores the schema if the test migrated it down; the tables are read from the database,
    # so that those of plugins nothing imported yet are emptied too.
    upgrade(engine, plugins=plugins)
    names = sqlalchemy.inspect(engine).get_table_names()
    tables = ", ".join(f'"{name}"' for name in names if name != "alembic_version")
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@dataclass(frozen=True)
class RunResult:
    """A finished run as the ledger recorded it: ``outcomes`` maps each recipient's (or
    group's) key to its ``Outcome``, whose status may also be ``held_out`` or ``unclear``."""

    run_id: int
    state: str
    counts: Mapping[str, int]
    outcomes: Mapping[str, Outcome]
    error: str | None = None


class Testbed:
    """A runtime on a test database with shortcuts to set up, run and inspect campaigns.

    Jobs are worked by ``work()`` in this process (RQ's ``SimpleWorker``), so a plugin's
    code runs where pytest, coverage and a debugger see it.
    """

    __test__ = False  # not a test class, whatever pytest's name rules say

    def __init__(self, runtime: Runtime):
        from core.jobs.functions import install_runtime

        self.runtime = runtime
        install_runtime(runtime)

    @classmethod
    def start(
        cls, settings: Settings, plugins: PluginHost | Iterable[tuple[str, object]] | None = None
    ) -> Testbed:
        """A testbed with every installed plugin but those ``CAMPAIGN_DISABLE_PLUGINS`` names,
        or with ``plugins``: a host or ``(name, module)`` pairs registered as they are given."""
        if plugins is None:
            host = load_plugins(disabled=disabled_plugins())
        elif isinstance(plugins, PluginHost):
            host = plugins
        else:
            host = PluginHost()
            for name, plugin in plugins:
                host.add(plugin, name, "test")
        if host.errors:
            raise AssertionError(f"plugins not loaded: {host.errors}")
        return cls(Runtime.start(settings, host))

    def close(self) -> None:
        self.runtime.close()

    @property
    def database(self) -> Database:
        return self.runtime.database

    @property
    def plugins(self) -> PluginHost:
        return self.runtime.plugins

    def add_contacts(self, *contacts: Mapping[str, Any]) -> list[int]:
        """Insert contacts (``core.models.Contact`` columns; ``number`` is made up when
        missing) and return their ids in order."""
        from core.models import Contact

        rows = [
            {"number": f"K-{uuid.uuid4().hex[:12]}", "attributes": {}, **contact}
            for contact in contacts
        ]
        with self.database.session() as session:
            return list(session.scalars(insert(Contact).returning(Contact.id), rows))

    def create_campaign(
        self,
        source: str,
        action: str,
        source_settings: Mapping[str, Any] | None = None,
        action_settings: Mapping[str, Any] | None = None,
        *,
        filters: Iterable[str | tuple[str, Mapping[str, Any]]] = (),
        group_keys: Iterable[str] = (),
        name: str | None = None,
    ) -> int:
        """A campaign from a data source, filters (a name, or a name and settings) and an
        action, checked as the panel checks it (``core.SettingsError`` names a bad field)."""
        from core.engine.campaigns import CampaignConfig, create_campaign

        config = CampaignConfig(
            datasource=source,
            datasource_settings=dict(source_settings or {}),
            action=action,
            action_settings=dict(action_settings or {}),
            filters=tuple(
                {"name": entry, "settings": {}}
                if isinstance(entry, str)
                else {"name": entry[0], "settings": dict(entry[1])}
                for entry in filters
            ),
            group_keys=tuple(group_keys),
        )
        with self.database.session() as session:
            return create_campaign(
                session, self.plugins, config, self.runtime.clock.now(), name=name
            ).id

    def run(
        self,
        campaign_id: int,
        *,
        confirmed_by: str,
        expected_count: int | None = None,
        limit: int | None = None,
    ) -> RunResult:
        """Run the campaign to its end and return what the ledger recorded.

        Nothing reaches anyone without a confirmation: ``confirmed_by`` names who gave it.
        With ``expected_count`` the run stops after targeting, as in the panel, and goes on
        only if it would reach exactly that many (``ConfirmationCountError`` otherwise).
        """
        from core.engine.runs import confirm_run, start_run

        if not confirmed_by:
            raise ValueError("a run needs the name of the person who confirmed it")
        if expected_count is None:
            run = start_run(self.runtime, campaign_id, limit=limit, confirmed_by=confirmed_by)
        else:
            run = start_run(self.runtime, campaign_id, limit=limit)
            self.work()
            confirm_run(self.runtime, run.id, confirmed_by, expected_count)
        self.work()
        return self.result(run.id)

    def dry_run(self, campaign_id: int) -> RunResult:
        """A dry run (``Action.preview`` for each recipient, no effect): no confirmation."""
        from core.engine.runs import start_run

        run = start_run(self.runtime, campaign_id, dry_run=True)
        self.work()
        return self.result(run.id)

    def result(self, run_id: int) -> RunResult:
        """What the ledger holds for run ``run_id`` now."""
        from core.ledger import run_outcomes
        from core.models import Run

        with self.database.session() as session:
            run = session.get(Run, run_id)
            counts = {
                name: getattr(run, name)
                for name in ("targeted", "held_out", "done", "failed", "skipped", "unclear")
            }
            outcomes = run_outcomes(session, run_id)
            return RunResult(run.id, run.state.value, counts, outcomes, run.error)

    def work(self) -> None:
        """Work every queued job, and the jobs they enqueue, in this process."""
        from rq import SimpleWorker

        from core.jobs.queue import QUEUE_NAMES, get_queue

        queues = [get_queue(self.runtime.redis, name) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=self.runtime.redis).work(burst=True)

    def run_workflow(self, name: str) -> Any:
        """One recorded pass of workflow ``name``, now, in this process; returns its
        ``WorkflowRun`` (``status``, ``summary``, ``error``, ``log``)."""
        from core.workflows.operating import run_inline

        return run_inline(self.runtime, name, requested_by="test")

    @contextmanager
    def run_context(
        self, channel: Channel = Channel.NONE, *, campaign_name: str = "test", dry_run=False
    ) -> Iterator[Any]:
        """A real ``RunContext`` outside any run, for calling a data source's ``select``,
        ``iter_recipients`` or ``load`` or a filter directly; its session commits at the end."""
        from core.engine.context import RunContext

        with self.database.session() as session:
            yield RunContext(self.runtime, session, None, campaign_name, None, channel, dry_run)

    def workflow_context(self, name: str = "test") -> WorkflowContext:
        """What the scheduler hands a workflow's ``run`` for a pass starting now, with the
        workflow's saved settings (or defaults) as ``params`` if ``name`` is registered."""
        context = WorkflowContext.start(self.runtime, name)
        workflows = self.runtime.plugins.workflows
        if name in workflows:
            with self.database.session() as session:
                context.params = load_params(session, workflows.get(name))
        return context


@dataclass
class FakeRunContext:
    """A stand-in for the engine's ``RunContext`` in unit tests of one action, filter or
    data source: ``session`` records what is added, ``members`` returns ``groups[key]``."""

    run_dir: Path
    campaign_name: str = "test"
    campaign_id: int | None = None
    run_id: int | None = None
    channel: Channel = Channel.NONE
    dry_run: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    settings: Any = None
    groups: Mapping[str | None, list[Recipient]] = field(default_factory=dict)
    session: Any = field(default_factory=lambda: RecordingSession())
    extras: dict[str, Any] = field(default_factory=dict)

    def members(self, group_key: str | None) -> Iterator[Recipient]:
        return iter(self.groups.get(group_key, []))

    def member_ids(self, group_key: str | None, size: int = 100) -> Iterator[list[int]]:
        ids = [recipient.id for recipient in self.groups.get(group_key, [])]
        for start in range(0, len(ids), size):
            yield ids[start : start + size]

    @contextmanager
    def claim_kept(self, key: str) -> Iterator[None]:
        yield


@dataclass
class RecordingSession:
    """Keeps what an action adds to the unit of work, for a test to look at."""

    added: list[Any] = field(default_factory=list)

    def add(self, instance: Any) -> None:
        self.added.append(instance)

    def add_all(self, instances: Iterable[Any]) -> None:
        self.added.extend(instances)

    def flush(self) -> None:
        """Nothing to write: the objects stay in ``added``."""


@dataclass
class FakeWorkflowContext:
    """A stand-in for ``WorkflowContext``: a fixed ``now`` (UTC), ``settings`` (a
    ``core.config.Settings`` for the time zone and paths), the workflow's own ``params``
    (an instance of its ``Params`` model) and the logged lines."""

    settings: Any = None
    params: Any = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    workflow: str = "test"
    database: Any = None
    lines: list[str] = field(default_factory=list)
    messages: list[StoredText] = field(default_factory=list)

    def log(self, text: str | StoredText, /, **params: Any) -> None:
        """Like ``WorkflowContext.log``: ``lines`` has the English text."""
        if not isinstance(text, StoredText):
            text = stored(text if params else literal(text), **params)
        self.messages.append(text)
        self.lines.append(text.english())

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of ``settings`` (the default one without settings)."""
        return load_zone(getattr(self.settings, "timezone", DEFAULT_TIMEZONE))


# -- the pytest fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def campaign_schema_plugins() -> PluginHost:
    """The plugins whose tables the test databases hold: every installed one but those
    ``CAMPAIGN_DISABLE_PLUGINS`` names (with the process bundle disabled, none of its)."""
    return load_plugins(disabled=disabled_plugins())


@pytest.fixture(scope="session")
def campaign_postgres_admin_url() -> str | None:
    """A PostgreSQL URL whose user may create databases, or None for SQLite only."""
    return os.environ.get("CAMPAIGN_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def campaign_sqlite_template(
    tmp_path_factory: pytest.TempPathFactory, campaign_schema_plugins: PluginHost
) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once per session."""
    path = tmp_path_factory.mktemp("sqlite-template") / "campaign.db"
    migrated_database(f"sqlite:///{path}", campaign_schema_plugins).dispose()
    return path


@pytest.fixture(scope="session")
def campaign_postgres_url(
    campaign_postgres_admin_url: str | None, campaign_schema_plugins: PluginHost
) -> Iterator[str]:
    """A migrated PostgreSQL database of its own for this test session."""
    if campaign_postgres_admin_url is None:
        pytest.skip("set CAMPAIGN_TEST_POSTGRES_URL to run on PostgreSQL too")
    admin = create_engine(campaign_postgres_admin_url, isolation_level="AUTOCOMMIT")
    name = f"campaign_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    url = make_url(campaign_postgres_admin_url).set(database=name)
    url = url.render_as_string(hide_password=False)
    migrated_database(url, campaign_schema_plugins).dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def campaign_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a clean, migrated database; every test using it runs on both backends."""
    if request.param == "sqlite":
        path = tmp_path / "campaign.db"
        shutil.copyfile(request.getfixturevalue("campaign_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("campaign_postgres_url")
    yield url
    empty_tables(url, request.getfixturevalue("campaign_schema_plugins"))


@pytest.fixture(scope="session")
def campaign_redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``CAMPAIGN_TEST_REDIS_URL`` (a database the tests may empty), or an embedded server."""
    from core.jobs import embedded_redis

    configured = os.environ.get("CAMPAIGN_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    url, server = embedded_redis.start_or_reuse(tmp_path_factory.mktemp("redis"))
    yield url
    if server is not None:
        server.stop()


@pytest.fixture
def campaign_redis_url(campaign_redis_server_url: str) -> str:
    """The Redis database of ``campaign_redis_server_url``, emptied for this test."""
    from core.jobs.queue import connect

    connection = connect(campaign_redis_server_url)
    try:
        connection.flushdb()
    except Exception as exc:
        unavailable("Redis", exc)
    finally:
        connection.close()
    return campaign_redis_server_url


@pytest.fixture
def campaign_settings(tmp_path: Path, campaign_database_url: str, campaign_redis_url: str):
    """Settings for an installation living in this test's temporary directory."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=campaign_database_url,
        redis_url=campaign_redis_url,
        secret_key="test-secret-key",
    )


@pytest.fixture
def campaign_testbed(campaign_settings: Settings) -> Iterator[Testbed]:
    """A :class:`Testbed` with every installed plugin but those ``CAMPAIGN_DISABLE_PLUGINS``
    names."""
    testbed = Testbed.start(campaign_settings)
    yield testbed
    testbed.close()
