"""Sending e-mail: the installation's SMTP server, or an outbox directory in development.

``open_mailer(settings)`` gives the mailer every sender of the platform uses (the e-mail
action, the notifications of the campaign processes). An ``SmtpMailer`` keeps **one**
connection for as many messages as it sends: connected on first use (plain, STARTTLS or
implicit TLS, the certificate verified against the system's or a given CA file, then the
login) and connected again when the server dropped it. A server that offers PIPELINING
(RFC 2920) gets ``MAIL``, ``RCPT`` and ``DATA`` in one write, so a message costs two round
trips instead of four: with a server 10 ms away, the difference between 25 and 50 messages
per second and connection.

What a failure means for one message is decided by when it happened:

- before the message's content was sent (connecting, ``MAIL``, ``RCPT``, ``DATA``): the
  message was not sent. A connection the server dropped, or a ``421`` ("closing"), is
  connected again and the message tried once more; any refusal is a ``NotSentError``
  with the server's answer. One refused recipient of several fails only that recipient.
- after the content was sent and before the server's answer (the connection ended, or
  no answer within the timeout): the server may have taken the message, so it is a
  ``MaybeSentError``, never sent again here.

A server that cannot be reached is not tried again for ``RECONNECT_PAUSE`` seconds: the
messages meanwhile fail at once with the same reason instead of each waiting for a timeout.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import time
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

from core.config import MailServer, Settings
from core.documents.archive import write_atomically
from core.messaging.mail import Mail
from core.messaging.sending import MaybeSentError, NotSentError

log = logging.getLogger(__name__)

RECONNECT_PAUSE = 10.0
ACCEPTED = (250, 251)
CLOSING = 421
_LINE_START_DOT = re.compile(rb"(?m)^\.")
_NOT_FILENAME = re.compile(r"[^A-Za-z0-9._=@-]")


class Mailer(ABC):
    """Sends messages one by one; use it as a context manager or call ``close``."""

    @abstractmethod
    def send(self, message: Mail) -> dict[str, str]:
        """Send ``message``; return the recipients refused (address: the server's answer).

        Raises ``NotSentError`` when nothing was sent (every recipient refused included)
        and ``MaybeSentError`` when the message may have been sent.
        """

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection, if there is one."""

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _NothingSent(Exception):
    """The connection ended before the message's content went out: safe to try again."""


class SmtpMailer(Mailer):
    def __init__(self, server: MailServer):
        self.server = server
        self.connections = 0
        """How many connections this mailer opened (one, unless the server dropped it)."""
        self._connection: smtplib.SMTP | None = None
        self._unreachable: tuple[float, str] | None = None

    def send(self, message: Mail) -> dict[str, str]:
        sender, recipients = message.sender, list(message.recipients)
        data, utf8 = message.data, message.smtputf8
        try:
            return self._transaction(self._connect(), sender, recipients, data, utf8)
        except _NothingSent as exc:
            self._discard()
            log.info("mail server %s ended the connection (%s); connecting again", self._where, exc)
        try:
            return self._transaction(self._connect(), sender, recipients, data, utf8)
        except _NothingSent as exc:
            self._discard()
            raise NotSentError(f"the mail server ended the connection: {exc}") from None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()

    @property
    def _where(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        if self._unreachable and time.monotonic() - self._unreachable[0] < RECONNECT_PAUSE:
            raise NotSentError(self._unreachable[1])
        server = self.server
        context = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
        connection: smtplib.SMTP | None = None
        try:
            if server.security == "tls":
                connection = smtplib.SMTP_SSL(
                    server.host,
                    server.port,
                    local_hostname=socket.gethostname(),
                    timeout=server.timeout,
                    context=context,
                )
            else:
                connection = smtplib.SMTP(
                    server.host,
                    server.port,
                    local_hostname=socket.gethostname(),
                    timeout=server.timeout,
                )
            connection.ehlo()
            if server.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise NotSentError(
                        f"the mail server {self._where} does not offer STARTTLS "
                        "(use ?starttls=0 only for a relay you trust)"
                    )
                connection.starttls(context=context)
                connection.ehlo()
            if server.username:
                connection.login(server.username, server.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            reason = f"the mail server {self._where} refused the login: {_answer(exc)}"
            self._give_up(connection, reason)
        except ssl.SSLCertVerificationError as exc:
            reason = f"the certificate of the mail server {self._where} is not trusted: {exc}"
            self._give_up(connection, reason)
        except NotSentError as exc:
            self._give_up(connection, str(exc))
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"cannot connect to the mail server {self._where}: {_answer(exc)}"
            self._give_up(connection, reason)
        self._unreachable = None
        self.connections += 1
        self._connection = connection
        return connection

    def _give_up(self, connection: smtplib.SMTP | None, reason: str) -> None:
        if connection is not None:
            connection.close()
        self._unreachable = (time.monotonic(), reason)
        raise NotSentError(reason)

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _transaction(
        self,
        connection: smtplib.SMTP,
        sender: str,
        recipients: list[str],
        data: bytes,
        utf8: bool,
    ) -> dict[str, str]:
        if utf8 and not connection.has_extn("smtputf8"):
            raise NotSentError(
                f"the mail server {self._where} does not take non-ASCII addresses (no SMTPUTF8)"
            )
        try:
            if connection.has_extn("pipelining"):
                refused = self._pipelined_envelope(connection, sender, recipients, utf8)
            else:
                refused = self._envelope(connection, sender, recipients, utf8)
            # a message cut short is never delivered: until its last byte is out, retrying
            # on a new connection is safe
            ending = b"" if data.endswith(b"\r\n") else b"\r\n"
            connection.send(_LINE_START_DOT.sub(b"..", data) + ending + b".\r\n")
        except smtplib.SMTPServerDisconnected as exc:
            raise _NothingSent(str(exc)) from None
        try:
            code, answer = connection.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            raise MaybeSentError(
                f"the connection to {self._where} ended before the server confirmed the "
                f"message: {exc}"
            ) from None
        if code != 250:
            if code == CLOSING:
                self._discard()
            raise NotSentError(f"the mail server refused the message: {_text(code, answer)}")
        return refused

    def _envelope(
        self, connection: smtplib.SMTP, sender: str, recipients: list[str], utf8: bool
    ) -> dict[str, str]:
        """MAIL, each RCPT and DATA, each waiting for its answer; returns the refused
        recipients once the server waits for the content."""
        code, answer = connection.mail(sender, ["SMTPUTF8"] if utf8 else [])
        self._check(connection, code, answer, f"refused the sender {sender}")
        refused = {}
        for recipient in recipients:
            code, answer = connection.rcpt(recipient)
            if code == CLOSING:
                raise _NothingSent(_text(code, answer))
            if code not in ACCEPTED:
                refused[recipient] = _text(code, answer)
        self._check_recipients(connection, refused, recipients)
        code, answer = connection.docmd("DATA")
        if code != 354:
            self._check(connection, code, answer, "refused the message")
        return refused

    def _pipelined_envelope(
        self, connection: smtplib.SMTP, sender: str, recipients: list[str], utf8: bool
    ) -> dict[str, str]:
        """The same in one round trip (RFC 2920 PIPELINING): MAIL, RCPT and DATA are sent
        together and their answers read afterwards."""
        lines = [
            f"MAIL FROM:{smtplib.quoteaddr(sender)}{' SMTPUTF8' if utf8 else ''}",
            *(f"RCPT TO:{smtplib.quoteaddr(recipient)}" for recipient in recipients),
            "DATA",
        ]
        connection.send(
            "".join(f"{line}\r\n" for line in lines).encode("utf-8" if utf8 else "ascii")
        )
        (mail_code, mail_answer), *answers, (data_code, data_answer) = [
            connection.getreply() for _ in lines
        ]
        if CLOSING in (mail_code, data_code, *(code for code, _ in answers)):
            raise _NothingSent("421 the server is closing the connection")
        refused = {
            recipient: _text(code, answer)
            for recipient, (code, answer) in zip(recipients, answers, strict=True)
            if code not in ACCEPTED
        }
        if data_code == 354 and (mail_code not in ACCEPTED or len(refused) == len(recipients)):
            connection.send(b".\r\n")  # a server that should not have started a message
            connection.getreply()
        self._check(connection, mail_code, mail_answer, f"refused the sender {sender}")
        self._check_recipients(connection, refused, recipients)
        if data_code != 354:
            self._check(connection, data_code, data_answer, "refused the message")
        return refused

    def _check_recipients(
        self, connection: smtplib.SMTP, refused: dict[str, str], recipients: list[str]
    ) -> None:
        if len(refused) == len(recipients):
            self._reset(connection)
            listed = "; ".join(f"{address}: {why}" for address, why in refused.items())
            raise NotSentError(f"the mail server refused the recipient {listed}")

    def _check(self, connection: smtplib.SMTP, code: int, answer: bytes, what: str) -> None:
        text = _text(code, answer)
        if code == CLOSING:
            raise _NothingSent(text)
        if code not in ACCEPTED:
            self._reset(connection)
            raise NotSentError(f"the mail server {what}: {text}")

    def _reset(self, connection: smtplib.SMTP) -> None:
        """Abandon the transaction; a connection that cannot even do that is dropped."""
        try:
            connection.rset()
        except (OSError, smtplib.SMTPException):
            self._discard()


def _text(code: int, answer: bytes) -> str:
    return f"{code} {answer.decode(errors='replace')}"


def _answer(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"{error.smtp_code} {text}"
    return str(error) or type(error).__name__


class OutboxMailer(Mailer):
    """Development: every message becomes ``<Message-ID>.eml`` in a directory.

    A message whose Message-ID is already there is not written again, as a server that
    deduplicates by Message-ID would do, so a retried send leaves one file.
    """

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: Mail) -> dict[str, str]:
        if not message.message_id:
            raise ValueError("an outbox message needs a Message-ID")
        name = _NOT_FILENAME.sub("_", message.message_id.strip("<> "))[:200] + ".eml"
        path = self.directory / name
        if not path.exists():
            write_atomically(path, message.data)
        return {}

    def close(self) -> None:
        """Nothing is held open between messages."""


def open_mailer(settings: Settings) -> Mailer:
    """The installation's mail server, or the outbox under the data directory without one."""
    if settings.mail_server is None:
        return OutboxMailer(outbox_directory(settings))
    return SmtpMailer(settings.mail_server)


def outbox_directory(settings: Settings) -> Path:
    return settings.data_dir / "outbox" / "mail"


__all__ = ["Mailer", "OutboxMailer", "SmtpMailer", "open_mailer", "outbox_directory"]
