"""Sending the notification outbox by e-mail, over one connection per call.

Each row is claimed in its own commit before its message goes out (``email_claimed_at``,
``email_attempts`` + 1) and settled after it: sent (``email_sent_at``), refused
(``email_error``; tried again by a later call, up to ``MAX_ATTEMPTS``), or unclear. A
claim still there at the next call belonged to a sender that died between handing the
message over and recording it: the message may have gone out, so it is marked unclear and
never sent again silently, like a ledger row (docs/engine.md). A refused row does not stop
the call: the rows after it are sent. Rows are never deleted; the panel shows them with
their time of sending or their error.

A message is written in its recipient's language: a user's ``language``; a bare address
(no user, so no language of its own) gets the panel's default language, German. A user's
message ends with a link that opens what it is about in the panel
(``core.notifications.open_url``), when the installation has a public URL; a bare address
is nobody who can log in, so its message has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address

from sqlalchemy import and_, or_, select, update

from core.messages import DetailText, StoredText, english_plural, stored_for
from core.messaging.mail import build_message, mailbox, message_id, valid_email
from core.messaging.sending import MaybeSentError, NotSentError
from core.messaging.smtp import Mailer, open_mailer
from core.models import Notification, User
from core.notifications import open_url
from core.runtime import Runtime
from webapp import render_stored

MAX_ATTEMPTS = 5
"""A row refused this often is left with its error (about an hour at the default schedule)."""
MAX_AGE = timedelta(days=7)
"""Older rows are not mailed any more (a user who adds an address gets no backlog)."""
STALE_CLAIM = timedelta(minutes=10)
"""A claim older than this belonged to a sender that died."""
PAGE = 200

stored = stored_for(__name__)


@dataclass
class OutboxReport:
    sent: int = 0
    refused: int = 0
    unclear: int = 0
    problems: list[StoredText] = field(default_factory=list)

    def summary(self) -> str:
        sent = english_plural(
            "{0} notification e-mail sent", "{0} notification e-mails sent", self.sent
        )
        return f"{sent}, {self.refused} refused, {self.unclear} unclear"


def send_notifications(runtime: Runtime, now: datetime) -> OutboxReport:
    """Send every due outbox row to its user's (or its bare) address; see the module."""
    report = OutboxReport()
    report.unclear += _settle_stale_claims(runtime, now)
    sender = mailbox(runtime.settings.mail_from)
    mailer: Mailer | None = None
    last_id = 0
    try:
        while True:
            with runtime.database.session() as session:
                page = session.execute(_due(now).where(Notification.id > last_id).limit(PAGE)).all()
            if not page:
                return report
            last_id = page[-1].id
            for row in page:
                if not _claim(runtime, row.id, now):
                    continue
                if mailer is None:
                    mailer = open_mailer(runtime.settings)
                _send(runtime, mailer, sender, row, report)
    finally:
        if mailer is not None:
            mailer.close()


def _due(now: datetime):
    """Unsent, unclaimed rows with attempts left and an address, oldest first."""
    return (
        select(
            Notification.id,
            Notification.subject,
            Notification.body,
            Notification.subject_message,
            Notification.body_message,
            Notification.address,
            Notification.user_id,
            User.email.label("user_email"),
            User.display_name,
            User.username,
            User.language,
        )
        .outerjoin(User, Notification.user_id == User.id)
        .where(
            Notification.email_sent_at.is_(None),
            Notification.email_claimed_at.is_(None),
            Notification.email_attempts < MAX_ATTEMPTS,
            Notification.created_at >= now - MAX_AGE,
            or_(
                Notification.address.is_not(None),
                and_(User.active, User.email.is_not(None), User.email != ""),
            ),
        )
        .order_by(Notification.id)
    )


def _settle_stale_claims(runtime: Runtime, now: datetime) -> int:
    with runtime.database.session() as session:
        return session.execute(
            update(Notification)
            .where(
                Notification.email_sent_at.is_(None),
                Notification.email_claimed_at < now - STALE_CLAIM,
            )
            .values(
                email_claimed_at=None,
                email_attempts=MAX_ATTEMPTS,
                email_error="unclear: the sender stopped while sending this e-mail; it may "
                "have gone out, so it is not sent again",
            )
        ).rowcount


def _claim(runtime: Runtime, notification_id: int, now: datetime) -> bool:
    with runtime.database.session() as session:
        return bool(
            session.execute(
                update(Notification)
                .where(
                    Notification.id == notification_id,
                    Notification.email_sent_at.is_(None),
                    Notification.email_claimed_at.is_(None),
                )
                .values(email_claimed_at=now, email_attempts=Notification.email_attempts + 1)
            ).rowcount
        )


def _settle(runtime: Runtime, notification_id: int, **values: object) -> None:
    with runtime.database.session() as session:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(email_claimed_at=None, **values)
        )


def _send(runtime: Runtime, mailer: Mailer, sender: Address, row, report: OutboxReport) -> None:
    address = row.address or row.user_email.strip()
    if not valid_email(address):
        problem = f"{address!r} is not a valid e-mail address"
        _settle(runtime, row.id, email_error=problem, email_attempts=MAX_ATTEMPTS)
        report.refused += 1
        report.problems.append(
            stored(
                "notification {id}: {address} is not a valid e-mail address",
                id=str(row.id),
                address=repr(address),
            )
        )
        return
    local, _, domain = address.rpartition("@")
    recipient = Address(
        display_name=row.display_name or row.username or "", username=local, domain=domain
    )
    subject = _in_language(runtime, row.subject_message, row.subject, row.language)
    text = _in_language(runtime, row.body_message, row.body, row.language) or subject
    public_url = runtime.settings.public_url
    if row.user_id is not None and public_url:
        link = stored("Open in the panel: {link}", link=open_url(public_url, row.id))
        text += "\n\n" + render_stored(link, row.language, runtime.plugins.translations)
    message = build_message(
        sender=sender,
        to=recipient,
        subject=subject,
        message_id=message_id(f"notification-{row.id}", sender.domain),
        date=runtime.clock.now(),
        text=text,
    )
    try:
        mailer.send(message)
    except MaybeSentError as exc:
        _settle(runtime, row.id, email_error=f"unclear: {exc}", email_attempts=MAX_ATTEMPTS)
        report.unclear += 1
        report.problems.append(
            stored(
                "notification {id} to {address}: unclear: {error}",
                id=str(row.id),
                address=address,
                error=DetailText(str(exc)),
            )
        )
    except NotSentError as exc:
        _settle(runtime, row.id, email_error=str(exc))
        report.refused += 1
        report.problems.append(
            stored(
                "notification {id} to {address}: {error}",
                id=str(row.id),
                address=address,
                error=DetailText(str(exc)),
            )
        )
    else:
        _settle(runtime, row.id, email_sent_at=runtime.clock.now(), email_error=None)
        report.sent += 1


def _in_language(runtime: Runtime, message: dict | None, english: str, language: str | None) -> str:
    """A stored subject or body in the recipient's language; a row written before
    notifications were stored as messages keeps its English text."""
    text = StoredText.from_json(message)
    if text is None:
        return english
    return render_stored(text, language, runtime.plugins.translations)
