"""Login, logout and the security frame of the web panel (Flask test client, real login form)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Blueprint, Flask, url_for
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core import hookimpl
from core.clock import FrozenClock, install
from core.config import Settings
from core.db.database import Database
from core.models import Role
from core.plugins import PluginHost
from webapp import create_app, get_campaign
from webapp.accounts import create_user, find_user
from webapp.ratelimit import (
    MemoryLoginRateLimiter,
    RedisLoginRateLimiter,
    limiter_key,
    make_login_limiter,
)
from webapp.security import is_safe_redirect_target
from webapp.testing import csrf_token, csrf_token_from, login

PASSWORD = "correct horse battery staple"
INVALID = "Ungültiger Benutzername oder ungültiges Passwort."


# -- a plugin with a page and a state-changing endpoint, to prove login covers plugins ---------

things = Blueprint("things", __name__, url_prefix="/things")


@things.get("/")
def things_index() -> str:
    return "list of things"


@things.post("/<int:thing_id>/delete")
def things_delete(thing_id: int) -> str:
    return f"deleted {thing_id}"


class ThingsPlugin:
    @hookimpl
    def register_blueprints(self, register):
        register(things)


def plugin_host() -> PluginHost:
    host = PluginHost()
    host.add(ThingsPlugin(), "things", "test")
    assert not host.errors
    return host


# -- fixtures and helpers -------------------------------------------------------------------------


def make_app(settings: Settings, **overrides: object) -> Flask:
    config = {"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory", **overrides}
    return create_app(settings, plugins=plugin_host(), overrides=config)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = make_app(settings)
    yield app
    get_campaign(app).database.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def logout(client: FlaskClient) -> TestResponse:
    """Press the logout button of the dashboard."""
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    clock = FrozenClock(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))
    previous = install(clock)
    yield clock
    install(previous)


def add_user(
    database: Database,
    username: str = "alice",
    role: Role = Role.VIEWER,
    active: bool = True,
    language: str = "de",
) -> None:
    with database.session() as s:
        user = create_user(s, username, PASSWORD, role=role, language=language)
        user.active = active


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("campaign_")]
    assert cookies, "no session cookie was set"
    return cookies[-1]


def cookie_flags(cookie: str) -> dict[str, str]:
    """The attributes of a Set-Cookie value: {"httponly": "", "samesite": "Lax", ...}."""
    flags = {}
    for part in cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        flags[name.lower()] = value
    return flags


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.location).path == "/login"


def body(response) -> str:
    return response.get_data(as_text=True)


PUBLIC_ENDPOINTS = {
    "auth.login",
    "static",
    "health.check",
    "unsubscribe.page",
    "unsubscribe.confirm",
    "sms_webhooks.receipts",
    "sms_webhooks.inbound",
}
"""The login page, static files, the load balancers' check, the e-mails' unsubscribe link and
the SMS gateways' webhooks (signed with the gateway's secret)."""
API_DESCRIPTION = {"api.openapi_document", "api.reference"}
"""The HTTP API's OpenAPI document and reference page: no data, no token needed. Every other
endpoint of the API answers 401 without a token and never reads the panel's session."""


# -- login is required everywhere -----------------------------------------------------------------


def test_every_endpoint_except_login_static_and_health_redirects_anonymous_users(app: Flask):
    client = app.test_client()
    checked = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS | API_DESCRIPTION:
            continue
        methods = rule.methods - {"HEAD", "OPTIONS"}
        method = "GET" if "GET" in methods else sorted(methods)[0]
        with app.test_request_context():
            url = url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1))
        response = client.open(url, method=method)
        if url.startswith("/api/v1/"):  # the API's and the plugins' API operations
            assert response.status_code == 401, f"{method} {url} gave {response.status_code}"
            assert response.mimetype == "application/problem+json"
            checked.add(rule.endpoint)
            continue
        assert is_login_redirect(response), f"{method} {url} gave {response.status_code}"
        checked.add(rule.endpoint)
    assert {"dashboard.index", "auth.logout", "things.things_index", "things.things_delete"} <= (
        checked
    )
    assert is_login_redirect(client.get("/no-such-page"))


