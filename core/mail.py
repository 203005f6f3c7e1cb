"""E-mail rules every sender shares: what an address is, Message-IDs, and the message itself.

Messages are ``email.message.EmailMessage`` objects built here and turned into bytes once
(``message_bytes``): the same bytes go to the mail server and into the document archive.
Text parts are quoted-printable, so a message never needs the server's 8BITMIME; only an
address with non-ASCII characters (``müller@example.de``) needs SMTPUTF8, and then the
headers are written in UTF-8 as RFC 6532 asks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any

_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_DOMAIN_LABEL = re.compile(r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?")
_TOP_LEVEL = re.compile(r"[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59}", re.IGNORECASE)
_NOT_ID_TEXT = re.compile(r"[^A-Za-z0-9_-]")
ADDRESS_FIELDS = ("To", "Cc")


def valid_email(value: Any) -> bool:
    """A dot-atom local part (letters incl. umlauts allowed) @ a domain with a real TLD.

    Quoted local parts and IP-literal domains are legal but refused: no mail system a
    campaign sends through accepts them reliably. Surrounding spaces are ignored.
    """
    if not isinstance(value, str):
        return False
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254 or len(local) > 64 or len(domain) > 253:
        return False
    labels = domain.split(".")
    return (
        _LOCAL_PART.fullmatch(local) is not None
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels[:-1])
        and _TOP_LEVEL.fullmatch(labels[-1]) is not None
    )


def recipient_address(raw: Any) -> str:
    """The address ``raw`` stripped, or a ValueError saying why no e-mail can go to it."""
    if raw is None or not str(raw).strip():
        raise ValueError("no e-mail address")
    if not valid_email(raw):
        raise ValueError(f"{raw!r} is not a valid e-mail address")
    return str(raw).strip()


def mailbox(raw: str) -> Address:
    """``"Name <user@example.de>"`` or ``"user@example.de"`` as an Address, else a ValueError."""
    if "\n" in raw or "\r" in raw:
        raise ValueError("an address is one line")
    parsed = getaddresses([raw])
    if len(parsed) != 1 or not valid_email(parsed[0][1]):
        raise ValueError(f"{raw!r} is not an e-mail address such as 'Name <user@example.de>'")
    name, address = parsed[0]
    local, _, domain = address.strip().rpartition("@")
    return Address(display_name=name.strip(), username=local, domain=domain)


def message_id(reference: str, domain: str, tag: str = "") -> str:
    """A Message-ID made of ``reference`` (and ``tag``): the same reference, the same id.

    Characters of the reference a Message-ID may not hold are written as ``=XX`` (their
    UTF-8 bytes); ``tag`` (letters and digits) follows after a dot.
    """
    left = _NOT_ID_TEXT.sub(
        lambda match: "".join(f"={byte:02X}" for byte in match[0].encode()), reference
    )
    if tag:
        if not tag.isalnum() or not tag.isascii():
            raise ValueError(f"a Message-ID tag is letters and digits, not {tag!r}")
        left += f".{tag}"
    return f"<{left}@{domain}>"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


def build_message(
    *,
    sender: Address | str,
    to: Address | str,
    subject: str,
    message_id: str,
    date: datetime,
    text: str | None = None,
    html: str | None = None,
    reply_to: Address | str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """One message: the plain text and the HTML body as alternatives (either may be left
    out, not both), then the attachments. A header value with a line break is a ValueError."""
    if text is None and html is None:
        raise ValueError("a message needs a text or an HTML body")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if text is not None:
        message.set_content(text, cte="quoted-printable")
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html", cte="quoted-printable")
        else:
            message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients: the From address, the To and Cc addresses."""
    if "Bcc" in message:
        raise ValueError("Bcc is not supported: send a message of its own")
    sender = message["From"].addresses[0].addr_spec
    recipients = [
        address.addr_spec
        for field in ADDRESS_FIELDS
        for header in message.get_all(field, [])
        for address in header.addresses
    ]
    if not recipients:
        raise ValueError("the message has no recipient")
    return sender, recipients


def needs_smtputf8(message: EmailMessage) -> bool:
    """True when an envelope address is not ASCII (the server must offer SMTPUTF8)."""
    sender, recipients = envelope(message)
    return not all(address.isascii() for address in [sender, *recipients])


def message_bytes(message: EmailMessage) -> bytes:
    """The message as it is sent and archived (CRLF line ends)."""
    return message.as_bytes(policy=policy.SMTPUTF8 if needs_smtputf8(message) else policy.SMTP)


__all__ = [
    "Attachment",
    "build_message",
    "envelope",
    "mailbox",
    "message_bytes",
    "message_id",
    "needs_smtputf8",
    "recipient_address",
    "valid_email",
]
