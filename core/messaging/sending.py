"""What a sender of messages (an SMS provider, a mail server) can tell about one message:
a refusal fails the row (a human may retry it), doubt makes it unclear (never resent)."""

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
    """Sends on a thread of its own, in order, while the caller composes the next message, so
    the round trip overlaps the composing (``Action.process_many``). Started on first use,
    in the process that sends (not the worker it was forked from); the only thread that uses
    the sender's connection."""

    def __init__(self, name: str):
        self.name = name
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, send: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        return self._executor.submit(send, *args)
