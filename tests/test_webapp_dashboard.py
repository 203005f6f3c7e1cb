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

from core import DashboardPanel, MenuItem, hookimpl
from core.config import Settings
from core.db.database import Database
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
from webapp.accounts import create_user
from webapp.testing import login

PASSWORD = "correct horse battery staple"
CORE_MENU = [
    "Übersicht",
    "Kampagnen",
    "Abfragen und Listen",
    "Kontakte",
    "Berichte",
    "Dokumentenarchiv",
    "Planung",
    "Kampagnenvorlagen",
    "Versände",
    "Budgets",
    "Dienstleister",
    "Lager",
    "Technische Workflows",
]
REVIEWER_MENU = [*CORE_MENU[:9], "Freigaben", *CORE_MENU[9:]]
"""Reviewers and above also see their approvals inbox."""
MANAGER_MENU = [*REVIEWER_MENU, "Eingang"]
"""Campaign managers and administrators also see the mail that came back."""
INBOUND = "plugins.workflows.inbound_mail"
"""The plugin whose page "Eingang" is."""

# -- a test plugin with a page for everybody and one for administrators ---------------------------

letters = Blueprint("letters", __name__, url_prefix="/letters")


PAGE = """{% extends "base.html" %}{% block title %}Serienbriefe{% endblock %}
{% block content %}<p id="letters">letters for {{ current_user.username }}</p>{% endblock %}"""


@letters.get("/")
def overview() -> str:
    assert current_user() is not None
    return render_template_string(PAGE)


@letters.get("/settings")
@role_required(Role.ADMIN)
def admin_settings() -> str:
    return "report settings"


class LettersPlugin:
    @hookimpl
    def register_blueprints(self, register):
        register(letters)

    @hookimpl
    def register_menu_items(self, register):
        register(MenuItem(title="Serienbriefe", endpoint="letters.overview", order=80))
        register(MenuItem(title="Briefverwaltung", endpoint="letters.admin_settings", role="admin"))


class BrokenPlugin:
    @hookimpl
    def register_blueprints(self, register):
        register(Blueprint("auth", __name__))  # the core's name: cannot be registered
        register("not a blueprint")

    @hookimpl
    def register_menu_items(self, register):
        register(MenuItem(title="Nirgendwo", endpoint="nowhere.index"))
        register(MenuItem(title="Falsche Rolle", endpoint="letters.overview", role="boss"))


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
        plugins=plugin_host(
            (importlib.import_module("plugins.processes"), "plugins.processes"),
            (importlib.import_module(INBOUND), INBOUND),
            (LettersPlugin(), "letters"),
        ),
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
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # scripts only from files
        assert "<style" not in html
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)  # no event-handler attributes
        assert "/static/css/app.css" in html
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in html


# -- menu and plugins -----------------------------------------------------------------------------


def test_a_plugin_blueprint_and_menu_item_appear_for_logged_in_users(client: FlaskClient, database):
    response = client.get("/letters/")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"

    add_user(database, "alice")
    login(client, "alice", PASSWORD)
    assert menu_titles(body(client.get("/"))) == [*CORE_MENU, "Serienbriefe"]
    page = client.get("/letters/")
    assert page.status_code == 200
    assert '<p id="letters">letters for alice</p>' in body(page)
    assert 'aria-current="page">Serienbriefe' in body(page)  # plugins can use the base layout


def test_admin_entries_are_hidden_from_a_viewer(app: Flask, database):
    add_user(database, "viola", Role.VIEWER)
    add_user(database, "adam", Role.ADMIN)

    viewer = app.test_client()
    login(viewer, "viola", PASSWORD)
    assert "Briefverwaltung" not in menu_titles(body(viewer.get("/")))
    denied = viewer.get("/letters/settings")
    assert denied.status_code == 403
    assert "Keine Berechtigung" in body(denied)
    assert menu_titles(body(denied)) == [*CORE_MENU, "Serienbriefe"]

    admin = app.test_client()
    login(admin, "adam", PASSWORD)
    assert menu_titles(body(admin.get("/"))) == [
        *MANAGER_MENU,
        "Serienbriefe",
        "Administration",
        "Briefverwaltung",
    ]
    assert body(admin.get("/letters/settings")) == "report settings"


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
        plugins=plugin_host(
            (importlib.import_module("plugins.processes"), "plugins.processes"),
            (importlib.import_module(INBOUND), INBOUND),
            (LettersPlugin(), "letters"),
            (BrokenPlugin(), "broken"),
        ),
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
            *MANAGER_MENU,
            "Serienbriefe",
            "Administration",
            "Briefverwaltung",
        ]
        plugins_page = body(client.get("/admin/plugins"))  # what was left out, for the admin
        assert "Beim Start des Panels ausgelassen" in plugins_page
        assert "unknown endpoint &#39;nowhere.index&#39;" in plugins_page
    finally:
        get_campaign(app).database.dispose()


