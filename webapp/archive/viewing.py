"""Showing an archived document in the browser without trusting its content.

PDFs and images are shown as themselves (same-site frames only); an e-mail (``.eml``) is
parsed and shown as its headers and its plain text, escaped like any other text; anything
else can only be downloaded. Nothing from a document is ever rendered as HTML.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage

INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif")
EMAIL_TYPES = ("message/rfc822",)
TEXT_TYPES = ("text/plain", "text/csv")
HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID")
MAX_SHOWN_CHARS = 200_000


@dataclass(frozen=True)
class EmailView:
    headers: list[tuple[str, str]]
    body: str
    body_is_html_source: bool
    attachments: list[tuple[str, int]] = field(default_factory=list)


def is_email(content_type: str, filename: str) -> bool:
    return content_type in EMAIL_TYPES or filename.lower().endswith(".eml")


def is_text(content_type: str) -> bool:
    return content_type.split(";")[0].strip() in TEXT_TYPES


def email_view(data: bytes) -> EmailView:
    """Headers, the plain-text body (else the HTML source, as text) and the attachments."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    headers = [(name, str(message[name])) for name in HEADERS if message[name] is not None]
    body_part = message.get_body(preferencelist=("plain", "html"))
    body, html_source = "", False
    if body_part is not None:
        body = body_part.get_content()
        html_source = body_part.get_content_type() == "text/html"
    attachments = [
        (part.get_filename() or "?", len(part.get_payload(decode=True) or b""))
        for part in message.iter_attachments()
    ]
    return EmailView(headers, body[:MAX_SHOWN_CHARS], html_source, attachments)
