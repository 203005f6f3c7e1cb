"""E-mail rules every sender shares: what an address is, Message-IDs, and the message itself.

``build_message`` writes the bytes that are sent and archived itself: the standard library's
``EmailMessage`` spends longer refolding its headers than sending takes. Plain MIME with
quoted-printable text, base64 attachments and encoded words never needs 8BITMIME; only a
non-ASCII address needs SMTPUTF8 (and is written in UTF-8, RFC 6532).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.utils import encode_rfc2231, format_datetime, getaddresses
from typing import Any

from core.messages import ExplainedError, stored

_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_DOMAIN_LABEL = re.compile(r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?")
_TOP_LEVEL = re.compile(r"[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59}", re.IGNORECASE)
_NOT_ID_TEXT = re.compile(r"[^A-Za-z0-9_-]")
_PHRASE_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]+")
CRLF = "\r\n"
MAX_LINE = 78
"""The line length RFC 5322 asks headers to keep to."""
ENCODED_WORD_BYTES = 42
"""UTF-8 bytes per encoded word: 68 characters with ``=?utf-8?b?...?=``, so that even the
first line (``Subject: ``) stays within 78."""


def valid_email(value: Any) -> bool:
    """A dot-atom local part (umlauts allowed) @ a domain with a real TLD, spaces around
    ignored; quoted local parts and IP literals are refused: not every mail system takes them."""
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
    """``"Name <user@example.de>"`` or ``"user@example.de"`` as an Address, else an
    ExplainedError (a settings form's field says it in the reader's language)."""
    if "\n" in raw or "\r" in raw:
        raise ExplainedError(stored("an address must be one line"))
    parsed = getaddresses([raw])
    if len(parsed) != 1 or not valid_email(parsed[0][1]):
        raise ExplainedError(
            stored(
                "'{address}' is not an e-mail address such as 'Name <user@example.de>'",
                address=raw,
            )
        )
    return _box(*parsed[0])


def message_id(reference: str, domain: str, tag: str = "") -> str:
    """A Message-ID made of ``reference`` (other characters as ``=XX`` of their UTF-8) and
    ``tag`` (letters and digits): the same reference, the same id."""
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


@dataclass(frozen=True, slots=True)
class Mail:
    """A message ready to go: its envelope and its bytes, which are sent and archived alike."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    data: bytes

    @property
    def smtputf8(self) -> bool:
        """True when an envelope address is not ASCII (the server must offer SMTPUTF8)."""
        return not all(address.isascii() for address in (self.sender, *self.recipients))


Mailboxes = Address | str | Sequence[Address | str]


def build_message(
    *,
    sender: Address | str,
    to: Mailboxes,
    subject: str,
    message_id: str,
    date: datetime,
    text: str | None = None,
    html: str | None = None,
    reply_to: Address | str | None = None,
    attachments: Sequence[Attachment] = (),
    extra_headers: Sequence[tuple[str, str]] = (),
) -> Mail:
    """One message: the text and the HTML body as alternatives (one may be left out), then the
    attachments. ``to`` is one address, a list, or a string of several; ``extra_headers``
    are ASCII pairs such as List-Unsubscribe; a header with a line break is a ValueError."""
    if text is None and html is None:
        raise ValueError("a message needs a text or an HTML body")
    (sender_box,) = _mailboxes(sender, "From")
    recipients = _mailboxes(to, "To")
    reply_boxes = _mailboxes(reply_to, "Reply-To") if reply_to else []
    _one_line(subject, "Subject")
    _one_line(message_id, "Message-ID")
    for name, value in extra_headers:
        _one_line(value, name)
        if not (_TOKEN.fullmatch(name) and value.isascii()):
            raise ValueError(f"{name!r}: {value!r} is not an ASCII header")
    headers = [
        f"From: {_mailbox_text(sender_box)}",
        f"To: {_address_list(recipients, 'To')}",
        *(f"Reply-To: {_mailbox_text(box)}" for box in reply_boxes),
        f"Subject: {_header_text(subject, 'Subject')}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {message_id}",
        *(f"{name}: {_header_text(value, name)}" for name, value in extra_headers),
        "MIME-Version: 1.0",
    ]
    bodies = [_text_part(body, subtype) for body, subtype in ((text, "plain"), (html, "html"))]
    content = _multipart("alternative", bodies) if all(bodies) else next(filter(None, bodies))
    if attachments:
        content = _multipart("mixed", [content, *map(_attachment_part, attachments)])
    return Mail(
        sender=sender_box.addr_spec,
        recipients=tuple(box.addr_spec for box in recipients),
        subject=subject,
        message_id=message_id,
        data=(CRLF.join(headers) + CRLF).encode() + content,
    )


