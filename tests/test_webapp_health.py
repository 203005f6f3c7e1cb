"""``GET /healthz`` on the real panel: 200 when the database and Redis answer, 503 naming the
one that does not (refused or hung), with no login, no session cookie and no CSRF token."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from core.config import Settings
from webapp import get_campaign
from webapp.health import CHECK_TIMEOUT

from panel_helpers import build_panel


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def health(settings: Settings):
    app = build_panel(settings)
    try:
        return app.test_client().get("/healthz")
    finally:
        get_campaign(app).database.dispose()


def test_a_healthy_panel_answers_200_without_login_or_cookie(settings, database):
    app = build_panel(settings)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert client.head("/healthz").status_code == 200
    assert client.get("/").status_code == 302  # the rest of the panel still wants a login


def test_redis_refusing_connections_gives_503_naming_redis(settings, database):
    response = health(dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{closed_port()}"))
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "unavailable",
    }
    assert "Set-Cookie" not in response.headers


def test_an_unreachable_database_gives_503_naming_the_database(tmp_path, redis_url):
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/campaign"
    settings = Settings(tmp_path, unreachable, redis_url, "test-secret-key")
    response = health(settings)
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "unavailable",
        "redis": "ok",
    }


def test_hung_servers_fail_the_check_in_time_without_piling_up_threads(tmp_path, silent_port):
    hung = Settings(
        tmp_path,
        f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/campaign",
        f"redis://127.0.0.1:{silent_port}",
        "test-secret-key",
    )
    app = build_panel(hung)
    client = app.test_client()
    for _ in range(3):  # a load balancer polling
        started = time.monotonic()
        response = client.get("/healthz")
        assert time.monotonic() - started < CHECK_TIMEOUT + 10
        assert response.status_code == 503
        assert response.get_json()["database"] == "timeout"
    names = [thread.name for thread in threading.enumerate()]
    assert names.count("health-database") == 1
