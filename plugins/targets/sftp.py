"""Upload target "sftp": a directory on an SSH server (asyncssh).

The server must prove who it is: its public key (``host_key``), the key's fingerprint
(``host_key_fingerprint``, as ``ssh-keygen -lf`` prints it) or a ``known_hosts`` file;
only ``accept_unknown_host`` trusts any key, and then the key it saw is logged. The file
goes up under a hidden temporary name in the target directory, its size is checked on
the server, and only then is it renamed to its name, so a broken transfer never leaves a
partial file under the final name. Without ``overwrite`` the rename is SFTP's own, which
refuses an existing name; with it, OpenSSH's posix-rename replaces the file atomically.

If the connection breaks during the rename itself, nobody knows whether the server did
it: that is reported as unclear, never repeated. A transfer cut off earlier can leave the
temporary ``.NAME.XXXX.part`` file behind on the server; it is removed when possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import posixpath
import secrets
import threading
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from core import UploadTarget, UploadTargetParams, hookimpl
from core.messages import ExplainedError, stored_for
from core.uploads import Upload, UploadError, UploadUnclear
from plugins.targets import TRANSLATIONS

with warnings.catch_warnings():
    # asyncssh loads its DSA support on import, which cryptography 51 deprecates with a
    # warning that every command would print; no key of ours is a DSA key.
    warnings.filterwarnings("ignore", "DSA is deprecated")
    import asyncssh

log = logging.getLogger(__name__)
stored = stored_for(__name__)

KEEPALIVE_SECONDS = 15
KEEPALIVE_MISSES = 4
"""A silent server is given up after about a minute, even in the middle of a file."""
BLOCK_SIZE = 64 * 1024
REQUESTS_IN_FLIGHT = 32
"""At most 2 MiB on its way at a time: a server offering 4 MiB writes would otherwise have
the client hold 64 MiB of the file in memory."""
NO_TRUST = ((), (), ())
"""known_hosts with nothing in it: every key goes to the client's own check."""


