"""A real SMTP server on loopback for the tests and the benchmark (aiosmtpd in a thread).

It records every message it accepts and counts connections; it offers PIPELINING (or not),
and it can offer STARTTLS or
implicit TLS with a self-signed certificate made here, require a login, refuse chosen
recipients, drop every open connection, hold a message without answering, or end the
connection after a message instead of confirming it.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from waiting import DEADLINE


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 that is its own CA: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mail_env(server: SmtpServer) -> dict[str, str]:
    """The environment that makes ``server`` the installation's mail server."""
    return {
        "CAMPAIGN_SMTP_URL": server.url + "&timeout=10",
        "CAMPAIGN_SMTP_CA_FILE": str(server.ca_file),
        "CAMPAIGN_MAIL_FROM": "Kampagne <kampagne@example.de>",
    }


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.server.pipelining:  # aiosmtpd reads pipelined commands, but does not say so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, smtp, session, envelope, address, options):
        if not getattr(session, "counted", False):  # a connection that sends mail
            session.counted = True
            with self.server.lock:
                self.server.connections += 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, smtp, session, envelope, address, options):
        if address in self.server.refuse:
            return f"550 5.1.1 <{address}>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        with self.server.lock:
            self.server.messages.append(received)
        if self.server.hold & set(received.recipients):
            await asyncio.sleep(3600)  # the client is gone before this ends
        if self.server.vanish & set(received.recipients):
            smtp.transport.close()  # taken, but the client never hears so
            return "250 never seen"
        return "250 OK queued"


class SmtpServer:
    """``SmtpServer(tmp_path, tls="starttls", users={"campaign": "secret"})`` and so on.

    ``url`` and ``ca_file`` are what ``CAMPAIGN_SMTP_URL`` and ``CAMPAIGN_SMTP_CA_FILE``
    would say to reach it.
    """

    def __init__(
        self,
        directory: Path,
        *,
        tls: str | None = None,
        users: dict[str, str] | None = None,
        pipelining: bool = True,
    ):
        self.messages: list[Received] = []
        self.connections = 0
        """Connections that sent at least one MAIL command."""
        self.refuse: set[str] = set()
        self.hold: set[str] = set()
        self.vanish: set[str] = set()
        self.lock = threading.Lock()
        self.users = users or {}
        self.tls = tls
        self.pipelining = pipelining
        self.port = free_port()
        self._open: set[SMTP] = set()
        self.ca_file: Path | None = None
        context = None
        if tls:
            self.ca_file, key_file = self_signed_certificate(directory)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, key_file)
        options = {}
        if tls == "starttls":
            options = {"tls_context": context, "require_starttls": True}
        if users:
            options |= {"authenticator": self._authenticate, "auth_required": True}
            # with implicit TLS aiosmtpd does not know the session is encrypted
            options["auth_require_tls"] = tls == "starttls"
        owner = self

        class Counting(SMTP):
            def connection_made(self, transport):
                owner._open.add(self)
                super().connection_made(transport)

            def connection_lost(self, error):
                owner._open.discard(self)
                super().connection_lost(error)

        class Serving(Controller):
            def factory(self):
                return Counting(self.handler, **self.SMTP_kwargs)

        self._controller = Serving(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if tls == "tls" else None,
            **options,
        )
        self._controller.start()

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "tls" else "smtp"
        login = ""
        if self.users:
            user, password = next(iter(self.users.items()))
            login = f"{user}:{password}@"
        starttls = "" if self.tls == "tls" else f"?starttls={int(self.tls == 'starttls')}"
        return f"{scheme}://{login}127.0.0.1:{self.port}{starttls}"

    def _authenticate(self, smtp, session, envelope, mechanism, data) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        return AuthResult(success=self.users.get(user) == password, handled=False)

    def drop_connections(self) -> None:
        """Close every open connection from the server's side, as an idle timeout would."""
        done = threading.Event()

        def close_all():
            for protocol in list(self._open):
                if protocol.transport is not None:
                    protocol.transport.close()
            done.set()

        self._controller.loop.call_soon_threadsafe(close_all)
        done.wait(DEADLINE)

    def to(self, address: str) -> list[Received]:
        return [received for received in self.messages if address in received.recipients]

    def close(self) -> None:
        if self._controller.loop.is_running():
            self._controller.stop()
