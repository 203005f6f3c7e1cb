"""What a sender of messages (an SMS provider, a mail server) can tell about one message.

A refusal means the message was not sent and may be retried by a human (the row fails);
doubt means it may have been sent, so it is reported and never sent again silently (the
row becomes unclear).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class NotSentError(Exception):
    """The receiver did not take the message: it was not sent."""


class MaybeSentError(Exception):
    """The receiver may or may not have taken the message: report it, never resend silently."""


def ledger_reference(run_id: int | None, key: str) -> str:
    """The idempotency key of one ledger row: the same for every attempt and every retry."""
    return f"run{run_id}-{key}"


class SendingThread:
    """Sends on a thread of its own, in the order given, while the caller prepares the next
    message: a channel's round trip to its receiver then overlaps the work of composing,
    instead of adding to it (``Action.process_many``). The thread starts on first use, in
    the process that sends (a work horse, never the worker it was forked from); an action
    sends every message through it, so only it ever uses the sender's connection."""

    def __init__(self, name: str):
        self.name = name
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, send: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        return self._executor.submit(send, *args)
