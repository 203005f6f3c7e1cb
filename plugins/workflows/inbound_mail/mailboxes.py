"""Reading the inbound mailbox: a maildir folder or an IMAP server's folder.

Both give the messages waiting (``waiting``: an id, the size, the first ``MAX_MESSAGE``
bytes) and take away the ones processed (``done``), so a message is not processed twice:

- maildir: new messages are files in ``new/``; a processed one moves to ``cur/`` with the
  "seen" flag (``<name>:2,S``), as a mail program files a message it has shown.
- IMAP: the folder read (``INBOX``) holds only what is waiting; a processed message moves
  to the processed folder (``MOVE``, RFC 6851; without it ``COPY``, ``\\Deleted`` and
  ``EXPUNGE``), created when missing. Bodies are fetched with ``BODY.PEEK`` (no flag set)
  and only up to ``MAX_MESSAGE`` bytes.

A message larger than ``MAX_MESSAGE`` is read only that far: a bounce's report comes
before the returned message, so the part read is enough to classify it.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote

from core.config import (
    PREFIX,
    SWITCHES,
    ConfigError,
    checked_ca_file,
    split_url,
    url_options,
    url_timeout,
    without_password,
)
from core.messages import StoredText, stored_for

MAX_MESSAGE = 256 * 1024
"""Bytes of one message read at most: a batch of 200 holds at most 50 MiB."""
BATCH = 200
"""Messages fetched from an IMAP server in one command."""
SEEN = ":2,S"
_FETCHED = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
IMAP_PORTS = {"plain": 143, "starttls": 143, "tls": 993}
DEFAULT_PROCESSED_FOLDER = "Processed"


@dataclass(frozen=True, slots=True)
class InboundMailbox:
    """The mailbox bounces and replies arrive in (``CAMPAIGN_INBOUND_URL``): a maildir
    folder (``path``; the development default) or an IMAP server's folder."""

    kind: str
    """``maildir`` or ``imap``."""
    path: Path | None = None
    host: str = ""
    port: int = 0
    security: str = "tls"
    """``tls`` (``imaps://``), ``starttls`` (``imap://``, the default) or ``plain``."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    folder: str = "INBOX"
    processed_folder: str = DEFAULT_PROCESSED_FOLDER
    timeout: float = 30.0
    ca_file: Path | None = None


def configured_mailbox(data_dir: Path, environ: Mapping[str, str] | None = None) -> InboundMailbox:
    """The mailbox of ``CAMPAIGN_INBOUND_URL`` (its CA certificates from
    ``CAMPAIGN_INBOUND_CA_FILE``), read from the environment when a pass needs it; unset: the
    maildir ``<data_dir>/inbound/mail`` (development). A bad value is a ``ConfigError``
    that names the variable."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(PREFIX + name, "").strip() or None

    ca_file = checked_ca_file(get("INBOUND_CA_FILE"), "INBOUND_CA_FILE")
    configured = _inbound_mailbox(get("INBOUND_URL"), ca_file)
    return configured or InboundMailbox("maildir", data_dir / "inbound" / "mail")


def _inbound_mailbox(raw: str | None, ca_file: Path | None) -> InboundMailbox | None:
    """``maildir:///var/mail/campaign`` or ``imaps://user:pass@host/INBOX?processed=Done``
    (``imap://`` with STARTTLS, ``?starttls=0`` plain for a server you trust)."""
    if raw is None:
        return None
    variable = PREFIX + "INBOUND_URL"
    url, port = split_url(variable, raw)
    shown = without_password(raw)
    if url.scheme == "maildir":
        if not url.path or url.netloc:
            raise ConfigError(variable, f"{shown!r}: write maildir:///absolute/path")
        return InboundMailbox("maildir", Path(unquote(url.path)))
    if url.scheme not in ("imap", "imaps"):
        raise ConfigError(variable, f"{shown!r} is not a maildir://, imap:// or imaps:// URL")
    if not url.hostname or not url.username:
        raise ConfigError(variable, f"{shown!r} names no host or no user")
    options = url_options(variable, url, ("starttls", "timeout", "processed"))
    security = "tls" if url.scheme == "imaps" else "starttls"
    if "starttls" in options:
        switch = SWITCHES.get(options["starttls"].lower())
        if switch is None or url.scheme == "imaps":
            raise ConfigError(variable, f"starttls={options['starttls']!r} is not 1 or 0 (imap://)")
        security = "starttls" if switch else "plain"
    timeout = url_timeout(variable, options)
    folder = unquote(url.path.strip("/")) or "INBOX"
    processed = options.get("processed") or DEFAULT_PROCESSED_FOLDER
    if processed == folder:
        raise ConfigError(variable, "the processed folder must differ from the folder read")
    return InboundMailbox(
        "imap",
        host=url.hostname,
        port=port or IMAP_PORTS[security],
        security=security,
        username=unquote(url.username),
        password=unquote(url.password) if url.password is not None else None,
        folder=folder,
        processed_folder=processed,
        timeout=timeout,
        ca_file=ca_file,
    )


stored = stored_for(__name__)


class MailboxError(Exception):
    """The mailbox cannot be read (not reachable, refused login, no such folder): ``str()``
    is ``problem``'s English, then the server's or the library's own words; the panel finds
    the problem's message id by its quoted values and translates it (``webapp.i18n``)."""

    def __init__(self, problem: StoredText, answer: object) -> None:
        super().__init__(f"{problem.english()}: {answer}")


