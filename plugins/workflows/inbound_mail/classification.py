"""What an inbound message to the installation's mailbox is: a bounce, an auto-reply, an
unsubscribe mail, or something else for a person to read.

Pure parsing, no database: ``classify(data)`` reads one message's bytes and says its kind,
the delivery status (``5.1.1``), the failed address and whatever identifies the campaign
message it answers: the VERP token of the envelope sender it came back to, and the original
Message-ID (from the DSN's returned headers or the text of a plain bounce).

Formats read:

- RFC 3464 delivery status notifications (``multipart/report;
  report-type=delivery-status``): ``Action`` and ``Status`` of each recipient's block,
  ``Final-Recipient``, ``Diagnostic-Code``; the returned message or headers.
- Plain-text bounces of Postfix, Exim, Sendmail and the like ("Undelivered Mail Returned to
  Sender", "Mail delivery failed", "Returned mail"): the status code and the address from
  the text, the original headers quoted in the text or attached as ``message/rfc822``.
- Auto-replies (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``, ``Precedence: auto_reply``,
  "Out of Office"/"Abwesenheitsnotiz" subjects): recognised so they are set aside, never
  taken for a bounce or an unsubscription.
"""

from __future__ import annotations

import email
import email.policy
import enum
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr

from core.messaging.bounces import VERP_SEPARATOR, verp_token

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b([45])\d\d[ -]")
_ADDRESS = re.compile(r"<?([A-Za-z0-9._%+'=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|returned to sender|returned mail|delivery (status notification|failure|"
    r"has failed|failed)|mail delivery (failed|subsystem)|failure notice|"
    r"unzustellbar|nicht zustellbar|rückläufer",
    re.IGNORECASE,
)
_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_AUTO_SUBJECTS = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|"
    r"abwesend|automatische antwort|urlaub|vacation)",
    re.IGNORECASE,
)
MAX_DETAIL = 500


class Kind(enum.StrEnum):
    """What a message is; the value is stored with it."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    DELAYED = "delayed"
    """A DSN saying delivery is still being tried: nothing to do yet."""
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    REPLY = "reply"
    """A reply from a known contact's address: kept for a person, and a channel event."""
    UNMATCHED = "unmatched"
    """Anything else (a person's reply, a bounce nothing identifies): kept for a person."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as read: its kind and what identifies the campaign message it answers."""

    kind: Kind
    sender: str
    recipients: tuple[str, ...]
    """The addresses it was sent to (To, Cc, Delivered-To, X-Original-To), lower case."""
    subject: str
    message_id: str | None
    status: str | None = None
    address: str | None = None
    """The address that failed (a bounce) or asks to leave (an unsubscribe mail)."""
    original_message_id: str | None = None
    detail: str = ""


def digest(data: bytes) -> str:
    """The message's fingerprint: a message read twice is recognised by it."""
    return hashlib.sha256(data).hexdigest()


def parse(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=email.policy.compat32)


def classify(data: bytes, unsubscribe_address: str | None = None) -> Inbound:
    """What the message is (see the module's docstring)."""
    message = parse(data)
    sender = parseaddr(_header(message, "From"))[1].lower()
    subject = " ".join(_header(message, "Subject").split())[:300]
    recipients = tuple(
        address.lower()
        for _, address in getaddresses(
            [
                _header(message, name)
                for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
            ]
        )
        if address
    )
    own_id = _header(message, "Message-ID").strip() or None
    base = {"sender": sender, "recipients": recipients, "subject": subject, "message_id": own_id}
    report = _delivery_report(message)
    if report is not None:
        return Inbound(**base, **report)
    if _looks_like_bounce(message, sender, subject):
        return Inbound(**base, **_text_bounce(message))
    if _is_auto_reply(message, subject):
        return Inbound(Kind.AUTO_REPLY, **base)
    if unsubscribe_address and _to_unsubscribe(recipients, unsubscribe_address):
        return Inbound(Kind.UNSUBSCRIBE, **base, address=sender or None)
    return Inbound(Kind.UNMATCHED, **base)


def _header(message: Message, name: str) -> str:
    values = message.get_all(name) or []
    return ", ".join(_decoded(value) for value in values)


def _decoded(value: object) -> str:
    if "=?" not in str(value):  # no encoded word: nothing to decode
        return str(value)
    try:
        return str(email.header.make_header(email.header.decode_header(str(value))))
    except (LookupError, ValueError, UnicodeError):
        return str(value)


def _kind_of_status(status: str | None, action: str) -> Kind:
    if action == "delayed":
        return Kind.DELAYED
    if status and status.startswith("4"):
        return Kind.SOFT_BOUNCE
    return Kind.HARD_BOUNCE


def _delivery_report(message: Message) -> dict | None:
    """The first failed (else delayed) recipient of an RFC 3464 report; None when the
    message is no delivery report. A report of successful deliveries is set aside."""
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    blocks = []
    original = None
    explanation = ""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks.extend(_status_blocks(part))
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            original = original or _original_message_id(part)
        elif kind == "text/plain" and not explanation:
            explanation = _text_of(part)
    wanted = [b for b in blocks if b.get("action") == "failed"] or [
        b for b in blocks if b.get("action") == "delayed"
    ]
    if not wanted:
        if blocks:  # delivered, relayed, expanded: automatic, nothing to act on
            return {"kind": Kind.AUTO_REPLY, "detail": "a report of successful delivery"}
        return _plain_report(explanation, original)
    block = wanted[0]
    status = _status(block.get("status", "")) or _status(block.get("diagnostic-code", ""))
    if status is None:
        status = "5.0.0" if block.get("action") == "failed" else "4.0.0"
    detail = block.get("diagnostic-code") or explanation.strip()
    return {
        "kind": _kind_of_status(status, block.get("action", "")),
        "status": status,
        "address": _address_of(block.get("final-recipient") or block.get("original-recipient")),
        "original_message_id": original or _message_id_in(explanation),
        "detail": " ".join(detail.split())[:MAX_DETAIL],
    }