def test_login_page_and_static_files_are_public(client: FlaskClient):
    assert client.get("/login").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


def test_only_the_listed_endpoints_are_public(app: Flask, client: FlaskClient):
    assert get_campaign(app).public_endpoints == PUBLIC_ENDPOINTS
    assert get_campaign(app).token_prefixes == {"/api/v1/"}
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/").status_code == 200
    # the API's unknown addresses and methods are problems, never the login page
    for method, path, status in (
        ("GET", "/api/v1/nothing", 404),
        ("DELETE", "/api/v1/contacts", 405),
    ):
        response = client.open(path, method=method)
        assert (response.status_code, response.mimetype) == (status, "application/problem+json")
    # the unsubscribe link of an e-mail answers without login, and without a CSRF token
    assert client.get("/u/no-token").status_code == 400
    assert client.post("/u/no-token", data={"List-Unsubscribe": "One-Click"}).status_code == 400


def test_the_requested_page_is_remembered_for_after_login(client: FlaskClient, database):
    add_user(database)
    response = client.get("/things/?page=2")
    assert is_login_redirect(response)
    assert parse_qs(urlsplit(response.location).query)["next"] == ["/things/?page=2"]
    response = login(client, "alice", PASSWORD, next="/things/?page=2")
    assert response.status_code == 302
    assert response.location == "/things/?page=2"
    assert body(client.get("/things/")) == "list of things"


# -- logging in -----------------------------------------------------------------------------------


def test_login_with_the_right_password_reaches_the_dashboard(client: FlaskClient, database):
    add_user(database)
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response.location == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "alice" in body(dashboard)
    with client.session_transaction() as session:
        assert isinstance(session["user_id"], int)
    with database.session() as s:
        assert find_user(s, "alice").last_login_at is not None


def test_usernames_are_not_case_sensitive(client: FlaskClient, database):
    add_user(database)
    assert login(client, "ALICE", PASSWORD).location == "/"


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient, database):
    add_user(database)
    wrong_password = login(client, "alice", "not the password at all")
    unknown_user = login(client, "mallory", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert INVALID in body(wrong_password)
    assert INVALID in body(unknown_user)
    assert body(wrong_password).replace("alice", "mallory") == body(unknown_user).replace(
        csrf_token_from(body(unknown_user)), csrf_token_from(body(wrong_password))
    )
    assert is_login_redirect(client.get("/"))


def test_an_inactive_user_cannot_log_in(client: FlaskClient, database):
    add_user(database, active=False)
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 200
    assert INVALID in body(response)
    assert is_login_redirect(client.get("/"))


def test_an_empty_form_asks_for_both_fields(client: FlaskClient, database):
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "x"})
    assert response.status_code == 200
    assert "Bitte Benutzername und Passwort eingeben." in body(response)


def test_the_session_is_regenerated_at_login(client: FlaskClient, database):
    add_user(database)
    token_before = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "alice", PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert set(session) >= {"user_id"}
    assert csrf_token(client, "/") != token_before


def test_a_logged_in_user_visiting_the_login_page_goes_to_the_dashboard(
    client: FlaskClient, database
):
    add_user(database)
    login(client, "alice", PASSWORD)
    assert client.get("/login").location == "/"


# -- rate limit -----------------------------------------------------------------------------------


