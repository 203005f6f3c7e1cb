"""Sending e-mail: the installation's SMTP server, or an outbox directory in development.

An ``SmtpMailer`` keeps one connection for all its messages (connected again when the
server dropped it) and, with PIPELINING (RFC 2920), sends ``MAIL``, ``RCPT`` and ``DATA``
in one write: two round trips a message instead of four. A failure before the content was
sent means not sent (a dropped connection or a ``421`` is tried once more on a new one);
after it and before the server's answer, the message may have been taken
(``MaybeSentError``), so it is never sent again here. A server that cannot be reached is
not tried again for ``RECONNECT_PAUSE`` seconds: the messages meanwhile fail at once.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from core.config import MailServer, Settings
from core.documents.archive import write_atomically
from core.messages import StoredText, stored
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
        """Send ``message``; return the refused recipients (address: the server's answer).
        ``NotSentError`` when nothing was sent, ``MaybeSentError`` when it may have been."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection, if there is one."""

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc_info: object) -> None:
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
        try:
            return self._transaction(self._connect(), message)
        except _NothingSent as exc:
            self._discard()
            log.info("mail server %s ended the connection (%s); connecting again", self._where, exc)
        try:
            return self._transaction(self._connect(), message)
        except _NothingSent as exc:
            self._discard()
            raise NotSentError(_said(stored("the mail server ended the connection"), exc)) from None

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
        tls = {"context": context} if server.security == "tls" else {}
        try:
            connection = (smtplib.SMTP_SSL if tls else smtplib.SMTP)(
                server.host,
                server.port,
                local_hostname=socket.gethostname(),
                timeout=server.timeout,
                **tls,
            )
            connection.ehlo()
            if server.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise NotSentError(
                        _said(
                            stored(
                                "the mail server '{server}' does not offer STARTTLS (use "
                                "?starttls=0 only for a relay you trust)",
                                server=self._where,
                            )
                        )
                    )
                connection.starttls(context=context)
                connection.ehlo()
            if server.username:
                connection.login(server.username, server.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            reason = _said(
                stored("the mail server '{server}' refused the login", server=self._where),
                _answer(exc),
            )
        except ssl.SSLCertVerificationError as exc:
            reason = _said(
                stored(
                    "the certificate of the mail server '{server}' is not trusted",
                    server=self._where,
                ),
                exc,
            )
        except NotSentError as exc:
            reason = str(exc)
        except (OSError, smtplib.SMTPException) as exc:
            reason = _said(
                stored("cannot connect to the mail server '{server}'", server=self._where),
                _answer(exc),
            )
        else:
            self._unreachable = None
            self.connections += 1
            self._connection = connection
            return connection
        if connection is not None:
            connection.close()
        self._unreachable = (time.monotonic(), reason)
        raise NotSentError(reason)

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _transaction(self, connection: smtplib.SMTP, message: Mail) -> dict[str, str]:
        if message.smtputf8 and not connection.has_extn("smtputf8"):
            raise NotSentError(
                _said(
                    stored(
                        "the mail server '{server}' does not take non-ASCII addresses (no "
                        "SMTPUTF8)",
                        server=self._where,
                    )
                )
            )
        pipelined = connection.has_extn("pipelining")
        try:
            refused = (self._pipelined_envelope if pipelined else self._envelope)(
                connection, message
            )
            # a message cut short is never delivered: until its last byte is out, retrying
            # on a new connection is safe
            ending = b"" if message.data.endswith(b"\r\n") else b"\r\n"
            connection.send(_LINE_START_DOT.sub(b"..", message.data) + ending + b".\r\n")
        except smtplib.SMTPServerDisconnected as exc:
            raise _NothingSent(str(exc)) from None
        try:
            code, answer = connection.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            self._discard()
            raise MaybeSentError(
                _said(
                    stored(
                        "the connection to '{server}' ended before the server confirmed the "
                        "message",
                        server=self._where,
                    ),
                    exc,
                )
            ) from None
        if code != 250:
            if code == CLOSING:
                self._discard()
            raise NotSentError(
                _said(stored("the mail server refused the message"), _text(code, answer))
            )
        return refused

    def _envelope(self, connection: smtplib.SMTP, message: Mail) -> dict[str, str]:
        """MAIL, each RCPT and DATA, each waiting for its answer; returns the refused
        recipients once the server waits for the content."""
        sender, recipients = message.sender, message.recipients
        code, answer = connection.mail(sender, ["SMTPUTF8"] if message.smtputf8 else [])
        self._check(connection, code, answer, _refused_sender(sender))
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
            self._check(connection, code, answer, stored("the mail server refused the message"))
        return refused

    def _pipelined_envelope(self, connection: smtplib.SMTP, message: Mail) -> dict[str, str]:
        """The same in one round trip: MAIL, RCPT and DATA sent together, answers read after."""
        sender, recipients, utf8 = message.sender, message.recipients, message.smtputf8
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
        self._check(connection, mail_code, mail_answer, _refused_sender(sender))
        self._check_recipients(connection, refused, recipients)
        if data_code != 354:
            self._check(
                connection, data_code, data_answer, stored("the mail server refused the message")
            )
        return refused

    def _check_recipients(
        self, connection: smtplib.SMTP, refused: dict[str, str], recipients: Sequence[str]
    ) -> None:
        if len(refused) == len(recipients):
            self._reset(connection)
            raise NotSentError(
                "; ".join(_said(_refused_recipient(a), why) for a, why in refused.items())
            )

    def _check(
        self, connection: smtplib.SMTP, code: int, answer: bytes, refusal: StoredText
    ) -> None:
        text = _text(code, answer)
        if code == CLOSING:
            raise _NothingSent(text)
        if code not in ACCEPTED:
            self._reset(connection)
            raise NotSentError(_said(refusal, text))

    def _reset(self, connection: smtplib.SMTP) -> None:
        """Abandon the transaction; a connection that cannot even do that is dropped."""
        try:
            connection.rset()
        except (OSError, smtplib.SMTPException):
            self._discard()


def _said(refusal: StoredText, answer: object = None) -> str:
    """A refusal's English, then the server's or the library's own words: the panel finds the
    refusal's message id by its quoted values and translates it (``webapp.i18n``)."""
    english = refusal.english()
    return english if answer is None else f"{english}: {answer}"


def _refused_sender(sender: str) -> StoredText:
    return stored("the mail server refused the sender '{sender}'", sender=sender)


def _refused_recipient(address: str) -> StoredText:
    return stored("the mail server refused the recipient '{address}'", address=address)


def _text(code: int, answer: bytes) -> str:
    return f"{code} {answer.decode(errors='replace')}"


def _answer(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"{error.smtp_code} {text}"
    return str(error) or type(error).__name__


class OutboxMailer(Mailer):
    """Development: every message becomes ``<Message-ID>.eml`` in a directory, written once
    (as a server that deduplicates by Message-ID would), so a retried send leaves one file."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: Mail) -> dict[str, str]:
        if not message.message_id:
            raise ValueError("an outbox message needs a Message-ID")
        path = self.directory / (
            _NOT_FILENAME.sub("_", message.message_id.strip("<> "))[:200] + ".eml"
        )
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
