"""The dashboard, the navigation menu, plugin blueprints and the app factory's plumbing."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Blueprint, Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import MenuItem, hookimpl
from core.accounts import create_user
from core.config import Settings
from core.db import Database
from core.models import Role
from core.plugins import PluginHost
from webapp import (
    create_app,
    current_user,
    db_session,
    get_campaign,
    get_plugins,
    get_settings,
    role_required,
)
from webapp.testing import login

PASSWORD = "correct horse battery staple"
CORE_MENU = [
    "Übersicht",
    "Kampagnen",
    "Abfragen und Listen",
    "Planung",
    "Versände",
    "Budgets",
    "Dienstleister",
    "Lager",
    "Technische Workflows",
]
REVIEWER_MENU = [*CORE_MENU[:5], "Freigaben", *CORE_MENU[5:]]
"""Reviewers and above also see their approvals inbox."""

# -- a test plugin with a page for everybody and one for administrators ---------------------------

reports = Blueprint("reports", __name__, url_prefix="/reports")


PAGE = """{% extends "base.html" %}{% block title %}Berichte{% endblock %}
{% block content %}<p id="report">reports for {{ current_user.username }}</p>{% endblock %}"""


@reports.get("/")
def overview() -> str:
    assert current_user() is not None
    return render_template_string(PAGE)


@reports.get("/settings")
@role_required(Role.ADMIN)
def admin_settings() -> str:
    return "report settings"


class ReportsPlugin:
    @hookimpl
    def register_blueprints(self, register):
        register(reports)

    @hookimpl
    def register_menu_items(self, register):
        register(MenuItem(title="Berichte", endpoint="reports.overview", order=50))
        register(
            MenuItem(title="Berichtsverwaltung", endpoint="reports.admin_settings", role="admin")
        )


class BrokenPlugin:
    @hookimpl
    def register_blueprints(self, register):
        register(Blueprint("auth", __name__))  # the core's name: cannot be registered
        register("not a blueprint")

    @hookimpl
    def register_menu_items(self, register):
        register(MenuItem(title="Nirgendwo", endpoint="nowhere.index"))
        register(MenuItem(title="Falsche Rolle", endpoint="reports.overview", role="boss"))


def plugin_host(*plugins: tuple[object, str]) -> PluginHost:
    host = PluginHost()
    for plugin, name in plugins:
        host.add(plugin, name, "test")
    assert not host.errors
    return host


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(
        settings,
        plugins=plugin_host((ReportsPlugin(), "reports")),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    yield app
    get_campaign(app).database.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def add_user(
    database: Database, username: str, role: Role = Role.VIEWER, language: str = "de", **kw
) -> None:
    with database.session() as s:
        create_user(s, username, PASSWORD, role=role, language=language, **kw)


def body(response) -> str:
    return response.get_data(as_text=True)


def menu_titles(html: str) -> list[str]:
    nav = re.search(r'<nav class="nav".*?</nav>', html, re.S)
    assert nav, "the page has no navigation menu"
    return re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', nav.group(0))


# -- the dashboard --------------------------------------------------------------------------------


def test_the_dashboard_greets_the_user_and_shows_the_role(client: FlaskClient, database):
    add_user(database, "carla", Role.CAMPAIGN_MANAGER, display_name="Carla Beispiel")
    login(client, "carla", PASSWORD)
    html = body(client.get("/"))
    assert "Willkommen, Carla Beispiel!" in html
    assert "Ihre Rolle: Kampagnenmanager" in html
    assert "<strong>carla</strong>" in html
    assert menu_titles(html)[0] == "Übersicht"
    assert 'aria-current="page">Übersicht' in html


def test_the_dashboard_speaks_the_users_language(client: FlaskClient, database):
    add_user(database, "edward", Role.ADMIN, language="en")
    login(client, "edward", PASSWORD)
    html = body(client.get("/"))
    assert '<html lang="en">' in html
    assert "Welcome, edward!" in html
    assert "Your role: Administrator" in html
    assert "Sign out" in html


def test_pages_need_no_inline_scripts_or_styles(client: FlaskClient, database):
    add_user(database, "alice")
    pages = [body(client.get("/login"))]
    login(client, "alice", PASSWORD)
    pages += [body(client.get("/")), body(client.get("/no-such-page"))]
    for html in pages:
        assert "<script" not in html
        assert "<style" not in html
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)  # no event-handler attributes
        assert "/static/css/app.css" in html
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in html


# -- menu and plugins -----------------------------------------------------------------------------


def test_a_plugin_blueprint_and_menu_item_appear_for_logged_in_users(client: FlaskClient, database):
    response = client.get("/reports/")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"

    add_user(database, "alice")
    login(client, "alice", PASSWORD)
    assert menu_titles(body(client.get("/"))) == [*CORE_MENU, "Berichte"]
    page = client.get("/reports/")
    assert page.status_code == 200
    assert '<p id="report">reports for alice</p>' in body(page)
    assert 'aria-current="page">Berichte' in body(page)  # plugins can use the base layout


def test_admin_entries_are_hidden_from_a_viewer(app: Flask, database):
    add_user(database, "viola", Role.VIEWER)
    add_user(database, "adam", Role.ADMIN)

    viewer = app.test_client()
    login(viewer, "viola", PASSWORD)
    assert "Berichtsverwaltung" not in menu_titles(body(viewer.get("/")))
    denied = viewer.get("/reports/settings")
    assert denied.status_code == 403
    assert "Keine Berechtigung" in body(denied)
    assert menu_titles(body(denied)) == [*CORE_MENU, "Berichte"]

    admin = app.test_client()
    login(admin, "adam", PASSWORD)
    assert menu_titles(body(admin.get("/"))) == [*REVIEWER_MENU, "Berichte", "Berichtsverwaltung"]
    assert body(admin.get("/reports/settings")) == "report settings"


def test_role_required_checks_the_role_hierarchy(app: Flask, database):
    @app.get("/review-only")
    @role_required("reviewer")
    def review_only() -> str:
        return "ok"

    add_user(database, "viola", Role.VIEWER)
    add_user(database, "rita", Role.REVIEWER)
    add_user(database, "mia", Role.CAMPAIGN_MANAGER)
    for username, status in (("viola", 403), ("rita", 200), ("mia", 200)):
        client = app.test_client()
        login(client, username, PASSWORD)
        assert client.get("/review-only").status_code == status, username
    with pytest.raises(ValueError):
        role_required("superuser")


def test_a_broken_plugin_does_not_take_the_panel_down(settings: Settings, database):
    app = create_app(
        settings,
        plugins=plugin_host((ReportsPlugin(), "reports"), (BrokenPlugin(), "broken")),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    try:
        errors = "\n".join(get_campaign(app).errors)
        assert "blueprint 'auth' not registered" in errors
        assert "'not a blueprint' is not a Flask Blueprint" in errors
        assert "unknown endpoint 'nowhere.index'" in errors
        assert "unknown role 'boss'" in errors
        add_user(database, "adam", Role.ADMIN)
        client = app.test_client()
        login(client, "adam", PASSWORD)
        assert menu_titles(body(client.get("/"))) == [
            *REVIEWER_MENU,
            "Berichte",
            "Berichtsverwaltung",
        ]
    finally:
        get_campaign(app).database.dispose()


# -- the app factory's plumbing -------------------------------------------------------------------


def test_the_extension_holds_settings_database_and_plugins(app: Flask, settings: Settings):
    campaign = app.extensions["campaign"]
    assert campaign is get_campaign(app)
    assert campaign.settings is settings
    assert campaign.database.url == settings.database_url
    assert "reports" in dict(campaign.plugins.manager.list_name_plugin())
    assert app.config["SECRET_KEY"] == settings.secret_key
    with app.test_request_context():
        assert get_settings() is settings
        assert get_plugins() is campaign.plugins


def test_one_database_session_per_request_closed_at_teardown(app: Flask):
    with app.test_request_context():
        first = db_session()
        assert isinstance(first, Session)
        assert db_session() is first
        first.connection()  # start a transaction
        assert first.in_transaction()
    assert not first.in_transaction()
    with app.test_request_context():
        assert db_session() is not first


def test_no_database_session_is_opened_for_static_files(app: Flask, monkeypatch):
    opened = []
    sessions = get_campaign(app).database.sessions
    monkeypatch.setattr(
        get_campaign(app).database, "sessions", lambda: opened.append(1) or sessions()
    )
    assert app.test_client().get("/static/css/app.css").status_code == 200
    assert app.test_client().get("/login").status_code == 200
    assert opened == []


def test_the_wsgi_module_builds_the_app_from_the_environment(
    settings: Settings, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_DATA_DIR", str(tmp_path / "wsgi"))
    monkeypatch.setenv("CAMPAIGN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "from-the-environment")
    monkeypatch.delenv("CAMPAIGN_REDIS_URL", raising=False)
    monkeypatch.delitem(sys.modules, "webapp.wsgi", raising=False)
    wsgi = importlib.import_module("webapp.wsgi")
    try:
        assert isinstance(wsgi.app, Flask)
        assert wsgi.app.config["SECRET_KEY"] == "from-the-environment"
        assert wsgi.app.test_client().get("/login").status_code == 200
    finally:
        get_campaign(wsgi.app).database.dispose()


def test_every_text_exists_in_every_language():
    from webapp.i18n import MESSAGES, SUPPORTED_LANGUAGES, t

    for key, texts in MESSAGES.items():
        assert set(texts) == set(SUPPORTED_LANGUAGES), key
    assert t("login.title") == "Anmelden"  # German outside a request
    assert t("A plugin's own title") == "A plugin's own title"


def test_an_area_text_without_every_language_or_defined_twice_is_refused():
    import pytest

    from webapp.i18n import add_messages

    with pytest.raises(ValueError, match=r"test-area: the text 'x.only_german' has no en"):
        add_messages({"x.only_german": {"de": "Nur Deutsch"}}, "test-area")
    with pytest.raises(ValueError, match=r"test-area: the text 'login.title' is already"):
        add_messages({"login.title": {"de": "Einloggen", "en": "Log in"}}, "test-area")


# -- the stopped-workflows banner -----------------------------------------------------------------


def test_the_dashboard_warns_when_a_workflow_is_stopped(settings: Settings, database):
    from workflow_plugins import Broken, Hourly, Nightly, Only

    from core.clock import utcnow
    from core.workflows import set_started

    host = plugin_host((Only(Broken, Hourly, Nightly), "workflows"))
    app = create_app(
        settings, plugins=host, overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"}
    )
    try:
        add_user(database, "viola", Role.VIEWER)
        add_user(database, "edward", Role.ADMIN, language="en")
        german, english = app.test_client(), app.test_client()
        login(german, "viola", PASSWORD)
        login(english, "edward", PASSWORD)
        assert 'id="stopped-workflows"' not in body(german.get("/"))

        for name in ("nightly", "broken"):
            with database.session() as session:
                set_started(session, host, settings, name, False, "carla", utcnow())
        html = body(german.get("/"))
        assert "Workflows gestoppt:</strong>" in html
        assert "broken, nightly. Solange sie gestoppt sind, laufen die Kampagnenprozesse" in html
        html = body(english.get("/"))
        assert "Workflows stopped:</strong>" in html
        assert "broken, nightly. Campaign processes will not run until they are started" in html

        with database.session() as session:
            for name in ("nightly", "broken"):
                set_started(session, host, settings, name, True, "carla", utcnow())
        assert 'id="stopped-workflows"' not in body(german.get("/"))
    finally:
        get_campaign(app).database.dispose()
