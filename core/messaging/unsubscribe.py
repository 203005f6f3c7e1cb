"""One-click unsubscription (RFC 8058): signed per-recipient tokens.

Every campaign e-mail links ``<public URL>/u/<token>``; the token names contact, channel
and run, signed with the installation's key so nobody can make one for another contact. It
holds the day it was issued, not a time (a recipient gets the same link all day), and
expires after ``TOKEN_LIFETIME``, long enough for someone reading an old mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.clock import utcnow
from core.plugin_base import Channel

TOKEN_LIFETIME = timedelta(days=400)
PATH = "/u/"
SIGNATURE_BYTES = 16
MAX_ID = 2**31 - 1
"""The largest contact or run id (their columns are 32-bit integers)."""
_PURPOSE = b"campaign unsubscribe token"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidToken(ValueError):
    """The token is malformed, not signed by this installation, or expired."""


@dataclass(frozen=True, slots=True)
class UnsubscribeToken:
    contact_id: int
    channel: Channel
    run_id: int | None


def make_token(
    secret_key: str,
    contact_id: int,
    run_id: int | None,
    channel: Channel = Channel.EMAIL,
    issued: datetime | None = None,
) -> str:
    """The signed token of this contact, channel and run, issued ``issued`` (default now)."""
    day = ((issued or utcnow()) - _EPOCH).days
    run = base36(run_id) if run_id is not None else ""
    payload = f"{base36(contact_id)}.{run}.{channel.value}.{base36(day)}"
    return f"{payload}.{_signature(secret_key, payload)}"


def read_token(secret_key: str, token: str, now: datetime | None = None) -> UnsubscribeToken:
    """What a token names, or InvalidToken if it is not genuine or has expired."""
    payload, _, signature = token.rpartition(".")
    if (
        not token.isascii()
        or not payload
        or not hmac.compare_digest(signature, _signature(secret_key, payload))
    ):
        raise InvalidToken("the token is not genuine")
    try:
        contact, run, channel, day = payload.split(".")
        found = UnsubscribeToken(int(contact, 36), Channel(channel), int(run, 36) if run else None)
        issued = _EPOCH + timedelta(days=int(day, 36))
    except (ValueError, OverflowError):  # signed, but not by make_token: another key use
        raise InvalidToken("the token is malformed") from None
    if found.contact_id > MAX_ID or (found.run_id or 0) > MAX_ID:
        raise InvalidToken("the token names no row that can exist")
    if (now or utcnow()) - issued > TOKEN_LIFETIME:
        raise InvalidToken("the token has expired")
    return found


def unsubscribe_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + PATH + token


def _signature(secret_key: str, payload: str) -> str:
    digest = signed_digest(secret_key, _PURPOSE, payload)[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_digest(secret_key: str, purpose: bytes, payload: str) -> bytes:
    """HMAC-SHA256 of ``payload`` under a key of its own for each purpose of the secret key."""
    key = hmac.new(secret_key.encode(), purpose, hashlib.sha256).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def base36(number: int) -> str:
    if number < 0:
        raise ValueError("a token holds no negative numbers")
    head = base36(number // 36) if number >= 36 else ""
    return head + "0123456789abcdefghijklmnopqrstuvwxyz"[number % 36]
