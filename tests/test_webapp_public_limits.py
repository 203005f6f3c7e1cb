"""The public endpoints' limits: requests per client address and minute counted in Redis,
so that two panel processes share the count; a translated 429 with Retry-After; the
address taken from X-Forwarded-For only behind trusted proxies; bounded bodies; and no
session cookie, whatever the answer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import redis

from core import clock
from webapp.public_limits import PUBLIC_MAX_BODY, PublicRateLimiter

from panel_helpers import build_panel

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture(autouse=True)
def mid_minute():
    """The counts are per minute: a test that crossed a minute's end would start again."""
    previous = clock.install(clock.FrozenClock(datetime(2027, 3, 1, 12, 0, 30, tzinfo=UTC)))
    yield
    clock.install(previous)


@pytest.fixture
def settings(settings, redis_url):
    return dataclasses.replace(settings, public_rate_limit=3, webhook_rate_limit=2)


@pytest.fixture
def panels(settings):
    """Two panels of one installation, as two server processes would be."""
    apps = [build_panel(settings), build_panel(settings)]
    yield [app.test_client() for app in apps]
    for app in apps:
        app.extensions["campaign"].database.dispose()


def no_cookie(response):
    assert "Set-Cookie" not in response.headers
    return response


def test_the_count_is_shared_by_two_panel_processes_and_answered_with_a_translated_429(panels):
    first, second = panels
    answers = [
        no_cookie(client.post("/u/some-token", data=ONE_CLICK)).status_code
        for client in (first, second, first, second)
    ]
    assert answers == [400, 400, 400, 429]
    refused = no_cookie(first.get("/u/some-token?lang=en"))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many requests" in refused.get_data(as_text=True)
    assert "Zu viele Anfragen" in no_cookie(second.get("/u/some-token")).get_data(as_text=True)

    # the webhooks count on their own, with their own limit
    webhook = [
        no_cookie(first.post("/sms/http/receipts", data=b"{}")).status_code for _ in range(3)
    ]
    assert webhook == [404, 404, 429]
    assert first.get("/login").status_code == 200  # the panel itself is not limited


def test_behind_a_trusted_proxy_each_forwarded_address_counts_on_its_own(settings):
    app = build_panel(dataclasses.replace(settings, trusted_proxies=1))
    client = app.test_client()
    try:

        def from_address(address):
            return client.post(
                "/u/t", data=ONE_CLICK, headers={"X-Forwarded-For": address}
            ).status_code

        assert [from_address("203.0.113.7") for _ in range(4)] == [400, 400, 400, 429]
        assert from_address("198.51.100.9") == 400
    finally:
        app.extensions["campaign"].database.dispose()


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(panels):
    client, _ = panels
    answers = [
        client.post("/u/t", data=ONE_CLICK, headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code
        for n in range(4)
    ]
    assert answers == [400, 400, 400, 429]


def test_a_body_above_the_limit_is_refused_unread(panels):
    client, _ = panels
    response = no_cookie(client.post("/u/t", data={"x": "y" * PUBLIC_MAX_BODY}))
    assert response.status_code == 413


def test_without_redis_the_process_counts_on_its_own():
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = PublicRateLimiter(unreachable)
    assert [limiter.retry_after("group", "192.0.2.1", 2) > 0 for _ in range(3)] == [
        False,
        False,
        True,
    ]
    assert limiter.first_use("signature", 60) is True
    assert limiter.first_use("signature", 60) is False
