"""A background beat that tells others a long piece of work (a large transfer) is still
alive, since claims (a ledger row, a delivery) are judged stale by their last sign of life."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

BEAT_SECONDS = 20.0
"""Well inside the two minutes after which a claim counts as a dead worker's."""


@contextmanager
def beating(beat: Callable[[], object], every: float | None = None) -> Iterator[None]:
    """Call ``beat`` every ``every`` seconds (``BEAT_SECONDS``) while the block runs; a
    failing beat is logged."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(BEAT_SECONDS if every is None else every):
            try:
                beat()
            except Exception:
                log.warning("a heartbeat failed", exc_info=True)

    thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