@dataclass(frozen=True, slots=True)
class Waiting:
    """One message in the mailbox: ``data`` is at most ``MAX_MESSAGE`` bytes of ``size``."""

    id: str
    size: int
    data: bytes


class Mailbox(ABC):
    @abstractmethod
    def waiting(self, limit: int) -> Iterator[list[Waiting]]:
        """The messages waiting, at most ``limit``, in batches."""

    @abstractmethod
    def done(self, ids: list[str]) -> None:
        """Move these messages out of the folder read."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection, if any."""

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Maildir(Mailbox):
    """A maildir folder (``new/``, ``cur/``, ``tmp/``), created when missing."""

    def __init__(self, path: Path, batch: int = BATCH):
        self.path = path
        self.batch = batch
        for sub in ("new", "cur", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)

    def waiting(self, limit: int) -> Iterator[list[Waiting]]:
        names = sorted(entry.name for entry in os.scandir(self.path / "new") if entry.is_file())
        names = [name for name in names if not name.startswith(".")][:limit]
        for start in range(0, len(names), self.batch):
            batch = []
            for name in names[start : start + self.batch]:
                try:
                    with open(self.path / "new" / name, "rb") as handle:
                        size = os.fstat(handle.fileno()).st_size
                        batch.append(Waiting(name, size, handle.read(MAX_MESSAGE)))
                except FileNotFoundError:  # taken by another reader meanwhile
                    continue
            yield batch

    def done(self, ids: list[str]) -> None:
        for name in ids:
            base = name.split(":", 1)[0]
            try:
                os.replace(self.path / "new" / name, self.path / "cur" / (base + SEEN))
            except FileNotFoundError:
                continue

    def close(self) -> None:
        """A folder holds nothing open."""


class Imap(Mailbox):
    """A folder on an IMAP server; one connection for the whole pass."""

    def __init__(self, config: InboundMailbox, batch: int = BATCH):
        self.config = config
        self.batch = batch
        self._connection: imaplib.IMAP4 | None = None
        self._can_move = False

    @property
    def _where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def _connect(self) -> imaplib.IMAP4:
        if self._connection is not None:
            return self._connection
        config = self.config
        context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        try:
            if config.security == "tls":
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    config.host, config.port, ssl_context=context, timeout=config.timeout
                )
            else:
                connection = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
                if config.security == "starttls":
                    connection.starttls(context)
            connection.login(config.username or "", config.password or "")
            self._select(connection)
            self._ensure_folder(connection, config.processed_folder)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise MailboxError(
                stored("cannot read the mailbox at '{where}'", where=self._where), exc
            ) from None
        status, answer = connection.capability()  # they may change with the login
        self._can_move = status == "OK" and b"MOVE" in b" ".join(answer).upper().split()
        self._connection = connection
        return connection

    def _select(self, connection: imaplib.IMAP4) -> None:
        status, answer = connection.select(_quoted(self.config.folder))
        if status != "OK":
            raise MailboxError(
                stored(
                    "no folder '{folder}' at '{where}'",
                    folder=self.config.folder,
                    where=self._where,
                ),
                answer,
            )

    @staticmethod
    def _ensure_folder(connection: imaplib.IMAP4, folder: str) -> None:
        status, listed = connection.list('""', _quoted(folder))
        if status == "OK" and any(listed):
            return
        status, answer = connection.create(_quoted(folder))
        if status != "OK":
            raise MailboxError(stored("cannot create the folder '{folder}'", folder=folder), answer)

    def waiting(self, limit: int) -> Iterator[list[Waiting]]:
        connection = self._connect()
        status, answer = connection.uid("SEARCH", "UNDELETED")
        if status != "OK":
            raise MailboxError(
                stored("searching '{folder}' failed", folder=self.config.folder), answer
            )
        uids = answer[0].split()[:limit] if answer and answer[0] else []
        for start in range(0, len(uids), self.batch):
            chunk = b",".join(uids[start : start + self.batch]).decode()
            status, fetched = connection.uid(
                "FETCH", chunk, f"(UID RFC822.SIZE BODY.PEEK[]<0.{MAX_MESSAGE}>)"
            )
            if status != "OK":
                raise MailboxError(stored("fetching messages failed"), fetched)
            batch = []
            for item in fetched:
                if not isinstance(item, tuple):
                    continue
                head, data = item
                uid, size = _FETCHED.search(head), _SIZE.search(head)
                if uid is None:
                    continue
                batch.append(Waiting(uid[1].decode(), int(size[1]) if size else len(data), data))
            yield batch

    def done(self, ids: list[str]) -> None:
        if not ids:
            return
        connection = self._connect()
        uids = ",".join(ids)
        target = _quoted(self.config.processed_folder)
        if self._can_move:
            status, answer = connection.uid("MOVE", uids, target)
        else:
            status, answer = connection.uid("COPY", uids, target)
            if status == "OK":
                status, answer = connection.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")
            if status == "OK":
                status, answer = connection.expunge()
        if status != "OK":
            raise MailboxError(
                stored("moving messages to '{folder}' failed", folder=self.config.processed_folder),
                answer,
            )

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            connection.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def open_mailbox(config: InboundMailbox) -> Mailbox:
    if config.kind == "imap":
        return Imap(config)
    return Maildir(config.path)


__all__ = [
    "MAX_MESSAGE",
    "Imap",
    "InboundMailbox",
    "Mailbox",
    "MailboxError",
    "Maildir",
    "Waiting",
    "configured_mailbox",
    "open_mailbox",
]
