"""Sending the notification outbox to a real SMTP server on loopback (STARTTLS, login), on
SQLite and PostgreSQL: one connection, every row's outcome recorded, refused rows tried
again, unclear ones and crashed claims never sent twice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import plugins.processes.notification_mail as notification_mail
from core.clock import FrozenClock
from core.config import Settings
from core.messages import stored
from core.messaging.smtp import outbox_directory
from core.models import Notification, Role, User
from core.notifications import notify
from plugins.processes.notification_mail import MAX_ATTEMPTS, STALE_CLAIM, send_notifications

from process_helpers import user

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PANEL = "https://kampagne.example.de"
"""The public URL of ``settings_with_mail``."""


class Crash(BaseException):
    """The process dies here (not an error any code path handles)."""


@pytest.fixture
def settings(settings_with_mail: Settings) -> Settings:
    return settings_with_mail


@pytest.fixture
def runtime(runtime_factory):
    runtime = runtime_factory()
    runtime.clock = FrozenClock(NOW)
    return runtime


def people(runtime) -> dict[str, int]:
    with runtime.database.session() as session:
        accounts = {
            "erika": user(session, "erika", Role.REVIEWER),
            "max": user(session, "max", Role.REVIEWER, display_name="Max Müller"),
            "silent": user(session, "silent", Role.REVIEWER, email=None),
            "typo": user(session, "typo", Role.REVIEWER, email="typo.example.de"),
            "retired": user(session, "retired", Role.REVIEWER),
        }
        return {name: account.id for name, account in accounts.items()}


def record(runtime, subject: str, users=(), addresses=(), at: datetime = NOW) -> None:
    with runtime.database.session() as session:
        notify(
            session,
            kind="approval_request",
            subject=stored("{subject}", subject=subject),
            body=stored("Body of {subject}", subject=subject),
            now=at,
            users=users,
            addresses=addresses,
        )


def rows(runtime) -> dict[tuple[str, str], Notification]:
    """Each row by (subject, user name or address)."""
    with runtime.database.session() as session:
        found = session.scalars(select(Notification).order_by(Notification.id)).all()
        names = {uid: name for name, uid in people_ids(session).items()}
        return {(row.subject, names.get(row.user_id, row.address)): row for row in found}


def lines(message) -> list[str]:
    """The text body's lines as the recipient reads them."""
    return message.get_content().strip().splitlines()


def people_ids(session) -> dict[str, int]:
    return {account.username: account.id for account in session.scalars(select(User))}


def test_every_due_row_is_sent_once_over_one_connection(runtime, smtp):
    ids = people(runtime)
    record(runtime, "Freigabe Brief", users=ids.values(), addresses=["lager@example.de"])
    record(runtime, "Alt", users=[ids["erika"]], at=NOW - timedelta(days=8))
    with runtime.database.session() as session:
        session.execute(update(User).where(User.id == ids["retired"]).values(active=False))

    report = send_notifications(runtime, NOW)

    assert (report.sent, report.refused, report.unclear) == (3, 1, 0)
    assert report.summary() == "3 notification e-mails sent, 1 refused, 0 unclear"
    assert [problem.english() for problem in report.problems] == [
        "notification 4: 'typo.example.de' is not a valid e-mail address"
    ]
    assert smtp.connections == 1
    assert sorted(received.recipients[0] for received in smtp.messages) == [
        "erika@example.de",
        "lager@example.de",
        "max@example.de",
    ]
    [message] = [received.message for received in smtp.to("max@example.de")]
    assert message["From"] == "Kampagne <kampagne@example.de>"
    assert message["To"] == "Max Müller <max@example.de>"
    assert message["Subject"] == "Freigabe Brief"
    assert message["Message-ID"] == "<notification-2@example.de>"
    assert lines(message) == [
        "Body of Freigabe Brief",
        "",
        f"Open in the panel: {PANEL}/notifications/2/open",
    ]
    [bare] = [received.message for received in smtp.to("lager@example.de")]
    assert lines(bare) == ["Body of Freigabe Brief"]  # nobody who can log in

    outcome = rows(runtime)
    assert outcome["Freigabe Brief", "erika"].email_sent_at == NOW
    assert outcome["Freigabe Brief", "lager@example.de"].email_sent_at == NOW
    for unsent in ("silent", "retired"):  # panel only: no address, or no longer active
        row = outcome["Freigabe Brief", unsent]
        assert (row.email_sent_at, row.email_error, row.email_attempts) == (None, None, 0)
    typo = outcome["Freigabe Brief", "typo"]
    assert (typo.email_error, typo.email_attempts) == (
        "'typo.example.de' is not a valid e-mail address",
        MAX_ATTEMPTS,
    )
    assert outcome["Alt", "erika"].email_sent_at is None  # older than a week: not mailed

    again = send_notifications(runtime, NOW + timedelta(minutes=15))
    assert (again.sent, again.refused, again.unclear) == (0, 0, 0)
    assert len(smtp.messages) == 3


