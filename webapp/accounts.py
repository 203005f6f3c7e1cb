"""Creating and finding web panel users, for the panel's screens and ``campaign users``."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.messages import stored
from core.models import Role, User

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
LANGUAGES = ("de", "en")
LANGUAGE_TITLES = {"de": stored("German"), "en": stored("English")}
"""How an audit summary names a user's language."""
ROLE_TITLES = {
    Role.VIEWER.value: stored("viewer"),
    Role.REVIEWER.value: stored("reviewer"),
    Role.CAMPAIGN_MANAGER.value: stored("campaign manager"),
    Role.ADMIN.value: stored("administrator"),
}
"""How an audit summary names a user's role."""


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why.

    ``code`` names the rule for callers that explain it in their own words (the panel).
    """

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str = Role.VIEWER,
    display_name: str = "",
    email: str | None = None,
    language: str = "de",
) -> User:
    """Add a user with a hashed password; usernames are unique regardless of case."""
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            f"username {username!r} must be 2-80 letters, digits or the characters _ . @ -",
            "username",
        )
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise AccountError(f"unknown role {role!r} (one of {allowed})") from None
    if find_user(session, username) is not None:
        raise AccountError(f"a user named {username!r} already exists", "username_taken")
    if email and not EMAIL_PATTERN.match(email):
        raise AccountError(f"{email!r} is not an e-mail address", "email")
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        role=role,
        language=language,
    )
    try:
        user.set_password(password)
    except ValueError as exc:
        raise AccountError(str(exc), "password") from None
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Give an existing user a new password."""
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no user named {username!r}")
    try:
        user.set_password(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    return user


def ensure_admin(session: Session, username: str = "admin") -> tuple[str, str | None]:
    """Create the first administrator if there is none; return its name and new password."""
    existing = session.scalar(select(User).where(User.role == Role.ADMIN).limit(1))
    if existing is not None:
        return existing.username, None
    password = secrets.token_urlsafe(12)
    create_user(session, username, password, Role.ADMIN, display_name="Administrator")
    return username, password
