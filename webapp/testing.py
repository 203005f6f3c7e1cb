"""Helpers for tests of the web panel: log in through the real form, CSRF token included."""

from __future__ import annotations

from html.parser import HTMLParser

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


class _CsrfTokenFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self.token is None and tag == "input" and values.get("name") == "csrf_token":
            self.token = values.get("value")


def csrf_token_from(html: str) -> str:
    """The value of the first ``csrf_token`` input in ``html``."""
    finder = _CsrfTokenFinder()
    finder.feed(html)
    if not finder.token:
        raise AssertionError("the page has no csrf_token field")
    return finder.token


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """A CSRF token of the client's session, read from a form on ``path``."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} gave {response.status_code}"
    return csrf_token_from(response.get_data(as_text=True))


def login(
    client: FlaskClient, username: str, password: str, next: str | None = None, **kwargs: object
) -> TestResponse:
    """Submit the login form like a browser (token read from the form); not following redirects."""
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, **kwargs)