# -- the app factory's plumbing -------------------------------------------------------------------


def test_the_extension_holds_settings_database_and_plugins(app: Flask, settings: Settings):
    campaign = app.extensions["campaign"]
    assert campaign is get_campaign(app)
    assert campaign.settings is settings
    assert campaign.database.url == settings.database_url
    assert "letters" in dict(campaign.plugins.manager.list_name_plugin())
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
    from webapp.i18n import PANEL_CATALOGS, SUPPORTED_LANGUAGES, catalog_ids, t

    german = catalog_ids(PANEL_CATALOGS, "de")
    symbolic = {key for key in german if re.fullmatch(r"[a-z0-9_]+(\.[a-zA-Z0-9_]+)+", key)}
    assert len(symbolic) > 1000
    for language in SUPPORTED_LANGUAGES:
        assert symbolic <= catalog_ids(PANEL_CATALOGS, language), language
    assert t("login.title") == "Anmelden"  # German outside a request
    assert t("A plugin's own title") == "A plugin's own title"


# -- the stopped-workflows banner -----------------------------------------------------------------


def test_the_dashboard_warns_when_a_workflow_is_stopped(settings: Settings, database):
    from core.clock import utcnow
    from core.workflows.operating import set_started

    from workflow_plugins import Broken, Hourly, Nightly, Only

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


# -- the dashboard's panels -----------------------------------------------------------------------


def test_running_campaigns_show_their_progress(client_for, database):
    from core.models import Campaign, Run, RunState

    with database.session() as session:
        campaign = Campaign(name="Herbst <Aktion>", datasource="query", action="sms")
        done = Campaign(name="Fertig", datasource="query", action="sms")
        analysed = Campaign(name="Winter", datasource="query", action="sms")
        session.add_all([campaign, done, analysed])
        session.flush()
        waiting = Run(
            campaign_id=analysed.id,
            number=1,
            state=RunState.AWAITING_CONFIRMATION,
            config={},
            targeted=5,
            skipped=2,
        )
        session.add(waiting)
        session.add_all(
            [
                Run(
                    campaign_id=campaign.id,
                    number=2,
                    state=RunState.RUNNING,
                    config={},
                    targeted=400,
                    done=290,
                    failed=6,
                    skipped=4,
                ),
                Run(campaign_id=done.id, number=1, state=RunState.COMPLETED, config={}),
            ]
        )
    html = body(client_for("viewer").get("/"))
    assert "Herbst &lt;Aktion&gt;" in html and "Fertig" not in html
    assert '<progress class="progress" max="400" value="300">' in html
    assert "75 %" in html and "6 fehlgeschlagen" in html
    # a run waiting for a person's "send" says so and leads to its page, where it is sent
    assert '<span class="badge badge-info">wartet auf Bestätigung</span>' in html
    assert f'<a href="/campaigns/{analysed.id}/runs/{waiting.id}">Lauf 1</a>' in html
    assert '<progress class="progress" max="5" value="0">0 %</progress>' in html  # not 40 %


def test_the_feedback_of_recent_runs_leaves_voided_runs_out(client_for, database):
    """A voided run (a rejected letter file) reached nobody: it is not among the runs sent."""
    from datetime import UTC, datetime

    from core.models import Campaign, Run, RunState

    with database.session() as session:
        campaign = Campaign(name="Infobrief", datasource="query", action="print_reports")
        session.add(campaign)
        session.flush()
        voided, counted = (
            Run(
                campaign_id=campaign.id,
                number=number,
                state=RunState.COMPLETED,
                config={},
                targeted=3,
                done=3,
                superseded_at=voided_at,
            )
            for number, voided_at in ((1, datetime(2026, 3, 2, tzinfo=UTC)), (2, None))
        )
        session.add_all([voided, counted])
    html = body(client_for("viewer").get("/"))
    assert f'<tr data-run="{counted.id}">' in html
    assert f'<tr data-run="{voided.id}">' not in html