class SftpParams(UploadTargetParams):
    host: str = Field(min_length=1, description="Server name or address.")
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretStr = Field(SecretStr(""), description="Password, if the server takes one.")
    password_env: str = Field(
        "", description="Environment variable holding the password, so it is not stored here."
    )
    private_key: SecretStr = Field(
        SecretStr(""), description="Private key (OpenSSH or PEM text) for key authentication."
    )
    private_key_path: str = Field("", description="File holding the private key instead.")
    private_key_passphrase: SecretStr = Field(SecretStr(""))
    directory: str = Field(".", description="Remote directory the files go into.")
    create_directory: bool = Field(False, description="Create the remote directory if missing.")
    overwrite: bool = Field(
        False, description="Replace a file of the same name; otherwise such a file is an error."
    )
    host_key: str = Field(
        "", description='The server\'s public key, e.g. "ssh-ed25519 AAAAC3Nza...".'
    )
    host_key_fingerprint: str = Field(
        "", description='Fingerprint of the server\'s key, e.g. "SHA256:47DEQpj8HBSa+/TImW+5J...".'
    )
    known_hosts: str = Field("", description="An OpenSSH known_hosts file to check the key with.")
    accept_unknown_host: bool = Field(
        False, description="Trust whatever key the server shows (not recommended)."
    )
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds to connect and log in.")

    @field_validator("host_key")
    @classmethod
    def _public_key(cls, value: str) -> str:
        if value:
            try:
                asyncssh.import_public_key(value)
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise ExplainedError(
                    stored("not an OpenSSH public key: {asyncssh_error}", asyncssh_error=str(exc))
                ) from None
        return value

    @field_validator("host_key_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        if value and not value.startswith(("SHA256:", "MD5:")):
            raise ValueError('a fingerprint starts with "SHA256:" (or "MD5:")')
        return value

    @model_validator(mode="after")
    def _complete(self) -> SftpParams:
        if self.password_env and self.password_env not in os.environ:
            raise ExplainedError(
                stored("the environment variable {name} is not set", name=self.password_env)
            )
        if self.private_key_path and not os.path.isfile(self.private_key_path):
            raise ExplainedError(
                stored("the private key file {path} does not exist", path=self.private_key_path)
            )
        if not (self.password_value or self.private_key.get_secret_value()) and not (
            self.private_key_path
        ):
            raise ValueError("needs a password, password_env, private_key or private_key_path")
        if not (self.host_key or self.host_key_fingerprint or self.known_hosts) and not (
            self.accept_unknown_host
        ):
            raise ValueError(
                "the server's key cannot be checked: set host_key, host_key_fingerprint or "
                "known_hosts (or accept_unknown_host to trust any key, not recommended)"
            )
        if self.known_hosts and not os.path.isfile(self.known_hosts):
            raise ExplainedError(
                stored("the known_hosts file {path} does not exist", path=self.known_hosts)
            )
        return self

    @property
    def password_value(self) -> str:
        if self.password_env:
            return os.environ[self.password_env]
        return self.password.get_secret_value()


class _CheckedClient(asyncssh.SSHClient):
    """Decides about the server's key with the target's settings and remembers what it saw."""

    def __init__(self, params: SftpParams):
        self.params = params
        self.presented: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        self.presented = fingerprint
        wanted = self.params
        if wanted.host_key and asyncssh.import_public_key(wanted.host_key) == key:
            return True
        if wanted.host_key_fingerprint:
            kind = "md5" if wanted.host_key_fingerprint.startswith("MD5:") else "sha256"
            if key.get_fingerprint(kind) == wanted.host_key_fingerprint:
                return True
        if wanted.accept_unknown_host:
            log.warning("sftp %s:%s: accepted the unknown host key %s", host, port, fingerprint)
            return True
        return False


class Sftp(UploadTarget):
    name = "sftp"
    title = "SFTP server"
    description = (
        "Uploads the file to a directory on an SSH server after checking the server's key, "
        "under a temporary name that is renamed once the whole file is there."
    )
    Params = SftpParams
    params: SftpParams

    def __init__(self, params: Any = None):
        super().__init__(params)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connection: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._client: _CheckedClient | None = None

    def where(self) -> str:
        p = self.params
        return f"sftp://{p.username}@{p.host}:{p.port}/{p.directory.lstrip('/')}"

    def upload(self, upload: Upload) -> str:
        return self._run(self._upload(upload))

    def close(self) -> None:
        if self._loop is None:
            return
        self._call(self._disconnect())
        loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    # --- the transfer --------------------------------------------------------------------

    async def _upload(self, upload: Upload) -> str:
        sftp = await self._connect()
        directory = self.params.directory
        final = posixpath.join(directory, upload.remote_name)
        temporary = posixpath.join(directory, f".{upload.remote_name}.{secrets.token_hex(4)}.part")
        try:
            if self.params.create_directory:
                await sftp.makedirs(directory, exist_ok=True)
            if not self.params.overwrite and await sftp.exists(final):
                raise _exists(final)
            await sftp.put(
                upload.path, temporary, block_size=BLOCK_SIZE, max_requests=REQUESTS_IN_FLIGHT
            )
            size = (await sftp.stat(temporary)).size
            if size != upload.size:
                raise UploadError(
                    f"the server holds {size} of the file's {upload.size} bytes", transient=True
                )
        except BaseException:
            await self._discard(temporary)
            raise
        try:
            if self.params.overwrite:
                await sftp.posix_rename(temporary, final)
            else:
                await sftp.rename(temporary, final)
        except asyncssh.SFTPError as exc:
            await self._discard(temporary)
            if isinstance(exc, asyncssh.SFTPFileAlreadyExists):
                raise _exists(final) from None
            raise
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            await self._disconnect()
            raise UploadUnclear(
                f"the connection broke while renaming the temporary file: {temporary}; "
                f"{_describe(exc)}; whether the server renamed it is unknown: {final}"
            ) from None
        return f"sftp://{self.params.host}:{self.params.port}/{final.lstrip('/')}"

    async def _discard(self, temporary: str) -> None:
        if self._sftp is None:
            return
        # Not there, or the connection is gone: nothing is under the final name either way.
        with contextlib.suppress(TimeoutError, OSError, asyncssh.Error):
            await asyncio.wait_for(self._sftp.remove(temporary), self.params.timeout)

    async def _connect(self) -> asyncssh.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        p = self.params
        client = self._client = _CheckedClient(p)
        keys = None
        if p.private_key.get_secret_value() or p.private_key_path:
            passphrase = p.private_key_passphrase.get_secret_value() or None
            source = p.private_key.get_secret_value() or Path(p.private_key_path).read_text()
            keys = [asyncssh.import_private_key(source, passphrase)]
        self._connection = await asyncssh.connect(
            p.host,
            p.port,
            username=p.username,
            password=p.password_value or None,
            client_keys=keys,
            agent_path=None,
            config=None,
            known_hosts=p.known_hosts or NO_TRUST,
            client_factory=lambda: client,
            connect_timeout=p.timeout,
            login_timeout=p.timeout,
            keepalive_interval=KEEPALIVE_SECONDS,
            keepalive_count_max=KEEPALIVE_MISSES,
        )
        self._sftp = await self._connection.start_sftp_client()
        return self._sftp

    async def _disconnect(self) -> None:
        connection, self._connection, self._sftp = self._connection, None, None
        if connection is not None:
            connection.close()
            with contextlib.suppress(TimeoutError, OSError, asyncssh.Error):
                await asyncio.wait_for(connection.wait_closed(), 5)

    def _call(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Run ``work`` on the target's own event loop, in a thread of its own: the transfer
        works the same whether or not the calling thread already runs an event loop."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            loop.set_exception_handler(_unread_task_error)
            thread = threading.Thread(target=loop.run_forever, name="sftp-target", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def _run(self, work: Coroutine[Any, Any, str]) -> str:
        try:
            return self._call(work)
        except UploadError:
            raise
        except asyncssh.HostKeyNotVerifiable:
            self._call(self._disconnect())
            presented = self._client.presented if self._client else None
            raise UploadError(
                "the server's host key is not trusted (check host_key / host_key_fingerprint "
                "/ known_hosts)" + (f": {presented}" if presented else "")
            ) from None
        except asyncssh.PermissionDenied:
            self._call(self._disconnect())
            raise UploadError(
                "authentication failed (wrong password or key or the user may not log in): "
                + self.params.username
            ) from None
        except asyncssh.SFTPError as exc:
            self._call(self._disconnect())
            raise UploadError(
                f"the server refused: {exc.reason or type(exc).__name__}",
                transient=isinstance(exc, asyncssh.SFTPFailure),
            ) from None
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            self._call(self._disconnect())
            raise UploadError(_describe(exc), transient=True) from None


def _exists(final: str) -> UploadError:
    return UploadError(f"already exists on the server (overwrite is off): {final}")


def _unread_task_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """When one of the parallel writes of a transfer fails, asyncssh raises its error and
    leaves those of the others unread; they repeat it, so they are only worth a debug line."""
    log.debug("sftp: %s: %r", context.get("message"), context.get("exception"))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    reason = getattr(exc, "reason", None) or str(exc)
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__


@hookimpl
def register_upload_targets(register: Callable[[type[UploadTarget]], Any]) -> None:
    register(Sftp)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
