"""Settings from ``CAMPAIGN_*`` environment variables, checked once at start-up.

Every default works on a machine with nothing but Python: SQLite in the data
directory and an embedded Redis server when no Redis URL is given.
"""

from __future__ import annotations

import os
import re
import secrets
import ssl
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.messaging.mail import mailbox, valid_email
from core.workflows.schedules import ScheduleError, load_zone, parse_duration

PREFIX = "CAMPAIGN_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_TIMEZONE = "Europe/Berlin"
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}
_SIZE = re.compile(r"(\d+)\s*([a-z]*)")
DEVELOPMENT_SENDER = "Campaign <campaign@localhost.localdomain>"
"""The sender of e-mails when no mail server is configured (they go to the outbox)."""
SMTP_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
WEBHOOK_SECRET = "SMS_WEBHOOK_SECRET_"
SWITCHES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


class ConfigError(ValueError):
    """A setting is missing, malformed or points at something unreachable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True, slots=True)
class MailServer:
    """The installation's SMTP server (``CAMPAIGN_SMTP_URL``); ``security`` is ``starttls``
    (``smtp://``), ``tls`` (``smtps://``) or ``plain`` (``smtp://…?starttls=0``)."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: Path | None = None
    """CA certificates (PEM) to verify the server with, instead of the system's."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the processes of one installation agree on."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    """None: the embedded Redis server in the data directory."""
    secret_key: str
    disabled_plugins: tuple[str, ...] = ()
    extra_plugins: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    threads: int = 8
    """Requests ``campaign serve`` handles at once (the production server's threads)."""
    request_timeout: timedelta = timedelta(seconds=60)
    """The server closes a connection idle this long (a client that stopped sending)."""
    trusted_proxies: int = 0
    """Reverse proxies in front of the panel whose X-Forwarded-For/-Proto headers count."""
    log_level: str = "INFO"
    timezone: str = DEFAULT_TIMEZONE
    """Where cron schedules are read and where the command line shows times."""
    workflow_min_interval: timedelta = timedelta(minutes=15)
    """The vendor of the original campaign processes advises no workflow more often."""
    mail_server: MailServer | None = None
    """None: e-mails are written to the outbox directory (development)."""
    mail_from: str = DEVELOPMENT_SENDER
    public_url: str | None = "http://127.0.0.1:5000"
    """The panel's address as recipients reach it: the unsubscribe links of e-mails and the
    links of notification e-mails point there. None (a mail server but no address set): no
    e-mail campaign can send, and notification e-mails carry no link."""
    unsubscribe_mailto: str | None = None
    """The address of the ``mailto:`` in every e-mail's List-Unsubscribe header, if any."""
    bounce_address: str | None = None
    """Campaign e-mails go out with the envelope sender ``<local>+<token>@<domain>`` of
    this address (VERP), so a bounce names the message it answers; None: the From address."""
    soft_bounce_limit: int = 3
    """Soft bounces (4.x.x) of one address after which it counts as undeliverable."""
    approval_reminder: timedelta = timedelta(days=1)
    """deliveryMgt reminds the reviewers of a pending approval this long before its deadline."""
    concurrent_jobs: int = 2
    """operationMgt starts no run while this many of its runs are active."""
    max_upload: int = 50 * 1024 * 1024
    """The web panel answers a larger request (in bytes) with 413 before reading it."""
    run_file_store: str = "filesystem"
    """The document store that new run files go to (``core.documents.run_files``)."""
    public_rate_limit: int = 600
    """Requests per minute one client address may make to the unsubscribe page (a mailbox
    provider posts the one-click unsubscriptions of many users from few addresses)."""
    webhook_rate_limit: int = 12000
    """Requests per minute one client address (a provider, in bursts) may make to the SMS
    webhooks."""
    sms_webhook_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Per SMS gateway (its name in capitals, other characters than letters and digits as
    ``_``): the secret its provider's webhooks are signed with; a gateway without one has none."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = {each.name: each.default for each in fields(cls) if each.default is not MISSING}

        def get(name: str) -> str | None:
            return env.get(PREFIX + name, "").strip() or None

        def read(name: str, parse: Callable[..., Any], *limits: int) -> Any:
            raw = get(name)
            return defaults.get(name.lower()) if raw is None else parse(PREFIX + name, raw, *limits)

        data_dir = Path(get("DATA_DIR") or "var").expanduser().resolve()
        mail_server = _mail_server(get("SMTP_URL"), checked_ca_file(get("SMTP_CA_FILE")))
        return cls(
            data_dir=data_dir,
            database_url=_database_url(get("DATABASE_URL"), data_dir),
            redis_url=read("REDIS_URL", _redis_url),
            secret_key=get("SECRET_KEY") or _stored_secret_key(data_dir),
            disabled_plugins=_names(get("DISABLE_PLUGINS")),
            extra_plugins=_names(get("PLUGINS")),
            host=get("HOST") or "127.0.0.1",
            port=read("PORT", _integer, 1, 65535),
            workers=read("WORKERS", _integer, 0, 64),
            threads=read("THREADS", _integer, 1, 256),
            request_timeout=read("REQUEST_TIMEOUT", _duration),
            trusted_proxies=read("TRUSTED_PROXIES", _integer, 0, 10),
            log_level=read("LOG_LEVEL", _log_level),
            timezone=read("TIMEZONE", _timezone),
            workflow_min_interval=read("WORKFLOW_MIN_INTERVAL", _duration),
            mail_server=mail_server,
            mail_from=_mail_from(get("MAIL_FROM"), mail_server),
            public_url=_public_url(get("PUBLIC_URL"), mail_server, get("HOST"), get("PORT")),
            unsubscribe_mailto=read("UNSUBSCRIBE_MAILTO", _plain_address),
            bounce_address=read("BOUNCE_ADDRESS", _plain_address),
            soft_bounce_limit=read("SOFT_BOUNCE_LIMIT", _integer, 1, 100),
            approval_reminder=read("APPROVAL_REMINDER", _duration),
            concurrent_jobs=read("CONCURRENT_JOBS", _integer, 1, 100),
            max_upload=read("MAX_UPLOAD", _size),
            run_file_store=get("RUN_FILE_STORE") or "filesystem",
            public_rate_limit=read("PUBLIC_RATE_LIMIT", _integer, 1, 10**6),
            webhook_rate_limit=read("WEBHOOK_RATE_LIMIT", _integer, 1, 10**7),
            sms_webhook_secrets={
                name.removeprefix(PREFIX + WEBHOOK_SECRET): value.strip()
                for name, value in env.items()
                if name.startswith(PREFIX + WEBHOOK_SECRET) and value.strip()
            },
        )


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (raw or "").split(",") if name.strip())


def _database_url(raw: str | None, data_dir: Path) -> str:
    variable = PREFIX + "DATABASE_URL"
    if raw is None:
        return f"sqlite:///{data_dir / 'campaign.db'}"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(variable, f"{raw!r} is not a database URL") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise ConfigError(variable, "the PostgreSQL URL names no database")
    elif backend != "sqlite":
        raise ConfigError(variable, f"unsupported database {backend!r}; use sqlite or postgresql")
    return url.render_as_string(hide_password=False)


def _redis_url(variable: str, raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(variable, f"{raw!r} is not a redis://, rediss:// or unix:// URL")
    return raw


def _integer(variable: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(variable, f"{raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(variable, f"{value} is outside {low}..{high}")
    return value


def _size(variable: str, raw: str) -> int:
    """``"50MB"``, ``"512k"``, ``"1g"`` or a number of bytes: a positive size."""
    match = _SIZE.fullmatch(raw.lower())
    if match is None or match.group(2) not in SIZE_UNITS:
        raise ConfigError(variable, f"{raw!r} is not a size (examples: 50MB, 512k, 1g)")
    value = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if value <= 0:
        raise ConfigError(variable, f"{raw!r} must be larger than zero")
    return value


def _log_level(variable: str, raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise ConfigError(variable, f"{raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return raw.upper()


def _timezone(variable: str, raw: str) -> str:
    try:
        load_zone(raw)
    except ScheduleError as exc:
        raise ConfigError(variable, str(exc)) from None
    return raw


def _duration(variable: str, raw: str) -> timedelta:
    try:
        return parse_duration(raw)
    except ScheduleError as exc:
        raise ConfigError(variable, str(exc)) from None


def _mail_server(raw: str | None, ca_file: Path | None) -> MailServer | None:
    """``smtp://user:pass@host:587?starttls=1&timeout=30`` or ``smtps://…`` parsed."""
    if raw is None:
        return None
    variable = PREFIX + "SMTP_URL"
    url, port = split_url(variable, raw)
    shown = without_password(raw)
    if url.scheme not in ("smtp", "smtps"):
        raise ConfigError(variable, f"{shown!r} is not an smtp:// or smtps:// URL")
    if not url.hostname:
        raise ConfigError(variable, f"{shown!r} names no host")
    if url.path not in ("", "/"):
        raise ConfigError(variable, f"{shown!r}: a mail server URL has no path")
    options = url_options(variable, url, ("starttls", "timeout"))
    security = "tls" if url.scheme == "smtps" else "starttls"
    if "starttls" in options:
        switch = SWITCHES.get(options["starttls"].lower())
        if switch is None:
            raise ConfigError(variable, f"starttls={options['starttls']!r} is not 1 or 0")
        if url.scheme == "smtps":
            raise ConfigError(variable, "smtps:// is TLS from the start; starttls does not apply")
        security = "starttls" if switch else "plain"
    return MailServer(
        host=url.hostname,
        port=port or SMTP_PORTS[security],
        security=security,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password is not None else None,
        timeout=url_timeout(variable, options),
        ca_file=ca_file,
    )


def split_url(variable: str, raw: str) -> tuple[SplitResult, int | None]:
    """A server URL setting and its port; a ConfigError (password hidden) if it is none."""
    try:
        url = urlsplit(raw)
        return url, url.port
    except ValueError as exc:
        raise ConfigError(variable, f"{without_password(raw)!r} is not a URL: {exc}") from None


def url_options(variable: str, url: SplitResult, known: tuple[str, ...]) -> dict[str, str]:
    """The URL's query options, refusing any but ``known``."""
    options = dict(parse_qsl(url.query, keep_blank_values=True))
    if unknown := sorted(set(options) - set(known)):
        raise ConfigError(
            variable, f"unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return options


def url_timeout(variable: str, options: dict[str, str]) -> float:
    """The ``timeout`` option in seconds (0 < seconds <= 600), 30 when it is not given."""
    if "timeout" not in options:
        return 30.0
    try:
        timeout = float(options["timeout"])
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 600:
        raise ConfigError(variable, f"timeout={options['timeout']!r} is not 0 < seconds <= 600")
    return timeout


def without_password(raw: str) -> str:
    scheme, at, rest = raw.partition("://")
    credentials, found, host = rest.rpartition("@")
    if not at or not found or ":" not in credentials:
        return raw
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def checked_ca_file(raw: str | None, name: str = "SMTP_CA_FILE") -> Path | None:
    if raw is None:
        return None
    path = Path(raw).expanduser().resolve()
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            PREFIX + name, f"{raw!r} is not a readable PEM file of CA certificates: {exc}"
        ) from None
    return path


def _mail_from(raw: str | None, server: MailServer | None) -> str:
    variable = PREFIX + "MAIL_FROM"
    if raw is None:
        if server is not None:
            raise ConfigError(variable, "the sender address is needed with CAMPAIGN_SMTP_URL")
        return DEVELOPMENT_SENDER
    try:
        return str(mailbox(raw))
    except ValueError as exc:
        raise ConfigError(variable, str(exc)) from None


def _public_url(
    raw: str | None, server: MailServer | None, host: str | None, port: str | None
) -> str | None:
    """The address set; in development (no mail server) the panel's own address."""
    if raw is None:
        return None if server else f"http://{host or '127.0.0.1'}:{port or 5000}"
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            PREFIX + "PUBLIC_URL",
            f"{raw!r} is not the panel's address such as 'https://kampagne.example.de'",
        )
    return raw.rstrip("/")


def _plain_address(variable: str, raw: str) -> str:
    if not (valid_email(raw) and raw.isascii()):
        raise ConfigError(
            variable, f"{raw!r} is not an e-mail address such as 'abmelden@example.de'"
        )
    return raw


def _stored_secret_key(data_dir: Path) -> str:
    """Keep one generated key per data directory so sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
