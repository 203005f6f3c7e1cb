"""Recording notifications in the outbox, in the caller's transaction: one exists only if
what it reports was committed with it. Sending them is someone else's job."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.messages import StoredText
from core.models import Campaign, Notification, Role, User, UserGroup
from core.models.users import user_group_members

OPEN_PATH = "/notifications/{id}/open"
"""The panel's page that opens what notification ``id`` is about (``webapp.notifications``);
notification e-mails link it, so it must not change."""


RUN_TO_CONFIRM = "run_to_confirm"
"""The kind of a notification that asks a person to confirm a run's count."""


def open_url(public_url: str, notification_id: int) -> str:
    """The link a notification e-mail carries for its user."""
    return public_url.rstrip("/") + OPEN_PATH.format(id=notification_id)


class NotificationError(ValueError):
    """A notification cannot be recorded as asked; the message says which part is wrong."""


def users_for(
    session: Session,
    users: Iterable[int | User] = (),
    roles: Iterable[Role | str] = (),
    groups: Iterable[int | UserGroup] = (),
) -> list[User]:
    """The active users named, holding one of the roles (or a higher one), or in one of the
    groups; each once, ordered by id."""
    user_ids = {user.id if isinstance(user, User) else user for user in users}
    group_ids = {group.id if isinstance(group, UserGroup) else group for group in groups}
    try:
        wanted_roles = {Role(role) for role in roles}
    except ValueError as exc:
        raise NotificationError(f"roles: {exc}") from None
    ranks = [role for role in Role if any(role.includes(wanted) for wanted in wanted_roles)]
    conditions = []
    if user_ids:
        conditions.append(User.id.in_(user_ids))
    if ranks:
        conditions.append(User.role.in_(ranks))
    if group_ids:
        members = select(user_group_members.c.user_id).where(
            user_group_members.c.group_id.in_(group_ids)
        )
        conditions.append(User.id.in_(members))
    if not conditions:
        return []
    return list(
        session.scalars(select(User).where(User.active, or_(*conditions)).order_by(User.id))
    )


def notify(
    session: Session,
    *,
    kind: str,
    subject: StoredText,
    now: datetime,
    body: StoredText | None = None,
    users: Iterable[int | User] = (),
    roles: Iterable[Role | str] = (),
    groups: Iterable[int | UserGroup] = (),
    addresses: Iterable[str] = (),
    about: tuple[str, int] | None = None,
) -> list[Notification]:
    """Add one outbox row per recipient: every user found by ``users_for`` and every bare
    e-mail address (deduplicated). ``about`` is the object it concerns, e.g. ("delivery", 12).
    ``subject`` and ``body`` are stored texts (``core.messages.stored``), shown to each
    recipient in their language; their English text is kept too. Nothing is committed here."""
    english = subject.english().strip()
    if not english:
        raise NotificationError("subject: must not be empty")
    if len(english) > 300:
        raise NotificationError("subject: at most 300 characters")
    object_type, object_id = about if about is not None else (None, None)
    message = {
        "kind": kind,
        "subject": english,
        "subject_message": subject.as_json(),
        "body": "" if body is None else body.english(),
        "body_message": None if body is None else body.as_json(),
        "created_at": now,
        "object_type": object_type,
        "object_id": object_id,
    }
    rows = [
        Notification(user_id=user.id, **message)
        for user in users_for(session, users, roles, groups)
    ]
    unique: dict[str, str] = {}
    for address in map(str.strip, addresses):
        if "@" not in address or len(address) > 254:
            raise NotificationError(f"addresses: {address!r} is not an e-mail address")
        unique.setdefault(address.lower(), address)
    rows += [Notification(address=address, **message) for address in unique.values()]
    session.add_all(rows)
    session.flush()
    return rows


def notify_campaign_manager(
    session: Session,
    campaign: Campaign,
    *,
    kind: str,
    subject: StoredText,
    now: datetime,
    body: StoredText | None = None,
    about: tuple[str, int] | None = None,
) -> list[Notification]:
    """Tell the campaign's manager or, when it has none, everyone managing campaigns."""
    whom: dict[str, list] = {"roles": [Role.CAMPAIGN_MANAGER]}
    if campaign.manager_id is not None:
        whom = {"users": [campaign.manager_id]}
    return notify(session, kind=kind, subject=subject, body=body, now=now, about=about, **whom)


def settle_confirmation_requests(session: Session, run_id: int, now: datetime) -> None:
    """A run was confirmed, discarded or cancelled: its requests for a confirmation are read
    for everyone they reached, so no one is left with a task that is gone."""
    session.execute(
        update(Notification)
        .where(
            Notification.kind == RUN_TO_CONFIRM,
            Notification.object_type == "run",
            Notification.object_id == run_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
