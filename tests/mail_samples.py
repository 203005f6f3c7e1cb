"""Inbound mail as mail servers write it, for the tests and the benchmark: RFC 3464
delivery status notifications (as Postfix sends them), Postfix's and Exim's plain-text
bounces, auto-replies, unsubscribe mails and a person's reply."""

from __future__ import annotations

import itertools

_numbers = itertools.count(1)


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def dsn(
    to: str,
    recipient: str,
    status: str = "5.1.1",
    action: str = "failed",
    original_message_id: str = "<unknown@example.de>",
    diagnostic: str | None = None,
) -> bytes:
    """A multipart/report DSN to the envelope sender ``to`` (Postfix's layout)."""
    number = next(_numbers)
    diagnostic = diagnostic or f"smtp; 550 {status} <{recipient}>: Recipient address rejected"
    return _crlf(
        f"""Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{number}@mx.example.net>
Date: Sat, 05 Dec 2026 10:00:00 +0100
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B{number}"

This is a MIME-encapsulated message.

--B{number}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.example.org said: {diagnostic}

--B{number}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4F{number}
Arrival-Date: Sat, 05 Dec 2026 09:59:58 +0100

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: {diagnostic}

--B{number}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Kundenservice <service@example.de>
To: {recipient}
Subject: Neuigkeiten
Message-ID: {original_message_id}

--B{number}--
"""
    )


def postfix_text_bounce(to: str, recipient: str, original_message_id: str) -> bytes:
    """An old Postfix's plain-text bounce with the original message quoted below."""
    return _crlf(
        f"""Return-Path: <>
Delivered-To: {to}
From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <text-{next(_numbers)}@mail.example.net>

This is the mail system at host mail.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.example.org[192.0.2.1] said: 550 5.1.1 User unknown
    (in reply to RCPT TO command)

--- Below this line is a copy of the message.

Return-Path: <service@example.de>
From: Kundenservice <service@example.de>
To: {recipient}
Subject: Neuigkeiten
Message-ID: {original_message_id}

Hallo
"""
    )


def exim_bounce(to: str, recipient: str, original_message_id: str, code: str = "452") -> bytes:
    """Exim's "Mail delivery failed" with X-Failed-Recipients (a full mailbox: 452 4.2.2)."""
    return _crlf(
        f"""Return-path: <>
Envelope-to: {to}
From: Mail Delivery System <Mailer-Daemon@exim.example.net>
To: {to}
Subject: Mail delivery failed: returning message to sender
Message-Id: <exim-{next(_numbers)}@exim.example.net>
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {recipient}
    SMTP error from remote mail server after RCPT TO:<{recipient}>:
    {code} 4.2.2 Mailbox full

------ This is a copy of the message, including all the headers. ------

From: Kundenservice <service@example.de>
To: {recipient}
Subject: Neuigkeiten
Message-ID: {original_message_id}

Hallo
"""
    )


def auto_reply(sender: str, to: str) -> bytes:
    return _crlf(
        f"""From: {sender}
To: {to}
Subject: Automatische Antwort: Neuigkeiten
Message-ID: <oof-{next(_numbers)}@example.org>
Auto-Submitted: auto-replied

Ich bin bis zum 10. Dezember nicht im Büro.
"""
    )


def unsubscribe_mail(sender: str, to: str, subject: str = "unsubscribe") -> bytes:
    return _crlf(
        f"""From: {sender}
To: {to}
Subject: {subject}
Message-ID: <unsub-{next(_numbers)}@example.org>

"""
    )


def reply(sender: str, to: str, text: str = "Können Sie mich anrufen?") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Re: Neuigkeiten\r\n"
        f"Message-ID: <reply-{next(_numbers)}@example.org>\r\n"
        "In-Reply-To: <run1-x@example.de>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    ).encode()
