"""What a sender of messages (an SMS provider, a mail server) can tell about one message.

A refusal means the message was not sent and may be retried by a human (the row fails);
doubt means it may have been sent, so it is reported and never sent again silently (the
row becomes unclear).
"""

from __future__ import annotations


class NotSentError(Exception):
    """The receiver did not take the message: it was not sent."""


class MaybeSentError(Exception):
    """The receiver may or may not have taken the message: report it, never resend silently."""


def ledger_reference(run_id: int | None, key: str) -> str:
    """The idempotency key of one ledger row: the same for every attempt and every retry."""
    return f"run{run_id}-{key}"
