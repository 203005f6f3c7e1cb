"""One-click unsubscription (RFC 8058): signed per-recipient tokens.

Every campaign e-mail carries a link ``<public URL>/u/<token>``; the token names the contact,
the channel and the run, and is signed with the installation's secret key (HMAC-SHA256), so
nobody can make one for another contact or change what it names. A token expires after
``TOKEN_LIFETIME``, long enough for someone reading an old mail. It holds the day it was
issued, not a time: the same recipient gets the same link in every message of a day.
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
    payload = ".".join(
        (
            base36(contact_id),
            base36(run_id) if run_id is not None else "",
            channel.value,
            base36(day),
        )
    )
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
    contact, run, channel, day = payload.split(".")
    issued = _EPOCH + timedelta(days=int(day, 36))
    if (now or utcnow()) - issued > TOKEN_LIFETIME:
        raise InvalidToken("the token has expired")
    return UnsubscribeToken(int(contact, 36), Channel(channel), int(run, 36) if run else None)


def unsubscribe_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + PATH + token


def _signature(secret_key: str, payload: str) -> str:
    key = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def base36(number: int) -> str:
    if number < 0:
        raise ValueError("a token holds no negative numbers")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text
