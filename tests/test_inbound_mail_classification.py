"""Reading what comes back to the mailbox: RFC 3464 reports, Postfix's and Exim's plain-text
bounces, auto-replies and unsubscribe mails."""

from __future__ import annotations

import pytest

from core.messaging.bounces import make_bounce_token, verp_address
from plugins.workflows.inbound_mail.classification import Kind, classify, unsubscribe_token_in

from mail_samples import auto_reply, dsn, exim_bounce, postfix_text_bounce, reply, unsubscribe_mail

SECRET = "test-secret-key"
BOUNCES = "bounces@example.de"
ORIGINAL = "<run7-contacts:3.18a2b@example.de>"


@pytest.mark.parametrize(
    ("status", "action", "kind"),
    [
        ("5.1.1", "failed", Kind.HARD_BOUNCE),
        ("4.2.2", "failed", Kind.SOFT_BOUNCE),
        ("4.4.1", "delayed", Kind.DELAYED),
    ],
)
def test_a_delivery_status_notification_gives_status_address_and_original(status, action, kind):
    to = verp_address(BOUNCES, make_bounce_token(SECRET, 7, 3))
    found = classify(dsn(to, "Erika@Example.org", status, action, ORIGINAL))
    assert found.kind is kind
    assert found.status == status
    assert found.address == "erika@example.org"
    assert found.original_message_id == ORIGINAL
    assert to in found.recipients
    assert status in found.detail


def test_a_report_of_successful_delivery_is_set_aside_as_automatic():
    message = dsn(BOUNCES, "erika@example.org", "2.0.0", "delivered", ORIGINAL)
    assert classify(message).kind is Kind.AUTO_REPLY


def test_plain_text_bounces_of_postfix_and_exim():
    postfix = classify(postfix_text_bounce(BOUNCES, "weg@example.org", ORIGINAL))
    assert (postfix.kind, postfix.status, postfix.address) == (
        Kind.HARD_BOUNCE,
        "5.1.1",
        "weg@example.org",
    )
    assert postfix.original_message_id == ORIGINAL
    exim = classify(exim_bounce(BOUNCES, "voll@example.org", ORIGINAL))
    assert (exim.kind, exim.status, exim.address) == (Kind.SOFT_BOUNCE, "4.2.2", "voll@example.org")
    assert exim.original_message_id == ORIGINAL


def test_auto_replies_are_recognised_and_never_taken_for_an_unsubscription():
    message = auto_reply("erika@example.org", "abmelden@example.de")
    assert classify(message, "abmelden@example.de").kind is Kind.AUTO_REPLY
    out_of_office = b"From: a@example.org\r\nTo: b@example.de\r\nSubject: Out of Office\r\n\r\nx"
    assert classify(out_of_office).kind is Kind.AUTO_REPLY


def test_unsubscribe_mails_carry_the_token_of_the_subject():
    token = "ab.1.email.k3.SIGNATURE-x_y"
    message = unsubscribe_mail("Erika@Example.org", "abmelden@example.de", f"unsubscribe {token}")
    found = classify(message, "abmelden@example.de")
    assert (found.kind, found.address) == (Kind.UNSUBSCRIBE, "erika@example.org")
    assert unsubscribe_token_in(found, "abmelden@example.de") == token
    plain = classify(
        unsubscribe_mail("erika@example.org", "abmelden@example.de"), "abmelden@example.de"
    )
    assert unsubscribe_token_in(plain, "abmelden@example.de") is None
    assert classify(message).kind is Kind.UNMATCHED  # no unsubscribe address configured


def test_a_persons_reply_and_broken_mail_are_unmatched():
    assert classify(reply("erika@example.org", "service@example.de")).kind is Kind.UNMATCHED
    for data in (b"", b"\xff\xfe garbage without headers", b"Subject: =?bad?q?x?=\r\n\r\n"):
        assert classify(data).kind is Kind.UNMATCHED
