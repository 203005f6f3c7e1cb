"""Helpers for the web panel's area tests (the fixtures ``panel_app``, ``panel_users`` and
``client_for`` are in conftest.py): form posts with the session's CSRF token, errors shown
next to fields."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from core.models import Role
from webapp.testing import csrf_token

PASSWORD = "correct horse battery staple"
ROLES = {
    "viewer": Role.VIEWER,
    "reviewer": Role.REVIEWER,
    "manager": Role.CAMPAIGN_MANAGER,
    "admin": Role.ADMIN,
}
"""Usernames of the users ``panel_users`` creates, one per role."""


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
