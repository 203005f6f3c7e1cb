"""The panel's command line: ``campaign serve``.

A built-in plugin (listed in ``core.plugins.DEFAULT_PLUGINS``) that adds its command through
the ``register_commands`` hook, as a third-party plugin would, so that the core's command
module needs nothing of the panel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from werkzeug.serving import run_simple

from core import hookimpl
from core.cli import CliState, configure_logging, pass_state, start_runtime
from core.workflows import warn_about_stopped
from webapp import create_app


@click.command()
@click.option("--host", default=None, help="Default: CAMPAIGN_HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: CAMPAIGN_PORT or 5000.")
@click.option("--workers", type=int, default=None, help="Default: CAMPAIGN_WORKERS or 1.")
@pass_state
def serve(state: CliState, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web panel, workers and the scheduler together on this machine."""
    settings = state.settings
    configure_logging(settings.log_level)
    runtime = start_runtime(state)
    warn_about_stopped(runtime)
    child_env = {
        **os.environ,
        "CAMPAIGN_REDIS_URL": runtime.redis_url,
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.database_url,
        "CAMPAIGN_SECRET_KEY": settings.secret_key,
    }
    command = [sys.executable, "-m", "core.cli"]
    count = settings.workers if workers is None else workers
    children = [subprocess.Popen([*command, "worker"], env=child_env) for _ in range(count)]
    children.append(subprocess.Popen([*command, "scheduler"], env=child_env))

    def stop_children(*_args: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = create_app(settings, state.plugins)
    bind_host, bind_port = host or settings.host, port or settings.port
    click.echo(
        f"Campaign is running on http://{bind_host}:{bind_port}/ "
        f"with {count} worker(s) and the scheduler; Ctrl+C stops everything."
    )
    try:
        run_simple(bind_host, bind_port, app, threaded=True, use_reloader=False)
    finally:
        stop_children()
        runtime.close()


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(serve)
