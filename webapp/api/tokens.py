"""Creating, checking and revoking a user's API tokens (the panel's profile page, the API).

A token's secret is ``cmp_`` followed by 43 random URL-safe characters; only its SHA-256 is
stored, so a copy of the database does not let anybody call the API. A token acts with its
own role, which is never higher than its user's: a user whose role was lowered, or who was
deactivated, loses what the token may do at once, because both are checked on every use.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ApiToken, Role, User

PREFIX = "cmp_"
NAME_MAX = 80
MAX_LIFETIME = timedelta(days=366)
"""A token lives a year at most: a forgotten token stops working on its own."""


class ApiTokenError(ValueError):
    """A token cannot be created as asked; ``code`` names the rule, the message says why."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str
    """The bearer secret: shown to its owner once, never stored."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def create_token(
    session: Session, user: User, name: str, role: Role | str, expires_at: datetime, now: datetime
) -> NewToken:
    """A new token of ``user``; refused for an empty or taken name, a role above the
    user's, or an expiry in the past or more than ``MAX_LIFETIME`` ahead."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ApiTokenError(f"name: 1 to {NAME_MAX} characters", "name")
    if any(token.name == name for token in user_tokens(session, user, now)):
        raise ApiTokenError(f"name: a token named {name!r} exists already", "name_taken")
    try:
        role = Role(role)
    except ValueError:
        raise ApiTokenError(f"role: unknown role {role!r}", "role") from None
    if not user.role.includes(role):
        raise ApiTokenError(f"role: {role} is above your role {user.role}", "role_too_high")
    if expires_at <= now or expires_at - now > MAX_LIFETIME:
        raise ApiTokenError("expires_at: must lie in the coming year", "expiry")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[: len(PREFIX) + 4],
        role=role,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def user_tokens(session: Session, user: User, now: datetime) -> Sequence[ApiToken]:
    """The user's tokens that still work (not revoked, not expired), newest first."""
    return session.scalars(
        select(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def authenticate(session: Session, secret: str, now: datetime) -> ApiToken | None:
    """The working token with this secret whose user is active, else None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    return token


def effective_role(token: ApiToken) -> Role:
    """The lower of the token's role and its user's role now."""
    return token.role if token.user.role.includes(token.role) else token.user.role


def revoke_token(session: Session, user: User, token_id: int, now: datetime) -> ApiToken | None:
    """Revoke one of the user's own tokens; None if the user has no such working token."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        return None
    token.revoked_at = now
    return token
