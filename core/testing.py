"""A test kit for plugin authors, a pytest plugin (entry point ``pytest11``): migrated
databases, runs worked in the test's process, fake contexts (docs/plugins.md, "Testing")."""

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
from rq import SimpleWorker
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from core.config import DEFAULT_TIMEZONE, Settings
from core.db.database import Database
from core.db.schema import upgrade
from core.engine.campaigns import CampaignConfig, create_campaign
from core.engine.context import RunContext
from core.engine.runs import confirm_run, start_run
from core.jobs import embedded_redis
from core.jobs.functions import install_runtime
from core.jobs.queue import QUEUE_NAMES, connect, get_queue
from core.ledger import run_outcomes
from core.messages import StoredText, literal, stored
from core.models import Contact, Run
from core.plugin_base import Channel, Outcome, Recipient
from core.plugins import PluginHost, load_plugins
from core.runtime import Runtime
from core.workflows.context import WorkflowContext, load_params
from core.workflows.operating import run_inline
from core.workflows.schedules import load_zone

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, reason: object) -> None:
    """Skip the test for a missing service, or fail it where ``CI=true``."""
    message = f"{what} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service is a failure)", pytrace=False)
    pytest.skip(message)


def disabled_plugins() -> list[str]:
    """The plugins ``CAMPAIGN_DISABLE_PLUGINS`` names, left out of tests as of an installation."""
    names = os.environ.get("CAMPAIGN_DISABLE_PLUGINS", "").split(",")
    return [name.strip() for name in names if name.strip()]


def _migrate(url: str, plugins: PluginHost) -> None:
    database = Database(url)
    upgrade(database.engine, plugins=plugins)
    database.dispose()


@dataclass(frozen=True)
class RunResult:
    """A finished run as the ledger recorded it: an ``Outcome`` by recipient or group key."""

    run_id: int
    state: str
    counts: Mapping[str, int]
    outcomes: Mapping[str, Outcome]
    error: str | None = None

    COUNTS = ("targeted", "held_out", "done", "failed", "skipped", "unclear")


class Testbed:
    """A runtime on a test database with shortcuts to set up, run and inspect campaigns; its
    jobs run in this process (``work()``), where pytest, coverage and a debugger see them."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        install_runtime(runtime)

    @classmethod
    def start(
        cls, settings: Settings, plugins: PluginHost | Iterable[tuple[str, object]] | None = None
    ) -> Testbed:
        """A testbed with the installed plugins, or ``plugins``: a host or (name, module) pairs."""
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
        """Insert contacts (``Contact`` columns; a made-up ``number``) and return their ids."""
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
        """A campaign checked as the panel checks it; a filter is a name or (name, settings)."""
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
        """Run the campaign to its end, confirmed by a person (``confirmed_by``) for exactly
        ``expected_count`` recipients if given, and return what the ledger recorded."""
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
        run = start_run(self.runtime, campaign_id, dry_run=True)
        self.work()
        return self.result(run.id)

    def result(self, run_id: int) -> RunResult:
        with self.database.session() as session:
            run = session.get(Run, run_id)
            counts = {name: getattr(run, name) for name in RunResult.COUNTS}
            outcomes = run_outcomes(session, run_id)
            return RunResult(run.id, run.state.value, counts, outcomes, run.error)

    def work(self) -> None:
        """Work every queued job, and the jobs they enqueue, in this process."""
        queues = [get_queue(self.runtime.redis, name) for name in QUEUE_NAMES]
        SimpleWorker(queues, connection=self.runtime.redis).work(burst=True)

    def run_workflow(self, name: str) -> Any:
        """One recorded pass of workflow ``name``, now, in this process: its ``WorkflowRun``."""
        return run_inline(self.runtime, name, requested_by="test")

    @contextmanager
    def run_context(
        self, channel: Channel = Channel.NONE, *, campaign_name: str = "test", dry_run=False
    ) -> Iterator[Any]:
        """A real ``RunContext`` outside any run, to call a source or filter directly."""
        with self.database.session() as session:
            yield RunContext(self.runtime, session, None, campaign_name, None, channel, dry_run)

    def workflow_context(self, name: str = "test") -> WorkflowContext:
        """What a pass of workflow ``name`` starting now gets, its saved settings included."""
        context = WorkflowContext.start(self.runtime, name)
        workflows = self.runtime.plugins.workflows
        if name in workflows:
            with self.database.session() as session:
                context.params = load_params(session, workflows.get(name))
        return context


@dataclass
class FakeRunContext:
    """A stand-in for ``RunContext`` in unit tests: ``members`` returns ``groups[key]``."""

    run_dir: Path
    campaign_name: str = "test"
    campaign_id: int | None = None
    run_id: int | None = None
    channel: Channel = Channel.NONE
    dry_run: bool = False
    started_by: str | None = None
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

    def checked_members(self, group_key: str | None) -> Iterator[tuple[list[Recipient], dict]]:
        """The group in one page; nobody refuses (no database to read consent from)."""
        yield list(self.groups.get(group_key, [])), {}

    def refused_members(self, group_key: str | None) -> dict[int, Any]:
        return {}

    def skip_members(self, group_key: str | None, reasons: Mapping[int, Any]) -> None:
        return None

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
        pass


@dataclass
class FakeWorkflowContext:
    """A stand-in for ``WorkflowContext`` with a fixed UTC ``now`` that keeps the logged lines."""

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
        return load_zone(getattr(self.settings, "timezone", DEFAULT_TIMEZONE))


@pytest.fixture(scope="session")
def campaign_schema_plugins() -> PluginHost:
    """The plugins whose tables the test databases hold."""
    return load_plugins(disabled=disabled_plugins())


@pytest.fixture(scope="session")
def campaign_sqlite_template(
    tmp_path_factory: pytest.TempPathFactory, campaign_schema_plugins: PluginHost
) -> Path:
    """A migrated SQLite file that each test copies, so migrations run once per session."""
    path = tmp_path_factory.mktemp("sqlite-template") / "campaign.db"
    _migrate(f"sqlite:///{path}", campaign_schema_plugins)
    return path


@pytest.fixture(scope="session")
def campaign_postgres_admin_url() -> str | None:
    """A PostgreSQL URL whose user may create databases, or None for SQLite only."""
    return os.environ.get("CAMPAIGN_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def campaign_postgres_url(
    campaign_postgres_admin_url: str | None, campaign_schema_plugins: PluginHost
) -> Iterator[str]:
    """A migrated PostgreSQL database of its own for this test session."""
    admin_url = campaign_postgres_admin_url
    if admin_url is None:
        pytest.skip("set CAMPAIGN_TEST_POSTGRES_URL to run on PostgreSQL too")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"campaign_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    _migrate(url, campaign_schema_plugins)
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
    engine = create_engine(url)
    # Migrated up again in case the test migrated down; every table the database has is
    # emptied, those of plugins nothing imported yet too.
    upgrade(engine, plugins=request.getfixturevalue("campaign_schema_plugins"))
    names = sqlalchemy.inspect(engine).get_table_names()
    tables = ", ".join(f'"{name}"' for name in names if name != "alembic_version")
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def campaign_redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``CAMPAIGN_TEST_REDIS_URL`` (a database the tests may empty), or an embedded server."""
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
    """A :class:`Testbed` with every installed plugin."""
    testbed = Testbed.start(campaign_settings)
    yield testbed
    testbed.close()