def test_each_recipient_reads_the_mail_in_their_language(runtime_factory, smtp):
    """A user's ``language``; a bare address has none and gets German, the default."""
    import plugins.processes
    from core.messages import stored_for

    runtime = runtime_factory(("plugins.processes", plugins.processes))
    runtime.clock = FrozenClock(NOW)
    with runtime.database.session() as session:
        german = user(session, "erika", Role.REVIEWER)
        english = user(session, "max", Role.REVIEWER, language="en")
        stored = stored_for("plugins.processes.approvals")
        notify(
            session,
            kind="approval_reminder",
            subject=stored(
                "Reminder: approval needed for the {approval}",
                approval=stored(
                    "{step} of delivery '{delivery}' ({campaign})",
                    step=stored("proof"),
                    delivery="Brief",
                    campaign="Herbst",
                ),
            ),
            body=stored("The deadline is {deadline}.", deadline=NOW + timedelta(days=2)),
            now=NOW,
            users=[german.id, english.id],
            addresses=["lager@example.de"],
        )

    assert send_notifications(runtime, NOW).sent == 3

    def mail(address: str) -> tuple[str, list[str]]:
        [received] = smtp.to(address)
        return str(received.message["Subject"]), lines(received.message)

    german_subject = (
        "Erinnerung: Freigabe erforderlich für Korrekturabzug von Versand „Brief“ (Herbst)"
    )
    assert mail("erika@example.de") == (
        german_subject,
        ["Die Frist ist 04.03.2026 09:00.", "", f"Im Panel öffnen: {PANEL}/notifications/1/open"],
    )
    assert mail("lager@example.de") == (german_subject, ["Die Frist ist 04.03.2026 09:00."])
    assert mail("max@example.de") == (
        "Reminder: approval needed for the proof of delivery 'Brief' (Herbst)",
        [
            "The deadline is 4 Mar 2026, 09:00.",
            "",
            f"Open in the panel: {PANEL}/notifications/2/open",
        ],
    )


def test_without_a_public_url_a_users_mail_has_no_link(runtime, smtp):
    """Where the panel is reached from is not known, so there is nothing to link to."""
    runtime.settings = dataclasses.replace(runtime.settings, public_url=None)
    ids = people(runtime)
    record(runtime, "Ohne Link", users=[ids["erika"]])

    assert send_notifications(runtime, NOW).sent == 1
    [received] = smtp.to("erika@example.de")
    assert lines(received.message) == ["Body of Ohne Link"]


