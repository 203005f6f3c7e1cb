"""Login enforcement, role checks, CSRF, secure cookies and security headers for the panel."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, has_request_context, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from core.models import Role
from webapp.context import current_user, get_campaign

P = ParamSpec("P")
R = TypeVar("R")

csrf = CSRFProtect()
"""Checks the token of every POST/PUT/PATCH/DELETE; ``csrf.exempt`` for e.g. signed webhooks."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class CampaignSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked ``Secure`` whenever the request came over HTTPS.

    ``SESSION_COOKIE_SECURE = True`` forces the flag for every request (behind a TLS
    proxy that does not send ``X-Forwarded-Proto``).
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure
        )


def is_safe_redirect_target(target: object) -> bool:
    """True for a path on this site ("/campaigns?page=2"); False for anything leaving it."""
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return False
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return False  # browsers treat "/\evil" like "//evil" and drop tabs and newlines
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not target.startswith("//")


def safe_next(target: object) -> str | None:
    """``target`` if it is a local path, else None (for ``next`` parameters)."""
    return target if is_safe_redirect_target(target) else None  # type: ignore[return-value]


def login_url(next_path: str | None = None) -> str:
    """The login page, coming back to ``next_path`` afterwards if that is a local path."""
    target = safe_next(next_path)
    if target in (None, "/", url_for("dashboard.index")):
        return url_for("auth.login")
    return url_for("auth.login", next=target)


def _requested_path() -> str | None:
    """Where to come back to after login: only for GET requests (a form cannot be replayed)."""
    if request.method not in ("GET", "HEAD"):
        return None
    query = request.query_string.decode("utf-8", "replace")
    return request.script_root + request.path + (f"?{query}" if query else "")


def require_login() -> Response | None:
    """``before_request`` for every endpoint: anonymous visitors go to the login page.

    Only the endpoints in ``CampaignWeb.public_endpoints`` (the login page, static
    files and ``/healthz``) are exempt; plugin blueprints are covered like the core's own
    pages, and so are unknown URLs, so an anonymous visitor cannot probe which pages exist.
    """
    campaign = get_campaign()
    if request.endpoint in campaign.public_endpoints:
        return None
    if in_token_area():
        return None  # authenticated by their own token, never by the session (webapp.api)
    if current_user() is not None:
        return None
    return redirect(login_url(_requested_path()))


def in_token_area() -> bool:
    """Whether this request is for the HTTP API (``CampaignWeb.token_prefixes``)."""
    return request.path.startswith(tuple(get_campaign().token_prefixes))


def _as_role(role: Role | str) -> Role:
    return role if isinstance(role, Role) else Role(role)


def has_role(role: Role | str) -> bool:
    """Whether the current user holds ``role`` or a more powerful one (usable in templates)."""
    user = current_user()
    try:
        required = _as_role(role)
    except ValueError:
        return False
    return user is not None and user.role.includes(required)


def role_required(role: Role | str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let only users holding ``role`` (or above) call the view; others get 403.

    ::

        @bp.post("/campaigns/<int:campaign_id>/start")
        @role_required(Role.CAMPAIGN_MANAGER)
        def start(campaign_id: int): ...
    """
    required = _as_role(role)  # a typo fails at import time, not at request time

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            user = current_user()
            if user is None:
                return redirect(login_url(_requested_path()))  # type: ignore[return-value]
            if not user.role.includes(required):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_role = required  # type: ignore[attr-defined]
        return wrapped

    return decorator


def set_security_headers(response: Response) -> Response:
    """``after_request``: security headers everywhere, no caching of anything but static files."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def client_address() -> str:
    """The client's IP address (behind proxies set ``CAMPAIGN_TRUSTED_PROXIES``)."""
    return request.remote_addr or "unknown"


def init_security(app: Flask) -> None:
    """Install the session interface, login enforcement, CSRF protection and headers."""
    app.session_interface = CampaignSessionInterface()
    # Login is checked before CSRF, so anonymous requests are sent to the login page
    # whatever they carry; the login form itself is public and CSRF-checked.
    app.before_request(require_login)
    csrf.init_app(app)
    app.after_request(set_security_headers)
