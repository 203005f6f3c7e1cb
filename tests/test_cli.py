import json
import os
import signal
import socket
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core import hookimpl
from core.cli import CliState, cli
from core.db.database import Database
from core.jobs import embedded_redis
from core.plugins import PluginHost, load_plugins
from webapp.accounts import find_user

from waiting import DEADLINE, wait_for, wait_for_exit


def test_db_upgrade_creates_the_schema_on_an_empty_database(tmp_path, settings):
    import dataclasses

    fresh = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/fresh.db")
    result = CliRunner().invoke(cli, ["db", "upgrade"], obj=CliState(fresh, PluginHost()))
    assert result.exit_code == 0, result.output
    from alembic.script import ScriptDirectory

    from core.db.schema import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert result.output == f"core: database {head}, code {head}\n"


def test_db_commands_show_each_branch_and_leave_a_disabled_plugins_branch_alone(invoke):
    core = (
        "core: database 0034_hourly_limit, code 0034_hourly_limit\n"
        "plugins.actions.commission: database commission_0001_bookings, "
        "code commission_0001_bookings\n"
        "plugins.stores.database: database database_store_0001_chunks, "
        "code database_store_0001_chunks\n"
        "plugins.processes: database processes_0002_confirmed_count, "
        "code processes_0002_confirmed_count\n"
        "plugins.webhooks: database webhooks_0001_tables, code webhooks_0001_tables\n"
        "plugins.workflows.inbound_mail: database inbound_mail_0001_mails, "
        "code inbound_mail_0001_mails\n"
    )
    hello = "hello: database hello_0001_greetings, code hello_0001_greetings\n"
    hello_off = load_plugins(disabled=["hello"])

    down = invoke("db", "downgrade", "hello@base")
    assert down.output == core + "hello: database empty, code hello_0001_greetings\n"
    assert invoke("db", "upgrade", plugins=hello_off).output == core
    assert invoke("db", "upgrade").output == core + hello
    assert invoke("db", "current").output == core + hello
    current = invoke("db", "current", plugins=hello_off)
    assert current.output == core + "(plugin not loaded): database hello_0001_greetings, code -\n"

    refused = invoke("db", "downgrade", "0020_consent_rules", plugins=hello_off)
    assert refused.exit_code == 1
    assert "revisions of plugins that are not loaded (hello_0001_greetings)" in refused.output
    unknown = invoke("db", "upgrade", "--revision", "nonsense@head")
    assert unknown.exit_code == 1
    assert "nonsense" in unknown.output and "Traceback" not in unknown.output


def test_users_create_hashes_the_password_and_refuses_duplicates(invoke, settings):
    result = invoke("users", "create", "erika", "--role", "reviewer", "--password", "geheim-1234")
    assert result.exit_code == 0, result.output
    with Database(settings.database_url).session() as session:
        user = find_user(session, "Erika")
        assert user.role == "reviewer"
        assert user.password_hash != "geheim-1234" and user.check_password("geheim-1234")
    again = invoke("users", "create", "ERIKA", "--password", "anderes-1234")
    assert again.exit_code == 1
    assert "a user named 'ERIKA' already exists" in again.output


def test_users_create_refuses_a_short_password(invoke):
    result = invoke("users", "create", "max", "--password", "kurz")
    assert result.exit_code == 1
    assert "password must have at least 10 characters" in result.output


def test_ensure_admin_prints_credentials_once(invoke, settings):
    first = invoke("users", "ensure-admin")
    assert "created administrator: username 'admin', password '" in first.output
    password = first.output.rsplit("password '", 1)[1].split("'")[0]
    with Database(settings.database_url).session() as session:
        assert find_user(session, "admin").check_password(password)
    second = invoke("users", "ensure-admin")
    assert "exists already" in second.output


def test_set_password_changes_it(invoke, settings):
    invoke("users", "create", "max", "--password", "erstes-passwort")
    result = invoke("users", "set-password", "max", "--password", "zweites-passwort")
    assert result.exit_code == 0
    with Database(settings.database_url).session() as session:
        assert find_user(session, "max").check_password("zweites-passwort")
    assert (
        "no user named 'nobody'"
        in invoke("users", "set-password", "nobody", "--password", "0123456789x").output
    )