def test_a_refused_row_does_not_stop_the_others_and_is_tried_again(runtime, smtp):
    ids = people(runtime)
    smtp.refuse = {"erika@example.de"}
    record(runtime, "Erinnerung", users=[ids["erika"], ids["max"]])

    report = send_notifications(runtime, NOW)

    assert (report.sent, report.refused) == (1, 1)
    erika = rows(runtime)["Erinnerung", "erika"]
    assert erika.email_error == (
        "the mail server refused the recipient 'erika@example.de': "
        "550 5.1.1 <erika@example.de>: no such mailbox"
    )
    assert (erika.email_attempts, erika.email_sent_at, erika.email_claimed_at) == (1, None, None)

    for attempt in range(2, MAX_ATTEMPTS + 1):
        assert send_notifications(runtime, NOW).refused == 1
        assert rows(runtime)["Erinnerung", "erika"].email_attempts == attempt
    assert send_notifications(runtime, NOW).refused == 0  # given up: the error stays

    smtp.refuse = set()
    with runtime.database.session() as session:  # a person asks for another try
        session.execute(update(Notification).values(email_attempts=0))
    assert send_notifications(runtime, NOW).sent == 1
    erika = rows(runtime)["Erinnerung", "erika"]
    assert (erika.email_sent_at, erika.email_error) == (NOW, None)
    assert [received.recipients for received in smtp.messages] == [
        ["max@example.de"],
        ["erika@example.de"],
    ]


def test_an_unclear_answer_is_recorded_and_never_sent_again(runtime, smtp):
    ids = people(runtime)
    smtp.vanish = {"erika@example.de"}
    record(runtime, "Überfällig", users=[ids["erika"], ids["max"]])

    report = send_notifications(runtime, NOW)

    assert (report.sent, report.unclear) == (1, 1)
    erika = rows(runtime)["Überfällig", "erika"]
    assert erika.email_error.startswith("unclear: the connection to '127.0.0.1:")
    assert erika.email_attempts == MAX_ATTEMPTS
    smtp.vanish = set()
    assert send_notifications(runtime, NOW).sent == 0
    assert len(smtp.to("erika@example.de")) == 1


def test_a_sender_that_died_after_sending_leaves_the_row_unclear(runtime, smtp, monkeypatch):
    ids = people(runtime)
    record(runtime, "Absturz", users=[ids["erika"]])
    real_settle = notification_mail._settle

    def crash_when_recording_success(runtime, notification_id, **values):
        if "email_sent_at" in values:
            raise Crash
        real_settle(runtime, notification_id, **values)

    monkeypatch.setattr(notification_mail, "_settle", crash_when_recording_success)
    with pytest.raises(Crash):
        send_notifications(runtime, NOW)
    monkeypatch.undo()
    assert len(smtp.messages) == 1

    soon = send_notifications(runtime, NOW + timedelta(minutes=1))  # the claim may be live
    assert (soon.sent, soon.unclear) == (0, 0)

    later = send_notifications(runtime, NOW + STALE_CLAIM + timedelta(seconds=1))
    assert (later.sent, later.unclear) == (0, 1)
    row = rows(runtime)["Absturz", "erika"]
    assert row.email_error.startswith("unclear: the sender stopped while sending")
    assert (row.email_sent_at, row.email_claimed_at) == (None, None)
    assert len(smtp.messages) == 1


def test_without_a_mail_server_the_messages_go_to_the_outbox_directory(
    tmp_path, database_url, redis_session_url, redis_url
):
    from core.plugins import PluginHost
    from core.runtime import Runtime

    plain = Settings.from_env(
        {
            "CAMPAIGN_DATA_DIR": str(tmp_path / "data"),
            "CAMPAIGN_DATABASE_URL": database_url,
            "CAMPAIGN_REDIS_URL": redis_session_url,
            "CAMPAIGN_SECRET_KEY": "test-secret-key",
        }
    )
    runtime = Runtime.start(plain, PluginHost())
    try:
        runtime.clock = FrozenClock(NOW)
        ids = people(runtime)
        record(runtime, "Lokal", users=[ids["erika"]])
        assert send_notifications(runtime, NOW).sent == 1
        [written] = outbox_directory(plain).iterdir()
        assert written.name == "notification-1@localhost.localdomain.eml"
        assert b"Subject: Lokal" in written.read_bytes()
    finally:
        runtime.close()
