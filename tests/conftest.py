"""Shared fixtures: a clean database per test on SQLite and PostgreSQL, and a real Redis.

Where ``CI=true``, a PostgreSQL or Redis server that cannot be reached fails the
tests that need it instead of skipping them.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.config import Settings
from core.db.database import Database
from core.plugins import PluginHost
from core.testing import unavailable

REDIS_TEST_URL = os.environ.get("CAMPAIGN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

REDIS_FIXTURES = {"redis_url", "redis_session_url"}
PROCESS_STARTERS = ("start_worker_process", "start_process(", "subprocess.Popen", "live_panel")
"""Source text of a test that runs real worker, scheduler or server processes."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs (README, "Tests"), so ``-m`` picks a fast subset:
    ``postgres`` (the PostgreSQL half of a database test), ``redis``, ``browser``, and
    ``slow`` for tests that run real processes and wait in real time."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgres = params.get("campaign_database_url") == "postgresql"
        if on_postgres or "campaign_postgres_url" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if fixtures & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "live_panel" in fixtures or _starts_processes(item):
            item.add_marker(pytest.mark.slow)


def _starts_processes(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        return False
    return any(starter in source for starter in PROCESS_STARTERS)


# The databases are those of the plugin authors' kit, core.testing (loaded by ../conftest.py).


@pytest.fixture(scope="session")
def schema_plugins(campaign_schema_plugins: PluginHost) -> PluginHost:
    return campaign_schema_plugins


@pytest.fixture(scope="session")
def sqlite_template(campaign_sqlite_template: Path) -> Path:
    return campaign_sqlite_template


@pytest.fixture
def database_url(campaign_database_url: str) -> str:
    """The URL of a clean, migrated database; every test using it runs on both backends."""
    return campaign_database_url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


REDIS_LOCK_KEY = "campaign:test-session"


@pytest.fixture(scope="session")
def redis_session_url() -> Iterator[str]:
    """A Redis database no other test session on this machine is using (tests may run twice
    at once, and each test empties its database)."""
    server, preferred = REDIS_TEST_URL.rsplit("/", 1)
    owner = uuid.uuid4().hex
    for index in [int(preferred), *range(15, 0, -1)]:
        url = f"{server}/{index}"
        connection = redis.Redis.from_url(url)
        try:
            taken = not connection.set(REDIS_LOCK_KEY, owner, nx=True, ex=3 * 3600)
        except redis.RedisError as exc:
            unavailable("Redis", exc)
        if not taken:
            yield url
            if connection.get(REDIS_LOCK_KEY) == owner.encode():
                connection.flushdb()
            connection.close()
            return
        connection.close()
    pytest.fail("every Redis database is used by another test session")


@pytest.fixture
def redis_url(redis_session_url: str) -> Iterator[str]:
    """A real Redis database emptied before and after the test."""
    connection = redis.Redis.from_url(redis_session_url)
    lock = connection.get(REDIS_LOCK_KEY)
    connection.flushdb()
    connection.set(REDIS_LOCK_KEY, lock, ex=3 * 3600)
    yield redis_session_url
    connection.flushdb()
    connection.set(REDIS_LOCK_KEY, lock, ex=3 * 3600)
    connection.close()


@pytest.fixture
def campaign_redis_url(redis_url: str) -> str:
    """The kit's Redis is the suite's: a database no other test session uses."""
    return redis_url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_session_url: str) -> Settings:
    """Settings for an installation living in this test's temporary directory."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_session_url,
        secret_key="test-secret-key",
    )


@pytest.fixture
def smtp(tmp_path: Path):
    """A real SMTP server on loopback: STARTTLS with a self-signed certificate, a login."""
    from smtp_server import SmtpServer

    server = SmtpServer(tmp_path / "smtp", tls="starttls", users={"campaign": "g3heim!"})
    yield server
    server.close()


@pytest.fixture
def imap():
    """A real IMAP server on loopback (Dovecot); skipped where it is not installed, a
    failure with CI=true."""
    from imap_server import ImapServer, available

    reason = available()
    if reason:
        unavailable("an IMAP server", reason)
    server = ImapServer()
    yield server
    server.close()


@pytest.fixture
def settings_with_mail(tmp_path: Path, database_url: str, redis_session_url: str, smtp) -> Settings:
    """This test's settings with ``smtp`` as the installation's mail server; a test module
    that sends mail overrides ``settings`` with it."""
    from smtp_server import mail_env

    return Settings.from_env(
        {
            "CAMPAIGN_DATA_DIR": str(tmp_path / "data"),
            "CAMPAIGN_DATABASE_URL": database_url,
            "CAMPAIGN_REDIS_URL": redis_session_url,
            "CAMPAIGN_SECRET_KEY": "test-secret-key",
            "CAMPAIGN_PUBLIC_URL": "https://kampagne.example.de",
            "CAMPAIGN_UNSUBSCRIBE_MAILTO": "abmelden@example.de",
            **mail_env(smtp),
        }
    )


@pytest.fixture
def runtime_factory(settings: Settings, redis_url: str):
    """Build runtimes whose plugins are the given (name, plugin object) pairs."""
    from core.plugins import PluginHost
    from core.runtime import Runtime

    runtimes = []

    def build(*plugins: tuple[str, object]) -> Runtime:
        host = PluginHost()
        for name, plugin in plugins:
            host.add(plugin, name, "test")
        assert host.errors == []
        runtime = Runtime.start(settings, host)
        runtimes.append(runtime)
        return runtime

    yield build
    for runtime in runtimes:
        runtime.close()


class EngineHarness:
    """A runtime with the engine test plugins, and shortcuts to set up and run campaigns."""

    def __init__(self, runtime):
        self.runtime = runtime

    def add_contacts(self, count: int, **overrides) -> list[int]:
        from sqlalchemy import insert

        from core.models import Contact

        cities = ["Köln", "Berlin", "München"]
        rows = [
            {
                "number": f"T-{index:06d}",
                "last_name": f"Name{index}",
                "email": None if index % 4 == 0 else f"p{index}@example.de",
                "street": f"Teststraße {index}",
                "postcode": "50667",
                "city": cities[index % 3],
                "attributes": {},
                **overrides,
            }
            for index in range(1, count + 1)
        ]
        with self.runtime.database.session() as session:
            return list(session.scalars(insert(Contact).returning(Contact.id), rows))

    def campaign(
        self,
        action="test_tag",
        action_settings=None,
        datasource="test_contacts",
        filters=(),
        group_keys=(),
        name=None,
        datasource_settings=None,
    ) -> int:
        from core.engine.campaigns import CampaignConfig, create_campaign

        config = CampaignConfig(
            datasource=datasource,
            datasource_settings=datasource_settings or {},
            action=action,
            action_settings=action_settings or {},
            filters=tuple(filters),
            group_keys=tuple(group_keys),
        )
        with self.runtime.database.session() as session:
            return create_campaign(
                session, self.runtime.plugins, config, self.runtime.clock.now(), name=name
            ).id

    def work(self) -> None:
        """Run a real forking RQ worker until the queues are empty."""
        from core.jobs.worker import build_worker

        build_worker(self.runtime).work(burst=True)

    def start_worker_process(self, log: Path):
        """A real ``campaign worker`` process in its own process group (worker + work horse)."""
        return self.start_process("worker", log)

    def start_process(self, command: str, log: Path, extra_env: dict[str, str] | None = None):
        """A real ``campaign <command>`` process (a session of its own) on this installation;
        ``extra_env`` adds to or overrides its environment ("" removes a variable)."""
        import subprocess
        import sys

        settings = self.runtime.settings
        tests = Path(__file__).parent
        env = {
            **os.environ,
            "CAMPAIGN_DATA_DIR": str(settings.data_dir),
            "CAMPAIGN_DATABASE_URL": settings.database_url,
            "CAMPAIGN_REDIS_URL": settings.redis_url,
            "CAMPAIGN_SECRET_KEY": settings.secret_key,
            "CAMPAIGN_PLUGINS": "engine_plugins",
            "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]),
        }
        env.update(extra_env or {})
        env = {name: value for name, value in env.items() if value != ""}
        return subprocess.Popen(
            [sys.executable, "-m", "core.cli", command],
            env=env,
            start_new_session=True,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )

    @staticmethod
    def work_horse(process) -> int | None:
        """The pid of the work horse a ``campaign worker`` runs a job in, if any."""
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        return int(children[0]) if children else None

    @staticmethod
    def kill_worker(process) -> None:
        """SIGKILL a ``campaign worker`` and its work horse at once: RQ starts each work horse
        in a session of its own, so killing the worker's process group alone leaves the
        horse running its job to the end."""
        import signal

        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def run(self, run_id: int):
        from core.models import Run

        with self.runtime.database.session() as session:
            return session.get(Run, run_id)

    def items(self, run_id: int):
        from sqlalchemy import select

        from core.models import RunItem

        with self.runtime.database.session() as session:
            return session.scalars(
                select(RunItem).where(RunItem.run_id == run_id).order_by(RunItem.id)
            ).all()


@pytest.fixture
def engine(runtime_factory) -> EngineHarness:
    from core.jobs.functions import install_runtime

    import engine_plugins

    runtime = runtime_factory(("engine_plugins", engine_plugins))
    install_runtime(runtime)
    return EngineHarness(runtime)


@pytest.fixture
def invoke(settings: Settings):
    """``campaign`` as ``main`` builds it: the core's commands and those plugins add."""
    import click
    from click.testing import CliRunner

    from core.cli import CliState, cli
    from core.plugins import load_plugins
    from core.testing import disabled_plugins

    def run(*args, plugins=None, input=None):
        state = CliState(settings, plugins or load_plugins(disabled=disabled_plugins()))
        group = click.Group(commands=dict(cli.commands))
        state.plugins.add_commands(group)
        return CliRunner().invoke(group, list(args), obj=state, input=input)

    return run