def _plain_report(explanation: str, original: str | None) -> dict:
    """A report without a status block: read like a plain-text bounce."""
    status = _status(explanation) or "5.0.0"
    return {
        "kind": _kind_of_status(status, "failed"),
        "status": status,
        "address": _first_address(explanation),
        "original_message_id": original or _message_id_in(explanation),
        "detail": " ".join(explanation.split())[:MAX_DETAIL],
    }


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-recipient fields of a ``message/delivery-status`` part, lower-case names."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser made one Message per block: its headers
        found = [
            {name.lower(): " ".join(str(value).split()) for name, value in block.items()}
            for block in payload
        ]
    else:
        found = [_fields(source) for source in re.split(r"\r?\n\s*\r?\n", _text_of(part))]
    blocks = []
    for fields in found:
        if "action" in fields:
            fields["action"] = fields["action"].lower().split()[0] if fields["action"] else ""
            blocks.append(fields)
    return blocks


def _fields(source: str) -> dict[str, str]:
    """``Name: value`` lines (with continuation lines) of a block of text."""
    fields: dict[str, str] = {}
    name = None
    for line in source.splitlines():
        if line[:1] in (" ", "\t") and name:
            fields[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            fields[name] = value.strip()
    return fields


def _looks_like_bounce(message: Message, sender: str, subject: str) -> bool:
    return bool(
        (_DAEMONS.match(sender) and (_BOUNCE_SUBJECTS.search(subject) or not subject))
        or (_BOUNCE_SUBJECTS.search(subject) and not message.get("In-Reply-To"))
        or message.get("X-Failed-Recipients")
    )


def _text_bounce(message: Message) -> dict:
    """A plain-text bounce: the status code, the address and the original Message-ID from
    the text (and from an attached original message, if any)."""
    texts, original = [], None
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "text/rfc822-headers"):
            original = original or _original_message_id(part)
        elif kind == "text/plain":
            texts.append(_text_of(part))
    text = "\n".join(texts)
    status = _status(text)
    if status is None:
        reply = _SMTP_REPLY.search(text)
        status = f"{reply[1]}.0.0" if reply else "5.0.0"
    failed = _header(message, "X-Failed-Recipients")
    address = _first_address(failed) or _first_address(_failure_section(text))
    return {
        "kind": _kind_of_status(status, "failed"),
        "status": status,
        "address": address,
        "original_message_id": original or _message_id_in(text),
        "detail": " ".join(_failure_section(text).split())[:MAX_DETAIL],
    }


def _failure_section(text: str) -> str:
    """The part of a bounce's text before the returned message."""
    for marker in (
        "------ This is a copy of the message",
        "--- Below this line is a copy",
        "----- Original message -----",
        "Message-ID:",
        "Return-Path:",
    ):
        index = text.find(marker)
        if index > 0:
            text = text[:index]
    return text


def _is_auto_reply(message: Message, subject: str) -> bool:
    auto = (message.get("Auto-Submitted") or "").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    return bool(
        (auto and auto != "no")
        or message.get("X-Autoreply")
        or message.get("X-Autorespond")
        or message.get("X-Auto-Response-Suppress", "").lower() in ("all", "oof")
        or precedence in ("auto_reply", "bulk", "junk")
        or _AUTO_SUBJECTS.match(subject)
    )


def _to_unsubscribe(recipients: tuple[str, ...], unsubscribe_address: str) -> bool:
    wanted = unsubscribe_address.lower()
    local, _, domain = wanted.rpartition("@")
    return any(
        address == wanted
        or (address.endswith("@" + domain) and address.startswith(local + VERP_SEPARATOR))
        for address in recipients
    )


def unsubscribe_token_in(inbound: Inbound, unsubscribe_address: str) -> str | None:
    """The unsubscribe token the mail carries: in its subject (the List-Unsubscribe
    ``mailto:`` puts it there) or after the ``+`` of the address it went to."""
    for word in inbound.subject.split():
        if word.count(".") == 4:
            return word
    for address in inbound.recipients:
        token = verp_token(address, unsubscribe_address)
        if token:
            return token
    return None


def _status(text: str) -> str | None:
    match = _STATUS.search(text or "")
    return f"{match[1]}.{match[2]}.{match[3]}" if match else None


def _address_of(field: str | None) -> str | None:
    """``rfc822; user@example.de`` → ``user@example.de``."""
    if not field:
        return None
    return _first_address(field.partition(";")[2] or field)


def _first_address(text: str | None) -> str | None:
    match = _ADDRESS.search(text or "")
    return match[1].lower() if match else None


def _original_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        found = payload[0].get("Message-ID")
        return str(found).strip() if found else None
    return _message_id_in(_text_of(part))


def _message_id_in(text: str) -> str | None:
    match = _MESSAGE_ID.search(text or "")
    return match[1] if match else None


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")
