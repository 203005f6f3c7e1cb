"""Shared set-up for the web panel's area tests: an app on the test database, users per role,
and logged-in clients (through the real login form, CSRF included)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.accounts import create_user
from core.config import Settings
from core.db import Database
from core.models import Role
from core.plugins import load_plugins
from webapp import create_app, get_campaign
from webapp.testing import csrf_token, login

PASSWORD = "correct horse battery staple"
ROLES = {
    "viewer": Role.VIEWER,
    "reviewer": Role.REVIEWER,
    "manager": Role.CAMPAIGN_MANAGER,
    "admin": Role.ADMIN,
}
"""Usernames of the users ``panel_users`` creates, one per role."""


@pytest.fixture
def panel_app(settings: Settings) -> Iterator[Flask]:
    """The panel with the installation's built-in plugins (no entry points)."""
    app = create_app(
        settings,
        plugins=load_plugins(entry_points=False),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    yield app
    get_campaign(app).database.dispose()


@pytest.fixture
def panel_users(database: Database) -> dict[str, Role]:
    with database.session() as session:
        for username, role in ROLES.items():
            create_user(session, username, PASSWORD, role=role, display_name=username.title())
    return ROLES


@pytest.fixture
def client_for(panel_app: Flask, panel_users: dict[str, Role]):
    """``client_for("manager")``: a client logged in as that user."""
    clients: dict[str, FlaskClient] = {}

    def make(username: str) -> FlaskClient:
        if username not in clients:
            client = panel_app.test_client()
            response = login(client, username, PASSWORD)
            assert response.status_code == 302, f"login of {username} failed"
            clients[username] = client
        return clients[username]

    return make


def body(response) -> str:
    return response.get_data(as_text=True)


def token(client: FlaskClient, path: str = "/profile/") -> str:
    """A CSRF token of the client's session, read from a form of ``path``."""
    return csrf_token(client, path)


def post(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST like a browser form: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def field_errors(html: str) -> list[str]:
    """The texts shown next to fields as errors."""
    return re.findall(r'<ul class="field-errors"[^>]*>\s*<li>(.*?)</li>', html, re.S)
