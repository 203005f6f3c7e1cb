"""Real receivers on 127.0.0.1 for the upload tests: an HTTP server that records what it is
sent, and an SSH server (asyncssh) with SFTP into a directory of the test's own."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncssh

from waiting import DEADLINE

HOLD_LIMIT_SECONDS = 60
"""A held answer is given at the latest after this long, so no test can hang on it."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    complete: bool


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (a timeout, a killed worker) is expected here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_PUT(self):
        self.server.receiver.handle(self)

    do_POST = do_PUT

    def log_message(self, format, *args):
        pass


class RecordingHttpServer:
    """Records every request and answers as scripted, then with 201 for everything.

    Answers: ``("status", code[, headers])``; ``("slow", seconds)`` (stores the file and
    answers 201 late); ``("hold",)`` (reads the whole body, then answers only when
    ``release()`` is called); ``("cut", n)`` (reads n bytes of the body and closes the
    connection without an answer). Files answered with 2xx are kept in ``files`` by path.
    """

    def __init__(self):
        self.requests: list[Received] = []
        self.files: dict[str, bytes] = {}
        self.script: list[tuple] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.receiver = self
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/inbox/{file}") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, *answers: tuple) -> None:
        with self.lock:
            self.script.extend(answers)

    def release(self) -> None:
        self.released.set()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", 0))
        with self.lock:
            answer = self.script.pop(0) if self.script else ("status", 201)
        wanted = answer[1] if answer[0] == "cut" else length
        body = handler.rfile.read(wanted)
        with self.lock:
            self.requests.append(
                Received(
                    handler.command,
                    handler.path,
                    dict(handler.headers),
                    body,
                    len(body) == length,
                )
            )
        kind = answer[0]
        if kind == "cut":
            handler.close_connection = True
            return
        if kind == "slow":
            time.sleep(answer[1])
        if kind == "hold":
            self.released.wait(HOLD_LIMIT_SECONDS)
        status = answer[1] if kind == "status" else 201
        headers = answer[2] if kind == "status" and answer[2:] else {}
        if 200 <= status < 300:
            with self.lock:
                self.files[handler.path] = body
        payload = b"stored" if status < 300 else b"scripted failure"
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the client is gone

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class _Accounts(asyncssh.SSHServer):
    def __init__(self, passwords: dict[str, str], keys: dict[str, list[asyncssh.SSHKey]]):
        self.passwords = passwords
        self.keys = keys

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.passwords.get(username) == password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return key in self.keys.get(username, [])


class _RootedSftp(asyncssh.SFTPServer):
    """SFTP into the test's directory that notes the files it opens and renames; with
    ``quota`` set, writes past it fail, and with ``drop_after`` the connection is cut once
    that many bytes have been written."""

    quota: int | None = None
    drop_after: int | None = None
    operations: list[tuple[str, ...]]

    def open(self, path, pflags, attrs):
        self.operations.append(("open", path.decode()))
        return super().open(path, pflags, attrs)

    def rename(self, oldpath, newpath):
        self.operations.append(("rename", oldpath.decode(), newpath.decode()))
        return super().rename(oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        self.operations.append(("posix_rename", oldpath.decode(), newpath.decode()))
        return super().posix_rename(oldpath, newpath)

    def write(self, file_obj, offset, data):
        end = offset + len(data)
        if self.drop_after is not None and end > self.drop_after:
            self.connection.abort()
            raise asyncssh.SFTPConnectionLost("connection dropped by the test server")
        if self.quota is not None and end > self.quota:
            raise asyncssh.SFTPFailure("quota exceeded")
        return super().write(file_obj, offset, data)


class SftpTestServer:
    """An SSH server with SFTP on a free loopback port, in a thread of its own."""

    def __init__(self, root: Path, passwords: dict[str, str], keys=None):
        self.root = root
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.quota: int | None = None
        self.drop_after: int | None = None
        self.operations: list[tuple[str, ...]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def listen() -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                lambda: _Accounts(passwords, keys or {}),
                "127.0.0.1",
                0,
                server_host_keys=[self.host_key],
                sftp_factory=self._sftp,
            )

        self.server = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(30)
        self.port = self.server.sockets[0].getsockname()[1]

    def _sftp(self, channel):
        session = _RootedSftp(channel, chroot=str(self.root).encode())
        session.quota, session.drop_after = self.quota, self.drop_after
        session.operations = self.operations
        return session

    @property
    def public_key(self) -> str:
        return self.host_key.export_public_key().decode().strip()

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def files(self) -> dict[str, bytes]:
        return {
            str(path.relative_to(self.root)): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
        }

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(DEADLINE)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(DEADLINE)
        self.loop.close()