def test_failed_jobs_are_counted_for_administrators_only(client_for, redis_url):
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(redis_url)
    queue = Queue("bulk", connection=connection)
    queue.enqueue("builtins.int", "x")
    SimpleWorker([queue], connection=connection).work(burst=True)
    admin = body(client_for("admin").get("/"))
    assert re.search(r'id="failed-jobs">\s*<span class="stat-value">1</span>', admin)
    assert 'id="failed-jobs"' not in body(client_for("manager").get("/"))


def test_recently_archived_documents_are_listed(client_for, database, settings):
    from core.documents.archive import archive_document
    from core.models import Contact, DocumentKind
    from plugins.stores.filesystem import FilesystemStore

    store = FilesystemStore({"data_dir": str(settings.data_dir)})
    with database.session() as session:
        contact = Contact(number="K-9", first_name="Ida", last_name="Ihle")
        session.add(contact)
        session.flush()
        archive_document(
            session,
            store,
            contact_id=contact.id,
            campaign_id=None,
            run_id=None,
            report_id=None,
            kind=DocumentKind.LETTER,
            title="Willkommensbrief",
            filename="w.pdf",
            data=b"%PDF-1.4",
        )
    html = body(client_for("viewer").get("/"))
    assert "Willkommensbrief" in html and "Ida Ihle" in html


class StoppedBannerPlugin:
    @hookimpl
    def register_dashboard_panels(self, register):
        register(
            DashboardPanel(
                "stopped",
                "stopped_banner.html",
                lambda: {"name": "budgetMgt"},
                role=Role.CAMPAIGN_MANAGER.value,
                placement="banner",
            )
        )
        register(DashboardPanel("empty", "stopped_banner.html", lambda: None, placement="banner"))
        register(DashboardPanel("active_runs", "stopped_banner.html", lambda: {"name": "x"}))
        register(DashboardPanel("bossy", "stopped_banner.html", lambda: {"name": "y"}, "boss"))


def test_plugins_add_panels_for_their_roles(settings: Settings, database):
    app = create_app(
        settings,
        plugins=plugin_host((StoppedBannerPlugin(), "banners")),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    app.jinja_loader.searchpath.append(str(Path(__file__).parent / "panel_templates"))
    add_user(database, "manager", Role.CAMPAIGN_MANAGER)
    add_user(database, "viewer", Role.VIEWER)
    try:
        manager, viewer = app.test_client(), app.test_client()
        login(manager, "manager", PASSWORD)
        login(viewer, "viewer", PASSWORD)
        assert "Workflow budgetMgt steht" in body(manager.get("/"))
        assert "Workflow budgetMgt steht" not in body(viewer.get("/"))
        assert body(manager.get("/")).count("steht") == 1  # None hides a panel; no duplicates
        assert get_campaign(app).errors == [
            "plugin 'banners': dashboard panel 'active_runs' is already registered",
            "plugin 'banners': dashboard panel 'bossy' names an unknown role 'boss'",
        ]
    finally:
        get_campaign(app).database.dispose()


def test_without_the_process_bundle_its_menu_entries_and_panel_are_absent(client, database):
    without = create_app(
        client.application.extensions["campaign"].settings,
        plugins=plugin_host((LettersPlugin(), "letters")),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    try:
        browser = without.test_client()
        add_user(database, "alice", Role.ADMIN)
        login(browser, "alice", PASSWORD)
        html = body(browser.get("/"))
        assert "Planung" not in menu_titles(html) and "Freigaben" not in menu_titles(html)
        assert "dashboard-processes" not in html
        assert browser.get("/plans/").status_code == 404
    finally:
        get_campaign(without).database.dispose()


def test_every_text_a_template_names_exists(app: Flask):
    """Templates name their texts as t("area.key"); a typo would show the key to the user."""
    from webapp.i18n import known

    webapp = Path(__file__).resolve().parent.parent / "webapp"
    missing = []
    for template in webapp.rglob("*.html"):
        source = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)  # not comments
        for key in re.findall(r"""\bt\(\s*["']([a-z_.0-9]+)["']""", source):
            if not known(key) and not key.endswith("."):  # "role." ~ value is built
                missing.append(f"{template.relative_to(webapp)}: {key}")
    assert missing == []
