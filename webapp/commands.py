"""The panel's command line: ``campaign serve``.

A built-in plugin (listed in ``core.plugins.DEFAULT_PLUGINS``) that adds its command through
the ``register_commands`` hook, as a third-party plugin would, so that the core's command
module needs nothing of the panel.

The panel runs on waitress, a production WSGI server in pure Python: it runs wherever Python
does (``make run`` needs nothing else), serves from threads in this one process (so the
embedded Redis, the workers and the scheduler started here stop with it), and enforces the
request size limit and an idle-connection timeout itself. ``--dev`` runs Werkzeug's
development server instead; docs/deployment.md has the reasons and the production set-up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from flask import Flask
from waitress import create_server
from waitress.server import BaseWSGIServer, MultiSocketServer
from werkzeug.serving import is_running_from_reloader, run_simple

from core import hookimpl
from core.cli import CliState, configure_logging, pass_state, start_runtime
from core.config import Settings
from core.runtime import Runtime
from core.workflows import warn_about_stopped
from webapp import create_app

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


def production_server(
    app: Flask, settings: Settings, host: str, port: int, threads: int | None
) -> BaseWSGIServer | MultiSocketServer:
    """A waitress server for ``app`` with the installation's limits.

    waitress refuses a body of ``max_request_body_size`` bytes or more, the panel one of
    more than ``CAMPAIGN_MAX_UPLOAD``: one byte more keeps both at the same size. Proxy
    headers are left to the panel, which trusts ``CAMPAIGN_TRUSTED_PROXIES`` of them
    (waitress would otherwise drop them all).
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
            max_request_body_size=settings.max_upload + 1,
            clear_untrusted_proxy_headers=False,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None


def announce(host: str, port: int, workers: int, scheduler: bool, server: str) -> None:
    beside = f"{workers} worker(s)" + (" and the scheduler" if scheduler else "")
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


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(serve)