@pytest.fixture
def panel(settings: Settings, redis_url: str):
    """The web panel with every installed plugin, one user per role (``panel.client(role)``
    logs in) and ``panel.work()`` to run what it started with a real RQ worker."""
    from panel_helpers import open_panel

    yield from open_panel(settings)


@pytest.fixture
def api(settings: Settings, redis_url: str):
    """The panel as the API sees it: ``api.call("GET", "/contacts", Role.VIEWER)`` sends a
    token of that role's user (``tests/api_helpers.py``)."""
    from api_helpers import Api
    from panel_helpers import open_panel

    for panel in open_panel(settings):
        yield Api(panel)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright, one per test session; the browser tests skip
    where chromium is missing, and fail with CI=true."""
    from browser_helpers import chromium_path, launch_browser

    executable = chromium_path()
    if executable is None:
        unavailable("chromium", "no chromium binary (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright, executable)
        yield browser
        browser.close()


@pytest.fixture
def live_panel(panel, browser, tmp_path: Path):
    """The panel served on a free loopback port with a real ``campaign worker`` beside it."""
    from browser_helpers import serve

    yield from serve(panel, tmp_path / "worker.log")


@pytest.fixture
def page_as(browser, live_panel):
    """``page_as(Role.CAMPAIGN_MANAGER)``: a new browser page logged in with that role."""
    from browser_helpers import page_factory

    factory, close = page_factory(browser, live_panel)
    yield factory
    close()


# -- the web panel: an app on the test database, a user per role, logged-in clients -------------


@pytest.fixture
def panel_app(settings: Settings):
    """The panel with the built-in plugins (no entry points) but those
    ``CAMPAIGN_DISABLE_PLUGINS`` names, on this test's database."""
    from core.plugins import load_plugins
    from core.testing import disabled_plugins
    from webapp import create_app, get_campaign

    app = create_app(
        settings,
        plugins=load_plugins(disabled=disabled_plugins(), entry_points=False),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    yield app
    get_campaign(app).database.dispose()


@pytest.fixture
def panel_users(database: Database):
    """One user per role: viewer, reviewer, manager (campaign manager) and admin."""
    from webapp.accounts import create_user

    from panel_helpers import PASSWORD, ROLES

    with database.session() as session:
        for username, role in ROLES.items():
            create_user(session, username, PASSWORD, role=role, display_name=username.title())
    return ROLES


@pytest.fixture
def client_for(panel_app, panel_users):
    """``client_for("manager")``: a test client logged in as that user (real login form)."""
    from webapp.testing import login

    from panel_helpers import PASSWORD

    clients = {}

    def make(username: str):
        if username not in clients:
            client = panel_app.test_client()
            response = login(client, username, PASSWORD)
            assert response.status_code == 302, f"login of {username} failed"
            clients[username] = client
        return clients[username]

    return make


@pytest.fixture(scope="module")
def s3_endpoint():
    """A real S3-compatible server on loopback: moto in server mode (``moto[server]``'s
    ``ThreadedMotoServer``), one per test module that uses it."""
    try:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    except Exception as exc:
        unavailable("S3 server (moto[server])", exc)
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_environment(s3_endpoint, monkeypatch):
    """The variables an installation sets, with a new bucket for every test."""
    bucket = f"campaign-{uuid.uuid4().hex[:12]}"
    variables = {
        "CAMPAIGN_S3_ENDPOINT_URL": s3_endpoint,
        "CAMPAIGN_S3_BUCKET": bucket,
        "CAMPAIGN_S3_REGION": "eu-central-1",
        "CAMPAIGN_S3_ACCESS_KEY_ID": "campaign",
        "CAMPAIGN_S3_SECRET_ACCESS_KEY": "campaign-secret",
        "CAMPAIGN_S3_PREFIX": "tenant-a/archive",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    from plugins.stores.s3 import S3Store

    store = S3Store()
    store.client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    return variables