def _mailboxes(value: Mailboxes, field: str) -> list[Address]:
    if isinstance(value, Address):
        boxes = [value]
    elif isinstance(value, str):
        _one_line(value, field)
        boxes = []
        for name, spec in getaddresses([value]):
            if not valid_email(spec):
                raise ValueError(f"{field}: {spec!r} is not a valid e-mail address")
            boxes.append(_box(name, spec))
    else:
        boxes = [box for item in value for box in _mailboxes(item, field)]
    if not boxes:
        raise ValueError(f"{field}: no address")
    return boxes


def _box(name: str, spec: str) -> Address:
    """The Address of a display name and a valid address (which refuses line breaks)."""
    local, _, domain = spec.strip().rpartition("@")
    return Address(display_name=name.strip(), username=local, domain=domain)


def _one_line(value: str, field: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{field} must be one line")


def _header_text(value: str, field: str = "") -> str:
    """Lines of at most 78 characters, non-ASCII text as encoded words (RFC 2047), written
    here: ``email.header.Header`` takes longer for a subject than the rest of the message."""
    if value.isascii():
        if len(field) + 2 + len(value) <= MAX_LINE:
            return value
        return Header(value, "us-ascii", header_name=field or None).encode(linesep=CRLF)
    words = [""]
    for character in value:
        if len((words[-1] + character).encode()) > ENCODED_WORD_BYTES:
            words.append("")
        words[-1] += character
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word.encode()).decode()}?=" for word in words)


def _address_list(boxes: Sequence[Address], field: str) -> str:
    """The addresses separated by commas, a line break before one that would not fit."""
    lines: list[str] = []
    line = ""
    for box in boxes:
        address = _mailbox_text(box)
        indent = 1 if lines else len(field) + 2
        if line and indent + len(line) + 2 + len(address) > MAX_LINE:
            lines.append(line + ",")
            line = address
        else:
            line = f"{line}, {address}" if line else address
    return f"{CRLF} ".join([*lines, line])


def _mailbox_text(box: Address) -> str:
    """``Name <user@domain>``: the name quoted or as encoded words, the address as it is."""
    name = box.display_name
    if not name:
        return box.addr_spec
    if not name.isascii():
        name = _header_text(name)
    elif _PHRASE_SPECIALS.search(name):
        name = _quoted(name)
    return f"{name} <{box.addr_spec}>"


def _text_part(body: str | None, subtype: str) -> bytes:
    if body is None:
        return b""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").encode()
    if not lines.endswith(b"\n"):
        lines += b"\n"  # as mail programs write it: every line ends with a line break
    encoded = binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + encoded


def _attachment_part(attachment: Attachment) -> bytes:
    maintype, _, subtype = attachment.content_type.partition("/")
    if not (_TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        raise ValueError(f"{attachment.content_type!r} is not a content type")
    _one_line(attachment.filename, "an attachment's filename")
    name = attachment.filename
    if name.isascii():
        parameter = f"filename={_quoted(name)}"
    else:
        parameter = f"filename*={encode_rfc2231(name, 'utf-8')}"
    return (
        f"Content-Type: {maintype}/{subtype}\r\n"
        f"Content-Disposition: attachment; {parameter}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


def _quoted(text: str) -> str:
    return '"{}"'.format(text.replace("\\", "\\\\").replace('"', '\\"'))


def _multipart(subtype: str, parts: Sequence[bytes]) -> bytes:
    """Parts under a boundary that cannot occur in them: ``=_`` is never quoted-printable
    or base64 output."""
    boundary = f"=_{secrets.token_hex(12)}".encode()
    body = b"".join(b"--%b\r\n%b\r\n" % (boundary, part) for part in parts)
    head = f'Content-Type: multipart/{subtype}; boundary="'.encode() + boundary + b'"\r\n\r\n'
    return head + body + b"--%b--\r\n" % boundary


__all__ = [
    "Attachment",
    "Mail",
    "build_message",
    "mailbox",
    "message_id",
    "recipient_address",
    "valid_email",
]
