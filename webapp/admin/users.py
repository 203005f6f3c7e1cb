"""Changing a user's settings on the administration screen, with the rules that keep the
administrator who is making the change."""

from __future__ import annotations

from core.models import Role, User
from webapp.accounts import EMAIL_PATTERN, LANGUAGES, AccountError


def update_user(
    user: User,
    actor: User,
    *,
    role: Role | str,
    display_name: str,
    email: str | None,
    language: str,
    active: bool,
) -> dict[str, list[object]]:
    """Change a user's settings; returns what changed as ``{field: [old, new]}``.

    An administrator can neither take the administrator role from themselves nor deactivate
    themselves, so the panel always keeps the administrator who is changing it.
    """
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise AccountError(f"unknown role {role!r} (one of {allowed})") from None
    if user.id == actor.id and user.role is Role.ADMIN and role is not Role.ADMIN:
        raise AccountError("you cannot take the administrator role from yourself", "self_admin")
    if user.id == actor.id and not active:
        raise AccountError("you cannot deactivate yourself", "self_deactivate")
    if email and not EMAIL_PATTERN.match(email):
        raise AccountError(f"{email!r} is not an e-mail address", "email")
    if language not in LANGUAGES:
        raise AccountError(f"unknown language {language!r} (one of {', '.join(LANGUAGES)})")
    wanted = {
        "role": role,
        "display_name": display_name.strip() or user.username,
        "email": email or None,
        "language": language,
        "active": active,
    }
    changed: dict[str, list[object]] = {}
    for name, value in wanted.items():
        old = getattr(user, name)
        if old != value:
            changed[name] = [
                str(old) if isinstance(old, Role) else old,
                str(value) if isinstance(value, Role) else value,
            ]
            setattr(user, name, value)
    return changed
