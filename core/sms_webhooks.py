"""What an SMS provider sends back (delivery receipts, inbound messages) as the panel's
webhook hands it to a gateway plugin, and how such a request proves where it came from.

The defaults here read the platform's own format (docs/sms.md), so a provider that can be
told where and how to post needs no code. A request proves itself with the gateway's secret
(``CAMPAIGN_SMS_WEBHOOK_SECRET_<GATEWAY>``): ``X-Campaign-Signature: t=<unix seconds>,
v1=<hex HMAC-SHA256(secret, "<t>." + body)>``, refused outside ``SIGNATURE_TOLERANCE`` and
accepted only once, or, for providers that cannot sign, the secret as a Bearer token or
Basic password (weaker: a recorded request can be replayed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

SIGNATURE_HEADER = "X-Campaign-Signature"
SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_BODY = 256 * 1024
"""The largest webhook body read; a larger one is refused before it is read."""
MAX_ITEMS = 1000
"""Receipts or messages in one request."""
MAX_TEXT = 2000
"""Characters of an inbound message (ten concatenated parts fit)."""
MAX_FIELD = 200

DELIVERED = "delivered"
UNDELIVERABLE = "undeliverable"
PENDING = "pending"
STATUS_WORDS = {
    DELIVERED: ("delivered", "delivrd", "delivery_success", "success"),
    UNDELIVERABLE: (
        "undeliverable",
        "undeliv",
        "undelivered",
        "failed",
        "rejected",
        "rejectd",
        "expired",
        "deleted",
    ),
    PENDING: ("pending", "accepted", "acceptd", "enroute", "buffered", "sent", "queued"),
}
"""Provider words for a message's state (SMPP's ``stat:`` values among them), by meaning."""
_STATUS = {word: meaning for meaning, words in STATUS_WORDS.items() for word in words}


class WebhookRefused(ValueError):
    """The request is not from the provider (401) or cannot be read (400); the message says
    why for the log, the answer only which of the two."""

    def __init__(self, reason: str, *, unauthenticated: bool = False):
        super().__init__(reason)
        self.unauthenticated = unauthenticated


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A provider's request as the panel received it (the body is bounded by ``MAX_BODY``)."""

    body: bytes
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    query: Mapping[str, str] = field(default_factory=dict)

    def fields(self) -> list[dict[str, Any]]:
        """The items of a JSON body (an object, a list of objects, or an object whose
        ``receipts`` or ``messages`` is that list) or the one item of a form body."""
        if "application/x-www-form-urlencoded" in self.content_type:
            try:
                pairs = parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                raise WebhookRefused("the form body cannot be read") from None
            return [dict(pairs)]
        try:
            document = json.loads(self.body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise WebhookRefused("the body is neither JSON nor a form") from None
        if isinstance(document, dict):
            listed = document.get("receipts", document.get("messages"))
            document = listed if isinstance(listed, list) else [document]
        if not isinstance(document, list) or not all(isinstance(i, dict) for i in document):
            raise WebhookRefused("the JSON body holds no object or list of objects")
        if not document or len(document) > MAX_ITEMS:
            raise WebhookRefused(f"a request carries 1 to {MAX_ITEMS} items")
        return document


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider's word on one message; ``reference`` is the idempotency key the gateway
    was given or the provider's message id."""

    reference: str
    status: str
    """``delivered``, ``undeliverable`` or ``pending``."""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A message someone sent to the installation's number."""

    sender: str
    text: str
    at: datetime | None = None


def receipt_status(word: Any) -> str:
    """A provider's status word in the platform's terms, or WebhookRefused naming it."""
    meaning = _STATUS.get(str(word).strip().lower())
    if meaning is None:
        raise WebhookRefused(f"unknown receipt status {str(word)[:40]!r}")
    return meaning


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (UTC if it names no zone) or Unix seconds; None when absent."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        if isinstance(value, int | float) or (str(value).isascii() and str(value).isdigit()):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        # in UTC here: a time whose UTC falls outside years 1-9999 cannot be stored
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRefused(f"{str(value)[:40]!r} is not a time") from None


def text_field(item: Mapping[str, Any], names: Iterable[str], limit: int = MAX_FIELD) -> str:
    """The first of ``names`` present in ``item``, as text of at most ``limit`` characters."""
    for name in names:
        value = item.get(name)
        if value not in (None, ""):
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise WebhookRefused(f"{name!r} must be text")
            text = str(value)
            if len(text) > limit:
                raise WebhookRefused(f"{name!r} is longer than {limit} characters")
            if "\0" in text or not _encodable(text):
                raise WebhookRefused(f"{name!r} holds a NUL or an invalid character")
            return text
    raise WebhookRefused(f"an item has no {' or '.join(repr(n) for n in names)}")


def standard_receipts(request: WebhookRequest) -> list[Receipt]:
    """Receipts in the platform's format: ``reference`` (or ``message_id``), ``status``,
    optional ``at``."""
    return [
        Receipt(
            text_field(item, ("reference", "message_id")),
            receipt_status(text_field(item, ("status",))),
            parse_time(item.get("at")),
        )
        for item in request.fields()
    ]


def standard_inbound(request: WebhookRequest) -> list[InboundSms]:
    """Inbound messages in the platform's format: ``from``, ``text``, optional ``at``."""
    return [
        InboundSms(
            text_field(item, ("from",)),
            text_field(item, ("text",), MAX_TEXT) if item.get("text") else "",
            parse_time(item.get("at")),
        )
        for item in request.fields()
    ]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Campaign-Signature`` value a provider (or a test) sends with ``body``."""
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def check_signature(request: WebhookRequest, secret: str, now: datetime) -> str | None:
    """The request's signature, which the caller must accept only once (None for a bearer
    secret, which cannot be told from its replay); WebhookRefused if neither holds."""
    header = request.headers.get(SIGNATURE_HEADER.lower())
    if header is not None:
        parts = dict(part.strip().partition("=")[::2] for part in header.split(","))
        stamp, given = parts.get("t", ""), parts.get("v1", "")
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12 or not given.isascii():
            raise WebhookRefused("malformed signature header", unauthenticated=True)
        if not hmac.compare_digest(given, _mac(secret, request.body, int(stamp))):
            raise WebhookRefused("wrong signature", unauthenticated=True)
        if abs(now.timestamp() - int(stamp)) > SIGNATURE_TOLERANCE.total_seconds():
            raise WebhookRefused("the signature has expired", unauthenticated=True)
        return given
    given_secret = _bearer_secret(request.headers.get("authorization", ""))
    if given_secret is not None and hmac.compare_digest(given_secret.encode(), secret.encode()):
        return None
    raise WebhookRefused("no valid signature or secret", unauthenticated=True)


def _bearer_secret(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def _encodable(text: str) -> bool:
    """False for lone surrogates (JSON's ``"\\ud800"``), which no database can store."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
