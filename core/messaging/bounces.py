"""The bounce address of one campaign message, VERP (``bounces+<token>@domain``): the e-mail
action sends with it as the envelope sender, and the token, signed like the unsubscribe
tokens, tells the workflow inboundMail which run and contact a bounce is about."""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass

from core.messaging.unsubscribe import base36, signed_digest

VERP_SEPARATOR = "+"
TOKEN_SIGNATURE_BYTES = 10
_TOKEN_PURPOSE = b"campaign bounce token"
_TOKEN = re.compile(r"([0-9a-z]{1,13})-([0-9a-z]{1,13})-([a-z2-7]{16})")


@dataclass(frozen=True, slots=True)
class BounceToken:
    run_id: int
    contact_id: int


def make_bounce_token(secret_key: str, run_id: int, contact_id: int) -> str:
    """``<run>-<contact>-<signature>`` in lower-case letters and digits: mail systems may
    change the case of a local part, so the token survives that."""
    payload = f"{base36(run_id)}-{base36(contact_id)}"
    return f"{payload}-{_token_signature(secret_key, payload)}"


def read_bounce_token(secret_key: str, text: str) -> BounceToken | None:
    """The run and contact of a genuine token, else None."""
    match = _TOKEN.fullmatch(text.strip().lower())
    if match is None:
        return None
    payload = f"{match[1]}-{match[2]}"
    if not hmac.compare_digest(match[3], _token_signature(secret_key, payload)):
        return None
    return BounceToken(int(match[1], 36), int(match[2], 36))


def verp_address(bounce_address: str, token: str) -> str:
    """``bounces@example.de`` with a token: ``bounces+<token>@example.de``."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}{VERP_SEPARATOR}{token}@{domain}"


def verp_token(address: str, bounce_address: str) -> str | None:
    """The token of a VERP address made from ``bounce_address``, else None."""
    local, _, domain = address.strip().lower().rpartition("@")
    base_local, _, base_domain = bounce_address.lower().rpartition("@")
    prefix = base_local + VERP_SEPARATOR
    if domain != base_domain or not local.startswith(prefix):
        return None
    return local[len(prefix) :]


def _token_signature(secret_key: str, payload: str) -> str:
    digest = signed_digest(secret_key, _TOKEN_PURPOSE, payload)[:TOKEN_SIGNATURE_BYTES]
    return base64.b32encode(digest).decode().lower()