def test_plugins_lists_what_each_plugin_registers_and_load_errors(invoke):
    class Broken:
        @staticmethod
        @hookimpl
        def register_actoins(register):
            pass

    host = load_plugins()
    host.add(Broken, "broken-plugin", "test")
    output = invoke("plugins", plugins=host).output
    assert "hello  (campaign-hello 0.1.0)" in output
    assert "action           greeting_file" in output
    assert "broken-plugin  NOT LOADED: unknown hook 'register_actoins'" in output
    data = json.loads(invoke("plugins", "--json", plugins=host).output)
    assert {"kind": "action", "name": "greeting_file"} in [
        entry for plugin in data["plugins"] for entry in plugin["registers"]
    ]
    assert data["errors"][0]["plugin"] == "broken-plugin"


def test_plugins_can_add_commands(settings):
    class Extra:
        @staticmethod
        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                """Say hello."""
                click.echo("Hallo Welt")

    host = PluginHost()
    host.add(Extra, "extra", "test")
    group = click.Group(commands=dict(cli.commands))
    host.hook.register_commands(cli=group)
    result = CliRunner().invoke(group, ["hello"], obj=CliState(settings, host))
    assert result.output == "Hallo Welt\n"


def test_a_bad_setting_stops_the_command_with_the_variable_named(tmp_path):
    env = {**os.environ, "CAMPAIGN_DATA_DIR": str(tmp_path), "CAMPAIGN_PORT": "zero"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "plugins"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "CAMPAIGN_PORT: 'zero' is not a whole number" in result.stderr


def test_the_worker_refuses_to_start_on_an_outdated_schema(tmp_path):
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(tmp_path),
        "CAMPAIGN_REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 1
    assert "run 'campaign db upgrade'" in result.stderr


def test_serve_runs_panel_worker_and_scheduler_on_embedded_defaults(tmp_path):
    """What `make run` does for a new user: no Redis URL, SQLite, log in, see the dashboard;
    served by waitress with the installation's limits."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    from webapp.testing import csrf_token_from

    port = free_port()
    env = campaign_env(tmp_path, port) | {
        "CAMPAIGN_MAX_UPLOAD": "1MB",
        "CAMPAIGN_REQUEST_TIMEOUT": "2s",
        "CAMPAIGN_TRUSTED_PROXIES": "1",
    }
    campaign = [sys.executable, "-m", "core.cli"]
    subprocess.run([*campaign, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*campaign, "users", "create", "erika", "--role", "admin", "--password", "Kampagne-2026"],
        env=env,
        check=True,
        capture_output=True,
    )
    server, log = start_serve(tmp_path, env)
    base = f"http://127.0.0.1:{port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def login_page():
        try:
            return browser.open(f"{base}/login")
        except OSError:
            return None

    try:
        response = wait_for(login_page, "the panel to answer", log=log)
        assert response.headers["Server"] == "waitress"
        form = {
            "csrf_token": csrf_token_from(response.read().decode()),
            "username": "erika",
            "password": "Kampagne-2026",
        }
        dashboard = browser.open(f"{base}/login", urllib.parse.urlencode(form).encode())
        assert dashboard.url == f"{base}/"
        assert "erika" in dashboard.read().decode()
        redis_socket = tmp_path / "var" / "redis" / "redis.sock"
        assert embedded_redis._answers(redis_socket)
        health = urllib.request.urlopen(f"{base}/healthz")
        assert json.loads(health.read()) == {"status": "ok", "database": "ok", "redis": "ok"}

        # a body somewhat over CAMPAIGN_MAX_UPLOAD gets the panel's page naming the limit ...
        too_large = urllib.request.Request(f"{base}/login", data=b"x" * 1_048_577)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(too_large)
        assert refused.value.code == 413
        assert "größer als die erlaubten 1,0 MB" in refused.value.read().decode()
        # ... and one over twice the limit is refused by the server before it is sent
        status = raw_request(
            port, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 2097153\r\n\r\n"
        )
        assert status.startswith(b"HTTP/1.1 413")
        # the proxy's X-Forwarded-Proto reaches the panel (one trusted proxy): HTTPS headers
        behind_proxy = urllib.request.Request(
            f"{base}/login", headers={"X-Forwarded-Proto": "https"}
        )
        assert (
            "max-age" in urllib.request.urlopen(behind_proxy).headers["Strict-Transport-Security"]
        )
        # a client that sends nothing is disconnected after CAMPAIGN_REQUEST_TIMEOUT
        with socket.create_connection(("127.0.0.1", port)) as idle:
            idle.settimeout(DEADLINE)
            assert idle.recv(1) == b""

        # the panel, a worker and the scheduler (Redis runs in a session of its own)
        wait_for(lambda: len(group_of(server)) >= 3, "the worker and the scheduler to start")
    finally:
        server.send_signal(signal.SIGTERM)
        wait_for_exit(server, "campaign serve to stop")
    wait_for(lambda: group_of(server) == [], "the worker and the scheduler to stop")
    assert not embedded_redis._answers(redis_socket)  # stopped by the process that started it
    assert "Campaign is running on" in log.read_text()


def test_serve_dev_uses_werkzeug_and_serves_the_panel_alone_on_request(tmp_path):
    import urllib.request

    port = free_port()
    env = campaign_env(tmp_path, port)
    upgraded = subprocess.run(
        [sys.executable, "-m", "core.cli", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert upgraded.stderr == ""  # no SQLAlchemy reflection warnings on the console
    server, log = start_serve(tmp_path, env, "--dev", "--workers", "0", "--no-scheduler")

    def health():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            return None

    try:
        response = wait_for(health, "the development server to answer", log=log)
        assert response.headers["Server"].startswith("Werkzeug/")
        assert group_of(server) == [str(server.pid)]  # no worker, no scheduler
    finally:
        server.send_signal(signal.SIGTERM)
        wait_for_exit(server, "campaign serve --dev to stop")
    assert "development server" in log.read_text()
    assert "Context impl" not in log.read_text()  # Alembic's chatter at the schema check


def test_serve_reloads_only_the_development_server(tmp_path):
    from core.config import Settings
    from webapp.commands import serve

    state = CliState(Settings.from_env({"CAMPAIGN_DATA_DIR": str(tmp_path)}), PluginHost())
    result = CliRunner().invoke(serve, ["--reload"], obj=state)
    assert result.exit_code == 2
    assert "--reload works only with --dev" in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def campaign_env(tmp_path, port: int) -> dict[str, str]:
    """The environment of a new installation in ``tmp_path`` (no CAMPAIGN_* of the caller's)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAMPAIGN_")}
    return env | {"CAMPAIGN_DATA_DIR": str(tmp_path / "var"), "CAMPAIGN_PORT": str(port)}


def start_serve(tmp_path, env: dict[str, str], *options: str):
    """A real ``campaign serve`` in a session of its own, logging to ``serve.log``."""
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", *options],
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    return server, log


def raw_request(port: int, request: bytes) -> bytes:
    """The status line the server answers ``request`` (headers only) with."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(DEADLINE)
        connection.sendall(request)
        return connection.recv(64)


def group_of(process: subprocess.Popen) -> list[str]:
    """The pids of the processes in ``process``'s process group."""
    found = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
    return found.stdout.split()


def test_contacts_import_reads_csv_and_json_all_or_nothing(invoke, tmp_path, settings, redis_url):
    from core.models import AuditEntry, Contact

    csv_file = tmp_path / "kontakte.csv"
    csv_file.write_text("Nachname;E-Mail\nBerg;berg@example.org\nFalk;falk@\n", encoding="utf-8")
    refused = invoke("contacts", "import", str(csv_file))
    assert refused.exit_code == 1 and "line 3" in refused.output
    kept = invoke("contacts", "import", str(csv_file), "--only-valid-rows")
    assert kept.exit_code == 0, kept.output
    assert "1 created, 0 updated, 1 left out" in kept.output
    json_file = tmp_path / "kontakte.json"
    json_file.write_text(json.dumps([{"email": "berg@example.org", "city": "Bonn"}]))
    updated = invoke("contacts", "import", str(json_file), "--update-existing")
    assert "0 created, 1 updated, 0 left out" in updated.output, updated.output
    with Database(settings.database_url).session() as session:
        assert session.scalar(select(Contact.city)) == "Bonn"
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "contact.import"))
        assert [entry.details["cli"] for entry in entries] == [True, True]