def test_the_sixth_attempt_within_15_minutes_is_refused(
    client: FlaskClient, database, frozen_clock: FrozenClock
):
    add_user(database)
    for _ in range(5):
        assert INVALID in body(login(client, "alice", "wrong password!"))
    refused = login(client, "alice", PASSWORD)  # even the right password
    assert refused.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in body(refused)
    assert int(refused.headers["Retry-After"]) == 15 * 60
    assert is_login_redirect(client.get("/"))

    other_address = login(client, "alice", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other_address.location == "/"
    logout(client)

    frozen_clock.advance(timedelta(minutes=15, seconds=1))
    assert login(client, "alice", PASSWORD).location == "/"


def test_a_successful_login_clears_the_failure_count(
    client: FlaskClient, database, frozen_clock: FrozenClock
):
    add_user(database)
    for _ in range(4):
        login(client, "alice", "wrong password!")
    assert login(client, "alice", PASSWORD).location == "/"
    logout(client)
    for _ in range(4):
        login(client, "alice", "wrong password!")
    assert login(client, "alice", PASSWORD).location == "/"


def test_eleven_different_names_from_one_address_are_throttled(
    client: FlaskClient, database, frozen_clock: FrozenClock
):
    add_user(database)
    for number in range(10):
        assert INVALID in body(login(client, f"user{number}", "wrong password!"))
    refused = login(client, "alice", PASSWORD)  # the eleventh name, even with its password
    assert refused.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in body(refused)
    assert int(refused.headers["Retry-After"]) == 15 * 60
    elsewhere = login(client, "alice", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert elsewhere.location == "/"  # only that address is held back
    logout(client)
    frozen_clock.advance(timedelta(minutes=15, seconds=1))
    assert login(client, "alice", PASSWORD).location == "/"


def test_one_account_guessed_from_many_addresses_is_throttled(
    client: FlaskClient, database, frozen_clock: FrozenClock
):
    add_user(database)
    for number in range(20):
        address = {"REMOTE_ADDR": f"10.0.{number}.1"}
        assert INVALID in body(login(client, "alice", "wrong password!", environ_base=address))
    fresh = login(client, "Alice", PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert fresh.status_code == 429
    frozen_clock.advance(timedelta(minutes=15, seconds=1))
    assert login(client, "alice", PASSWORD).location == "/"


def test_a_successful_login_does_not_clear_the_count_of_its_address(client: FlaskClient, database):
    add_user(database)
    for number in range(5):
        login(client, f"guess{number}", "wrong password!")
    assert login(client, "alice", PASSWORD).location == "/"
    logout(client)
    for number in range(5, 10):
        login(client, f"guess{number}", "wrong password!")
    assert login(client, "alice", PASSWORD).status_code == 429


def test_the_limits_per_address_and_per_account_are_settings(settings: Settings, database):
    app = make_app(
        settings,
        CAMPAIGN_LOGIN_MAX_FAILURES_PER_ADDRESS=2,
        CAMPAIGN_LOGIN_MAX_FAILURES_PER_ACCOUNT=3,
    )
    try:
        limiter = get_campaign(app).limiter
        assert (limiter.max_failures_per_address, limiter.max_failures_per_account) == (2, 3)
        client = app.test_client()
        login(client, "a", "wrong password!")
        login(client, "b", "wrong password!")
        assert login(client, "c", "wrong password!").status_code == 429
    finally:
        get_campaign(app).database.dispose()


def test_a_nul_character_in_the_login_form_is_refused_with_400(client: FlaskClient, database):
    add_user(database)
    refused = login(client, "al\0ice", PASSWORD)
    assert refused.status_code == 400
    assert "Das Feld „username“ enthält ein NUL-Zeichen (\\0)." in body(refused)
    assert login(client, "alice", PASSWORD).location == "/"


def test_unknown_users_are_rate_limited_too(client: FlaskClient, database):
    for _ in range(5):
        login(client, "nobody", "wrong password!")
    assert login(client, "nobody", "wrong password!").status_code == 429


def test_processes_share_the_count_through_redis(settings: Settings, database, redis_url: str):
    settings = dataclasses.replace(settings, redis_url=redis_url)
    first = make_app(settings, CAMPAIGN_LOGIN_LIMITER="auto")
    second = make_app(settings, CAMPAIGN_LOGIN_LIMITER="auto")
    try:
        assert isinstance(get_campaign(first).limiter, RedisLoginRateLimiter)
        add_user(database)
        for app in (first, second, first, second, first):
            login(app.test_client(), "alice", "wrong password!")
        assert login(second.test_client(), "alice", PASSWORD).status_code == 429
    finally:
        get_campaign(first).database.dispose()
        get_campaign(second).database.dispose()


def test_the_memory_limiter_uses_a_sliding_window(frozen_clock: FrozenClock):
    limiter = MemoryLoginRateLimiter(
        max_failures=3,
        window=timedelta(minutes=10),
        max_failures_per_address=3,
        max_failures_per_account=3,
    )
    key = limiter_key("Alice", "127.0.0.1")
    assert key == limiter_key(" alice ", "127.0.0.1") != limiter_key("alice", "127.0.0.2")
    for minutes in (0, 3, 3):  # failures at minute 0, 3 and 6
        frozen_clock.advance(timedelta(minutes=minutes))
        assert limiter.retry_after(key) == 0
        limiter.record_failure(key)
    assert limiter.retry_after(key) == 4 * 60  # until the failure of minute 0 expires
    frozen_clock.advance(timedelta(minutes=4))
    assert limiter.retry_after(key) == 0
    limiter.record_failure(key)
    assert limiter.retry_after(key) > 0
    limiter.reset(key)
    assert limiter.retry_after(key) == 0


def test_an_unreachable_redis_falls_back_to_counting_in_memory():
    limiter = RedisLoginRateLimiter.from_url("redis://127.0.0.1:1/0", max_failures=2)
    for _ in range(2):
        limiter.record_failure("key")
    assert limiter.retry_after("key") > 0


def test_the_limiter_counts_in_redis_unless_told_otherwise(tmp_path):
    embedded = Settings(tmp_path, "sqlite://", None, "k")
    limiter = make_login_limiter(embedded, {"CAMPAIGN_LOGIN_MAX_FAILURES": 1})
    assert isinstance(limiter, RedisLoginRateLimiter)
    assert limiter.client.connection_pool.connection_kwargs["path"].startswith(str(tmp_path))
    limiter.record_failure("key")  # no embedded server is running: counted in memory
    assert limiter.retry_after("key") > 0

    configured = dataclasses.replace(embedded, redis_url="redis://127.0.0.1:6379/15")
    limiter = make_login_limiter(configured, {})
    assert isinstance(limiter, RedisLoginRateLimiter)
    assert limiter.client.connection_pool.connection_kwargs["db"] == 15

    memory = make_login_limiter(configured, {"CAMPAIGN_LOGIN_LIMITER": "memory"})
    assert isinstance(memory, MemoryLoginRateLimiter)
    with pytest.raises(ValueError):
        make_login_limiter(configured, {"CAMPAIGN_LOGIN_LIMITER": "carrier pigeon"})


# -- CSRF, logout, next ---------------------------------------------------------------------------


def test_a_post_without_csrf_token_is_rejected(client: FlaskClient, database):
    assert client.application.config.get("WTF_CSRF_ENABLED", True)
    add_user(database)
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "Das Formular ist abgelaufen" in body(response)
    assert is_login_redirect(client.get("/"))

    login(client, "alice", PASSWORD)
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_logout_is_post_only_and_clears_the_session(client: FlaskClient, database):
    add_user(database)
    login(client, "alice", PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200

    response = logout(client)
    assert is_login_redirect(response)
    with client.session_transaction() as session:
        assert "user_id" not in session
    assert is_login_redirect(client.get("/"))
    assert "Sie wurden abgemeldet." in body(client.get("/login"))


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_an_external_next_is_ignored(client: FlaskClient, database, target: str):
    add_user(database)
    response = login(client, "alice", PASSWORD, next=target)
    assert response.status_code == 302
    assert response.location == "/"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/", True),
        ("/things/?page=2#top", True),
        ("/things/a%2Fb", True),
        ("", False),
        (None, False),
        ("things", False),
        ("//evil.example", False),
        ("///evil.example", False),
        ("/\\evil.example", False),
        ("\\\\evil.example", False),
        ("/\r\n/evil.example", False),
        ("http://localhost/", False),
        ("https:/evil.example", False),
    ],
)
def test_safe_redirect_targets(target, safe: bool):
    assert is_safe_redirect_target(target) is safe


# -- headers, cookies, session lifetime -----------------------------------------------------------


def test_security_headers_are_on_every_response(client: FlaskClient, database):
    add_user(database)
    responses = [client.get("/login"), client.get("/static/css/app.css"), client.get("/")]
    login(client, "alice", PASSWORD)
    responses += [client.get("/"), client.get("/no-such-page"), client.post("/logout")]
    for response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert responses[3].headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_httponly_and_samesite_lax(client: FlaskClient, database):
    add_user(database)
    flags = cookie_flags(session_cookie(client.get("/login")))
    assert "httponly" in flags
    assert flags["samesite"] == "Lax"
    assert "secure" not in flags  # plain HTTP (development)

    flags = cookie_flags(session_cookie(login(client, "alice", PASSWORD)))
    assert "httponly" in flags
    assert flags["samesite"] == "Lax"
    assert "expires" in flags  # a permanent session of 8 hours


def test_the_session_cookie_is_secure_over_https(client: FlaskClient):
    response = client.get("/login", base_url="https://panel.example")
    assert "secure" in cookie_flags(session_cookie(response))
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_secure_cookies_can_be_forced(settings: Settings):
    app = make_app(settings, SESSION_COOKIE_SECURE=True)
    try:
        assert app.config["PREFERRED_URL_SCHEME"] == "https"
        assert app.permanent_session_lifetime == timedelta(hours=8)
        assert "secure" in cookie_flags(session_cookie(app.test_client().get("/login")))
    finally:
        get_campaign(app).database.dispose()


def test_the_session_ends_eight_hours_after_login(
    client: FlaskClient, database, frozen_clock: FrozenClock
):
    add_user(database)
    login(client, "alice", PASSWORD)
    frozen_clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=2))
    assert is_login_redirect(client.get("/"))


