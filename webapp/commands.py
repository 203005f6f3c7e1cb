"""The panel's command line: ``campaign serve``, ``contacts import`` and ``users``.

A built-in plugin (listed in ``core.plugins.DEFAULT_PLUGINS``) that adds its commands through
the ``register_commands`` hook, as a third-party plugin would, so that the core's command
module needs nothing of the panel. ``contacts import`` is the panel's address book import
without the browser: the same checks, matching, consent events and audit entry.

The panel runs on waitress, a production WSGI server in pure Python: it runs wherever Python
does (``make run`` needs nothing else), serves from threads in this one process (so the
embedded Redis, the workers and the scheduler started here stop with it), and enforces the
request size limit and an idle-connection timeout itself. ``--dev`` runs Werkzeug's
development server instead; docs/deployment.md has the reasons and the production set-up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import Flask
from waitress import create_server
from waitress.server import BaseWSGIServer, MultiSocketServer
from werkzeug.serving import is_running_from_reloader, run_simple

from core import hookimpl
from core.cli import CliState, configure_logging, pass_state, start_runtime
from core.config import Settings
from core.db.database import Database
from core.messages import english_plural
from core.models import Role
from core.runtime import Runtime
from core.workflows.operating import warn_about_stopped
from webapp import create_app
from webapp.accounts import AccountError, create_user, ensure_admin, set_password
from webapp.contact_import import (
    MAX_BYTES,
    import_and_record,
    parse_records,
    plan_contact_import,
    plan_rows,
)
from webapp.csv_import import CsvImportError, RowsRefused

CLEANUP_INTERVAL = 30
"""Seconds between waitress's sweeps for idle connections (at most the timeout itself)."""


@click.command()
@click.option("--host", default=None, help="Default: CAMPAIGN_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: CAMPAIGN_PORT or 5000.")
@click.option("--workers", type=int, default=None, help="Default: CAMPAIGN_WORKERS or 1.")
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help="Requests served at once. Default: CAMPAIGN_THREADS or 8.",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    help="Run the scheduler beside the panel (default); --no-scheduler --workers 0 serves "
    "the panel alone, for a service manager that runs workers and scheduler itself.",
)
@click.option("--dev", is_flag=True, help="Werkzeug's development server instead of waitress.")
@click.option("--reload", is_flag=True, help="With --dev: restart when the code changes.")
@pass_state
def serve(
    state: CliState,
    host: str | None,
    port: int | None,
    workers: int | None,
    threads: int | None,
    scheduler: bool,
    dev: bool,
    reload: bool,
) -> None:
    """Run the web panel, workers and the scheduler together on this machine."""
    if reload and not dev:
        raise click.UsageError("--reload works only with --dev (the development server)")
    settings = state.settings
    configure_logging(settings.log_level)
    runtime = start_runtime(state)
    # With --reload Werkzeug runs this command again in a child that it restarts on every
    # change; that child serves and owns the workers (so they load the new code too), the
    # watching parent only restarts it.
    serving = not reload or is_running_from_reloader()
    if serving:
        warn_about_stopped(runtime)
    app = create_app(settings, state.plugins)
    bind_host, bind_port = host or settings.host, port or settings.port
    count = settings.workers if workers is None else workers
    children = start_children(runtime, count, scheduler) if serving else []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if dev:
            if serving:
                announce(bind_host, bind_port, count, scheduler, "Werkzeug's development server")
            run_simple(bind_host, bind_port, app, threaded=True, use_reloader=reload)
        else:
            server = production_server(app, settings, bind_host, bind_port, threads)
            announce(bind_host, bind_port, count, scheduler, "waitress")
            server.run()
    finally:
        stop_children(children)
        runtime.close()


PANEL_REFUSES_UP_TO = 2
"""Bodies up to this many times ``CAMPAIGN_MAX_UPLOAD`` reach the panel's translated 413."""


