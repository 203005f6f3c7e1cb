"""Who calls the API: a bearer token, never the panel's session cookie.

``authenticate`` runs before every API endpoint but the public document and its reference
page: it reads ``Authorization: Bearer <token>``, finds the working token of an active user
(``webapp.api.tokens``), counts the call against the token's rate limit in Redis, and speaks
the token user's language. The panel's session is not read at all, so a browser that is
logged in to the panel cannot be made to call the API (no CSRF through the API), and the API
has no CSRF check of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app, g, request
from redis.exceptions import RedisError

from core.audit import record_audit
from core.messages import StoredText
from core.models import ApiToken, Role, User
from webapp.api.problems import ApiProblem
from webapp.api.tokens import authenticate as find_token
from webapp.api.tokens import effective_role
from webapp.context import db_session, get_runtime
from webapp.i18n import use_language

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT = 600
"""Calls per token and minute (``CAMPAIGN_API_RATE_LIMIT``)."""
RATE_WINDOW = 60
RATE_PREFIX = "campaign:api-rate:"
_TOKEN = "_campaign_api_token"
_USER = "_campaign_user"
"""``webapp.context``'s key of the request's user: set to None, the session is never read."""
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="campaign"'}


def authenticate() -> None:
    """``before_request`` of the API: the token of this call, or a 401 problem."""
    setattr(g, _USER, None)
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiProblem(401, "send an API token as Authorization: Bearer <token>", (), CHALLENGE)
    session = db_session()
    now = get_runtime().clock.now()
    token = find_token(session, secret.strip(), now)
    if token is None:
        raise ApiProblem(401, "the token is unknown, expired or revoked", (), CHALLENGE)
    setattr(g, _TOKEN, token)
    use_language(token.user.language)
    _count_call(token)
    token.last_used_at = now
    session.commit()


def _count_call(token: ApiToken) -> None:
    """A fixed window per token and minute, shared by every process through Redis."""
    limit = int(current_app.config.get("CAMPAIGN_API_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    runtime = get_runtime()
    window = int(runtime.clock.now().timestamp()) // RATE_WINDOW
    key = f"{RATE_PREFIX}{token.id}:{window}"
    try:
        pipe = runtime.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, RATE_WINDOW * 2)
        count = pipe.execute()[0]
    except RedisError as exc:
        log.warning("API rate limit: Redis is unreachable: %s", exc)
        raise ApiProblem(503, "the rate limiter cannot be reached; try again shortly") from None
    if count > limit:
        wait = RATE_WINDOW - int(runtime.clock.now().timestamp()) % RATE_WINDOW
        raise ApiProblem(
            429,
            f"more than {limit} calls this minute with this token; wait {wait} seconds",
            (),
            {"Retry-After": str(wait)},
        )


def current_token() -> ApiToken:
    return g.get(_TOKEN)


def check_role(role: Role) -> None:
    """403 unless the token's role (never above its user's) includes ``role``."""
    if not effective_role(current_token()).includes(role):
        raise ApiProblem(403, f"this needs the role {role} or above; the token has a lower one")


def token_user() -> User:
    """The user the call's token belongs to (who answers an approval, submits a delivery)."""
    return current_token().user


def actor() -> str:
    """The token's user, as audit entries and ``created_by`` name them."""
    return current_token().user.username


def via() -> dict[str, Any]:
    """What an audit entry of an API call adds to its details: the token's name."""
    return {"api_token": current_token().name}


def audit(
    action: str,
    target_type: str,
    target_id: object,
    summary: StoredText | str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """An audit entry under the token's user; ``summary`` as ``record_audit`` takes it."""
    record_audit(
        db_session(), actor(), action, target_type, target_id, summary, {**(details or {}), **via()}
    )