def test_deactivating_a_user_or_changing_the_password_ends_the_session(
    client: FlaskClient, database
):
    add_user(database)
    login(client, "alice", PASSWORD)
    with database.session() as s:
        find_user(s, "alice").set_password("a brand new password")
    assert is_login_redirect(client.get("/"))

    login(client, "alice", "a brand new password")
    assert client.get("/").status_code == 200
    with database.session() as s:
        find_user(s, "alice").active = False
    assert is_login_redirect(client.get("/"))


# -- language -------------------------------------------------------------------------------------


def test_the_login_page_is_german_with_an_english_variant(client: FlaskClient, database):
    german = body(client.get("/login"))
    assert '<html lang="de">' in german
    assert "Benutzername" in german
    english = body(client.get("/login?lang=en"))
    assert '<html lang="en">' in english
    assert "Username" in english
    add_user(database)
    assert "Invalid username or password." in body(login(client, "alice", "wrong password!"))


def test_the_language_chosen_on_the_login_page_holds_for_the_session(client: FlaskClient, database):
    add_user(database)  # alice's own language is German
    client.get("/login?lang=en")
    assert login(client, "alice", PASSWORD).location == "/"
    assert '<html lang="en">' in body(client.get("/"))
    assert '<html lang="en">' in body(client.get("/profile/"))
    logout(client)
    assert '<html lang="en">' in body(client.get("/login"))  # the login page stays English
    login(client, "alice", PASSWORD)
    assert '<html lang="de">' in body(client.get("/"))  # no choice this time: her own


def test_behind_a_trusted_proxy_forwarded_headers_count(settings: Settings, database):
    app = make_app(settings, CAMPAIGN_TRUSTED_PROXIES=1)
    try:
        client = app.test_client()
        over_https = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" in cookie_flags(session_cookie(over_https))
        add_user(database)
        attacker = {"X-Forwarded-For": "203.0.113.9"}
        for _ in range(5):
            login(client, "alice", "wrong password!", headers=attacker)
        assert login(client, "alice", PASSWORD, headers=attacker).status_code == 429
        colleague = {"X-Forwarded-For": "198.51.100.4"}
        assert login(client, "alice", PASSWORD, headers=colleague).location == "/"
    finally:
        get_campaign(app).database.dispose()


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(client: FlaskClient):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in cookie_flags(session_cookie(response))