def production_server(
    app: Flask, settings: Settings, host: str, port: int, threads: int | None
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server for ``app`` with the installation's limits.

    waitress answers a body of ``max_request_body_size`` bytes or more with a plain-text 413
    before reading it, and reads a smaller one whole (into a temporary file beyond 512 KB,
    never into memory) before the panel sees it. Its limit is ``PANEL_REFUSES_UP_TO`` times
    ``CAMPAIGN_MAX_UPLOAD``, so a file somewhat too large gets the panel's own page that
    names the limit in the user's language, and nothing larger is read at all. Proxy headers
    are left to the panel, which trusts ``CAMPAIGN_TRUSTED_PROXIES`` of them (waitress would
    otherwise drop them all).
    """
    timeout = max(1, int(settings.request_timeout.total_seconds()))
    try:
        return create_server(
            app,
            host=host,
            port=port,
            threads=threads or settings.threads,
            channel_timeout=timeout,
            cleanup_interval=min(CLEANUP_INTERVAL, timeout),
            max_request_body_size=PANEL_REFUSES_UP_TO * settings.max_upload + 1,
            clear_untrusted_proxy_headers=False,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None


def announce(host: str, port: int, workers: int, scheduler: bool, server: str) -> None:
    beside = english_plural("{0} worker", "{0} workers", workers)
    beside += " and the scheduler" if scheduler else ""
    click.echo(
        f"Campaign is running on http://{host}:{port}/ ({server}) with {beside}; "
        "Ctrl+C stops everything."
    )


def start_children(runtime: Runtime, workers: int, scheduler: bool) -> list[subprocess.Popen]:
    """``campaign worker`` processes and the scheduler on this installation's settings."""
    settings = runtime.settings
    child_env = {
        **os.environ,
        "CAMPAIGN_REDIS_URL": runtime.redis_url,
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.database_url,
        "CAMPAIGN_SECRET_KEY": settings.secret_key,
    }
    command = [sys.executable, "-m", "core.cli"]
    children = [subprocess.Popen([*command, "worker"], env=child_env) for _ in range(workers)]
    if scheduler:
        children.append(subprocess.Popen([*command, "scheduler"], env=child_env))
    return children


def stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


@click.group()
def contacts() -> None:
    """The address book."""


@contacts.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--match-on",
    type=click.Choice(["number", "email", "name_address"]),
    default=None,
    help="How rows find their contact (default: number if present, else e-mail).",
)
@click.option("--update-existing", is_flag=True, help="Rows that match a contact update it.")
@click.option("--only-valid-rows", is_flag=True, help="Import the valid rows despite errors.")
@click.option("--encoding", default=None, help="Of a CSV file (default: detected).")
@click.option("--delimiter", default=None, help="Of a CSV file (default: detected).")
@pass_state
def contacts_import(
    state: CliState,
    source: str,
    match_on: str | None,
    update_existing: bool,
    only_valid_rows: bool,
    encoding: str | None,
    delimiter: str | None,
) -> None:
    """Import contacts from SOURCE: a CSV file as the panel's import reads it, or a JSON
    list of contacts as the API's bulk upsert takes them (``.json``). All rows or none,
    unless --only-valid-rows."""
    path = Path(source)
    runtime = start_runtime(state)
    with runtime.database.session() as session:
        try:
            if path.suffix.lower() == ".json":
                if path.stat().st_size > MAX_BYTES:
                    raise CsvImportError(f"the file is larger than {MAX_BYTES // 2**20} MB")
                records = json.loads(path.read_bytes())
                if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                    raise CsvImportError("a JSON file must hold a list of contacts (objects)")
                plan = plan_rows(
                    session,
                    parse_records(records),
                    update_existing=update_existing,
                    match_on=match_on,
                )
            else:
                with path.open("rb") as file:
                    plan = plan_contact_import(
                        session,
                        file,
                        encoding=encoding,
                        delimiter=delimiter,
                        update_existing=update_existing,
                        match_on=match_on,
                    )
            report = import_and_record(
                session,
                plan,
                source_name=path.name,
                only_valid_rows=only_valid_rows,
                actor=os.environ.get("USER", "cli"),
                via={"cli": True},
            )
        except RowsRefused as exc:
            session.rollback()
            for error in exc.errors[:20]:
                click.echo(f"line {error.line}: {error.message}", err=True)
            raise click.ClickException(str(exc)) from None
        except (CsvImportError, ValueError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
    for error in report.errors[:20]:
        click.echo(f"left out line {error.line}: {error.message}", err=True)
    click.echo(f"{report.created} created, {report.updated} updated, {len(report.errors)} left out")


@click.group()
def users() -> None:
    """Web panel users."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.VIEWER.value,
    show_default=True,
)
@click.option("--name", "display_name", default="")
@click.option("--email", default=None)
@click.option("--language", type=click.Choice(["de", "en"]), default="de", show_default=True)
@click.password_option(prompt_required=True)
@pass_state
def users_create(
    state: CliState,
    username: str,
    role: str,
    display_name: str,
    email: str | None,
    language: str,
    password: str,
) -> None:
    """Create a user (the password is prompted for, or read from --password)."""
    try:
        with Database(state.settings.database_url).session() as session:
            create_user(session, username, password, role, display_name, email, language)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {username!r}")


@users.command("ensure-admin")
@pass_state
def users_ensure_admin(state: CliState) -> None:
    """Create an administrator with a random password if there is none, and print it."""
    with Database(state.settings.database_url).session() as session:
        username, password = ensure_admin(session)
    if password is None:
        click.echo(
            f"administrator {username!r} exists already "
            f"(new password: campaign users set-password {username})"
        )
    else:
        click.echo(f"created administrator: username {username!r}, password {password!r}")


@users.command("set-password")
@click.argument("username")
@click.password_option(prompt_required=True)
@pass_state
def users_set_password(state: CliState, username: str, password: str) -> None:
    """Set a new password for a user."""
    try:
        with Database(state.settings.database_url).session() as session:
            set_password(session, username, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {username!r} changed")


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(contacts)
    cli.add_command(users)
