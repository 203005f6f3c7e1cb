"""Text-message rules every SMS action and gateway shares: numbers, encodings, segments, errors.

Providers bill per segment, so the segment count is computed exactly as handsets split a
message: GSM-7 (3GPP TS 23.038) when every character is in its alphabet, UCS-2 otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

from core.messages import ExplainedError, stored

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
"""Sent as an escape plus a character: two septets each."""

SINGLE = {"GSM-7": 160, "UCS-2": 70}
PER_PART = {"GSM-7": 153, "UCS-2": 67}
"""A concatenated message loses room to the user data header in every part."""

MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
"""FIXED_LINE_OR_MOBILE: numbering plans such as the US one do not tell the two apart."""

ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 .\-]{1,11}$")
NUMERIC_SENDER = re.compile(r"^\+?[0-9]{1,15}$")


@dataclass(frozen=True, slots=True)
class SmsEncoding:
    """How a text goes over the air; ``characters`` is what the limits count: septets for
    GSM-7 (an extension character is two), UTF-16 code units for UCS-2 (an emoji is two)."""

    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    segments: int


def encode_info(text: str) -> SmsEncoding:
    """Encoding, length and segment count of ``text`` (an empty text has none), the parts
    filled as handsets fill them: an escape or surrogate pair is never split."""
    gsm = all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
    encoding: Literal["GSM-7", "UCS-2"] = "GSM-7" if gsm else "UCS-2"
    weights = [2 if (char in GSM7_EXTENSION if gsm else ord(char) > 0xFFFF) else 1 for char in text]
    total = sum(weights)
    if total <= SINGLE[encoding]:
        return SmsEncoding(encoding, total, 1 if total else 0)
    limit, segments, used = PER_PART[encoding], 1, 0
    for weight in weights:
        if used + weight > limit:
            segments, used = segments + 1, 0
        used += weight
    return SmsEncoding(encoding, total, segments)


def normalise_mobile(raw: str | None, default_region: str = "DE") -> str:
    """The mobile number ``raw`` in E.164 ("+49 (0)171-…", "0049 171…", "0171/…" in
    ``default_region``), or an ExplainedError saying why it cannot get an SMS."""
    if raw is None or not str(raw).strip():
        raise ExplainedError(stored("no mobile number"))
    number = str(raw)
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        raise ExplainedError(stored("'{number}' is not a valid number", number=number)) from None
    # the type is only known for a number that fits its country's plan, so one look-up
    # answers both questions (``is_valid_number`` would match the plan's patterns again)
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.UNKNOWN:
        raise ExplainedError(stored("'{number}' is not a valid number", number=number))
    if kind == PhoneNumberType.FIXED_LINE:
        raise ExplainedError(stored("'{number}' is a landline, not a mobile number", number=number))
    if kind not in MOBILE_TYPES:
        label = PhoneNumberType.to_string(kind).lower().replace("_", " ")
        raise ExplainedError(
            stored("'{number}' is not a mobile number ({kind})", number=number, kind=label)
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def check_sender(sender: str) -> str:
    """``sender`` if networks accept it as originator, else an ExplainedError."""
    if ALPHANUMERIC_SENDER.match(sender) or NUMERIC_SENDER.match(sender):
        return sender
    raise ExplainedError(
        stored(
            "a sender is up to 11 letters, digits, spaces, '.' or '-' with at least one letter, "
            "or a number of up to 15 digits"
        )
    )
