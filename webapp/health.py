"""``GET /healthz`` for load balancers: does this panel reach its database and Redis?

No login, no session cookie and no CSRF token (a GET changes nothing). The answer is 200
with ``{"status": "ok", "database": "ok", "redis": "ok"}``, or 503 with ``"status":
"unavailable"`` and the failed dependency marked ``"unavailable"`` (it answered with an
error) or ``"timeout"`` (no answer within ``CHECK_TIMEOUT``). The reason goes to the log,
not into the answer, since anyone may call the endpoint.

Each dependency is asked (``SELECT 1``, ``PING``) in a daemon thread of its own, so a hung
server fails the check after ``CHECK_TIMEOUT`` instead of holding one of the web server's
threads, and at most one question per dependency is outstanding: a load balancer polling
a hung database does not pile up threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Blueprint, current_app
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from redis import Redis
from sqlalchemy import text

from core.db.database import Database
from core.jobs.embedded_redis import installation_url
from webapp.context import get_campaign

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
"""Seconds a dependency has to answer; load balancers usually wait a few seconds."""
EXTENSION_KEY = "campaign_health"

bp = Blueprint("health", __name__)


class Probe:
    """One dependency's check, run in a daemon thread; one question out at a time."""

    def __init__(self, name: str, check: Callable[[], object]):
        self.name = name
        self._check = check
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._outcome: dict[str, str] = {}

    def ask(self) -> tuple[threading.Thread, dict[str, str]]:
        """The question under way, or a new one if none is (the answer lands in the dict)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                outcome: dict[str, str] = {}
                self._thread = threading.Thread(
                    target=self._run, args=(outcome,), name=f"health-{self.name}", daemon=True
                )
                self._outcome = outcome
                self._thread.start()
            return self._thread, self._outcome

    def _run(self, outcome: dict[str, str]) -> None:
        try:
            self._check()
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["done"] = "yes"


def answer(question: tuple[threading.Thread, dict[str, str]], name: str, deadline: float) -> str:
    """``ok``, ``unavailable`` or ``timeout`` for one asked question."""
    thread, outcome = question
    thread.join(max(0.0, deadline - time.monotonic()))
    if "done" not in outcome:
        log.warning("health check: %s gave no answer within %.0f s", name, CHECK_TIMEOUT)
        return "timeout"
    if "error" in outcome:
        log.warning("health check: %s is unavailable: %s", name, outcome["error"])
        return "unavailable"
    return "ok"


def _select_one(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    campaign = get_campaign(state.app)
    campaign.public_endpoints.add("health.check")
    settings = campaign.settings
    redis = Redis.from_url(
        installation_url(settings.redis_url, settings.data_dir),
        socket_connect_timeout=CHECK_TIMEOUT,
        socket_timeout=CHECK_TIMEOUT,
    )
    state.app.extensions[EXTENSION_KEY] = (
        Probe("database", lambda: _select_one(campaign.database)),
        Probe("redis", redis.ping),
    )


@bp.get("/healthz")
def check() -> ResponseReturnValue:
    """Both dependencies asked at once; 503 naming the one that failed."""
    probes: tuple[Probe, ...] = current_app.extensions[EXTENSION_KEY]
    deadline = time.monotonic() + CHECK_TIMEOUT
    questions = [(probe.name, probe.ask()) for probe in probes]
    body = {name: answer(question, name, deadline) for name, question in questions}
    healthy = all(value == "ok" for value in body.values())
    return {"status": "ok" if healthy else "unavailable", **body}, 200 if healthy else 503
