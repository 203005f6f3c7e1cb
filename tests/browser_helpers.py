"""The browser test harness: the real panel served on a loopback port, a real ``campaign
worker`` process, and Debian's chromium driven by Playwright.

Fixtures (in tests/conftest.py): ``live_panel`` (server + worker on the test's database and
Redis, users for every role), ``browser`` (one chromium per test session) and
``page_as`` (``page_as(Role.REVIEWER)`` gives a logged-in page)::

    def test_something(live_panel, page_as):
        page = page_as(Role.CAMPAIGN_MANAGER)
        page.goto(live_panel.url("/campaigns/"))
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from core.models import Role

from panel_helpers import PASSWORD, ROLE_USERS, Panel
from waiting import DEADLINE, stop_group

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Debian's chromium, as Playwright's own browser download does not work here."""
TIMEOUT_MS = 120_000
"""Every wait for the page; long, so a loaded machine makes a test slower, not red."""
RUN_TIMEOUT_MS = 120_000
"""A run on a busy two-core machine: targeting, rendering letters, the collection file."""


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CAMPAIGN_TEST_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


@dataclass
class LivePanel:
    """The panel served over HTTP with a worker process beside it."""

    panel: Panel
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


def serve(panel: Panel, worker_log: Path) -> Iterator[LivePanel]:
    """Serve ``panel`` on a free loopback port in a thread, with a ``campaign worker``
    process on the same database and Redis; both stop when the generator is closed."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, panel.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-panel", daemon=True)
    thread.start()
    worker = start_worker(panel, worker_log)
    try:
        yield LivePanel(panel, f"http://127.0.0.1:{server.server_port}")
    finally:
        stop_worker(worker)
        server.shutdown()
        thread.join(timeout=DEADLINE)


def start_worker(panel: Panel, log: Path) -> subprocess.Popen:
    """A real ``campaign worker`` (worker and work horses in a process group of their own)."""
    settings = panel.runtime.settings
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.database_url,
        "CAMPAIGN_REDIS_URL": settings.redis_url or panel.runtime.redis_url,
        "CAMPAIGN_SECRET_KEY": settings.secret_key,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "worker"],
        env=env,
        start_new_session=True,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def stop_worker(worker: subprocess.Popen) -> None:
    stop_group(worker)


def launch_browser(playwright, executable: str):
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def log_in(page, live: LivePanel, role: Role) -> None:
    """Sign in through the login form like a user."""
    page.goto(live.url("/login"))
    page.fill("#username", ROLE_USERS[role])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live.url("/"))


def page_factory(browser, live: LivePanel) -> tuple[Callable[..., object], Callable[[], None]]:
    """``page_as(role, **context_options)`` and a function closing every page it made."""
    contexts = []

    def page_as(role: Role = Role.CAMPAIGN_MANAGER, **options):
        context = browser.new_context(
            viewport={"width": 1440, "height": 900}, locale="de-DE", **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        log_in(page, live, role)
        return page

    def close() -> None:
        for context in contexts:
            context.close()

    return page_as, close
