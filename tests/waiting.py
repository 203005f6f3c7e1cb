"""Waiting in tests: poll the condition until a generous deadline, never a fixed sleep, so a
loaded machine makes a test slower, not red."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

DEADLINE = 180.0
"""Seconds; at least 120 everywhere (another process may hold both cores meanwhile)."""
POLL = 0.1

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], what: str, timeout: float = DEADLINE, log: Path | None = None
) -> T:
    """The first true value of ``condition()``; fails naming ``what`` after ``timeout``."""
    value = poll(condition, timeout)
    if not value:
        tail = f"; log:\n{log.read_text()[-3000:]}" if log is not None and log.exists() else ""
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
    return value


def poll(condition: Callable[[], T], timeout: float = DEADLINE) -> T:
    """The first true value of ``condition()``, or its last after ``timeout``: for code that
    runs in a worker or a job on behalf of a test, where failing the test is not its part."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() <= deadline:
        time.sleep(POLL)
    return value


def wait_for_exit(process: subprocess.Popen, what: str = "the process to exit") -> int:
    """Its exit code, polled for with the deadline."""
    return wait_for(lambda: process.poll() is not None, what) and process.returncode


def stop_group(process: subprocess.Popen) -> int:
    """SIGTERM a process started in a session of its own and wait for it; SIGKILL and fail
    only if it is still there after the deadline."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return wait_for_exit(process, f"process {process.pid} to stop after SIGTERM")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
