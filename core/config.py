"""Settings from ``CAMPAIGN_*`` environment variables, checked once at start-up.

Every default works on a machine with nothing but Python: SQLite in the data
directory and an embedded Redis server when no Redis URL is given.
"""

from __future__ import annotations

import os
import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.messaging.mail import mailbox, valid_email
from core.workflows.schedules import ScheduleError, load_zone, parse_duration

PREFIX = "CAMPAIGN_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_TIMEZONE = "Europe/Berlin"
DEFAULT_WORKFLOW_MIN_INTERVAL = timedelta(minutes=15)
"""The vendor of the original campaign processes advises no workflow more often than this."""
DEFAULT_APPROVAL_REMINDER = timedelta(days=1)
"""How long before an approval's deadline its reviewers are reminded."""
DEFAULT_CONCURRENT_JOBS = 2
"""How many runs the campaign-jobs workflow keeps going at once."""
DEFAULT_THREADS = 8
"""Requests ``campaign serve`` handles at once (the production server's threads)."""
DEFAULT_REQUEST_TIMEOUT = timedelta(seconds=60)
"""How long the production server keeps a connection on which the client sends nothing."""
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
"""The largest request the web panel accepts (uploads included), in bytes."""
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}
_SIZE = re.compile(r"(\d+)\s*([a-z]*)")
DEVELOPMENT_SENDER = "Campaign <campaign@localhost.localdomain>"
"""The sender of e-mails when no mail server is configured (they go to the outbox)."""
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"
"""Where unsubscribe links point without a mail server (mails go to the outbox)."""
SMTP_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
WEBHOOK_SECRET = "SMS_WEBHOOK_SECRET_"
DEFAULT_PUBLIC_RATE_LIMIT = 600
"""A mailbox provider posts the one-click unsubscriptions of many users from few addresses."""
DEFAULT_WEBHOOK_RATE_LIMIT = 12000
"""A provider sends the receipts of a large run in bursts."""
DEFAULT_SOFT_BOUNCE_LIMIT = 3
"""Soft bounces (4.x.x) of one address after which it counts as undeliverable."""
SWITCHES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


class ConfigError(ValueError):
    """A setting is missing, malformed or points at something unreachable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


@dataclass(frozen=True, slots=True)
class MailServer:
    """The installation's SMTP server (``CAMPAIGN_SMTP_URL``).

    ``security`` is ``starttls`` (``smtp://``, the default: the session must be upgraded
    with a verified certificate), ``tls`` (``smtps://``, implicit TLS) or ``plain``
    (``smtp://…?starttls=0``, for a relay on the same machine or network).
    """

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
    secret_key: str
    disabled_plugins: tuple[str, ...] = ()
    extra_plugins: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    threads: int = DEFAULT_THREADS
    request_timeout: timedelta = DEFAULT_REQUEST_TIMEOUT
    """The server closes a connection idle this long (a client that stopped sending)."""
    trusted_proxies: int = 0
    """Reverse proxies in front of the panel whose X-Forwarded-For/-Proto headers count."""
    log_level: str = "INFO"
    timezone: str = DEFAULT_TIMEZONE
    """Where cron schedules are read and where the command line shows times."""
    workflow_min_interval: timedelta = DEFAULT_WORKFLOW_MIN_INTERVAL
    mail_server: MailServer | None = None
    """None: e-mails are written to the outbox directory (development)."""
    mail_from: str = DEVELOPMENT_SENDER
    public_url: str | None = DEVELOPMENT_PUBLIC_URL
    """The panel's address as recipients reach it (``https://kampagne.example.de``): the
    unsubscribe links of e-mails point there. None (a mail server but no address set): no
    e-mail campaign can send."""
    unsubscribe_mailto: str | None = None
    """The address of the ``mailto:`` in every e-mail's List-Unsubscribe header, if any."""
    bounce_address: str | None = None
    """Campaign e-mails go out with the envelope sender ``<local>+<token>@<domain>`` of
    this address (VERP), so a bounce names the message it answers; None: the From address."""
    soft_bounce_limit: int = DEFAULT_SOFT_BOUNCE_LIMIT
    approval_reminder: timedelta = DEFAULT_APPROVAL_REMINDER
    """deliveryMgt reminds the reviewers of a pending approval this long before its deadline."""
    concurrent_jobs: int = DEFAULT_CONCURRENT_JOBS
    """operationMgt starts no run while this many of its runs are active."""
    max_upload: int = DEFAULT_MAX_UPLOAD
    """The web panel answers a larger request with 413 before reading it."""
    run_file_store: str = "filesystem"
    """The document store that new run files go to (``core.documents.run_files``)."""
    public_rate_limit: int = DEFAULT_PUBLIC_RATE_LIMIT
    """Requests per minute one client address may make to the unsubscribe page."""
    webhook_rate_limit: int = DEFAULT_WEBHOOK_RATE_LIMIT
    """Requests per minute one client address (a provider) may make to the SMS webhooks."""
    sms_webhook_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Per SMS gateway (``webhook_variable(name)``): the secret its provider's receipts and
    inbound messages are signed with; a gateway without one has no webhook."""

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name, "").strip()
            return value or None

        data_dir = Path(get("DATA_DIR") or "var").expanduser().resolve()
        mail_server = _mail_server(get("SMTP_URL"), checked_ca_file(get("SMTP_CA_FILE")))
        return cls(
            data_dir=data_dir,
            database_url=_database_url(get("DATABASE_URL"), data_dir),
            redis_url=_redis_url(get("REDIS_URL")),
            secret_key=get("SECRET_KEY") or _stored_secret_key(data_dir),
            disabled_plugins=_names(get("DISABLE_PLUGINS")),
            extra_plugins=_names(get("PLUGINS")),
            host=get("HOST") or "127.0.0.1",
            port=_integer("PORT", get("PORT"), 5000, 1, 65535),
            workers=_integer("WORKERS", get("WORKERS"), 1, 0, 64),
            threads=_integer("THREADS", get("THREADS"), DEFAULT_THREADS, 1, 256),
            request_timeout=_duration(
                "REQUEST_TIMEOUT", get("REQUEST_TIMEOUT"), DEFAULT_REQUEST_TIMEOUT
            ),
            trusted_proxies=_integer("TRUSTED_PROXIES", get("TRUSTED_PROXIES"), 0, 0, 10),
            log_level=_log_level(get("LOG_LEVEL")),
            timezone=_timezone(get("TIMEZONE")),
            workflow_min_interval=_duration(
                "WORKFLOW_MIN_INTERVAL", get("WORKFLOW_MIN_INTERVAL"), DEFAULT_WORKFLOW_MIN_INTERVAL
            ),
            mail_server=mail_server,
            mail_from=_mail_from(get("MAIL_FROM"), mail_server),
            public_url=_public_url(get("PUBLIC_URL"), mail_server, get("HOST"), get("PORT")),
            unsubscribe_mailto=_plain_address("UNSUBSCRIBE_MAILTO", get("UNSUBSCRIBE_MAILTO")),
            bounce_address=_plain_address("BOUNCE_ADDRESS", get("BOUNCE_ADDRESS")),
            soft_bounce_limit=_integer(
                "SOFT_BOUNCE_LIMIT", get("SOFT_BOUNCE_LIMIT"), DEFAULT_SOFT_BOUNCE_LIMIT, 1, 100
            ),
            approval_reminder=_duration(
                "APPROVAL_REMINDER", get("APPROVAL_REMINDER"), DEFAULT_APPROVAL_REMINDER
            ),
            concurrent_jobs=_integer(
                "CONCURRENT_JOBS", get("CONCURRENT_JOBS"), DEFAULT_CONCURRENT_JOBS, 1, 100
            ),
            max_upload=_size("MAX_UPLOAD", get("MAX_UPLOAD"), DEFAULT_MAX_UPLOAD),
            run_file_store=get("RUN_FILE_STORE") or "filesystem",
            public_rate_limit=_integer(
                "PUBLIC_RATE_LIMIT", get("PUBLIC_RATE_LIMIT"), DEFAULT_PUBLIC_RATE_LIMIT, 1, 10**6
            ),
            webhook_rate_limit=_integer(
                "WEBHOOK_RATE_LIMIT",
                get("WEBHOOK_RATE_LIMIT"),
                DEFAULT_WEBHOOK_RATE_LIMIT,
                1,
                10**7,
            ),
            sms_webhook_secrets={
                name.removeprefix(PREFIX + WEBHOOK_SECRET): value.strip()
                for name, value in env.items()
                if name.startswith(PREFIX + WEBHOOK_SECRET) and value.strip()
            },
        )


def webhook_variable(gateway: str) -> str:
    """The part after ``CAMPAIGN_SMS_WEBHOOK_SECRET_`` that holds a gateway's secret:
    its name in capitals, other characters than letters and digits as ``_``."""
    return re.sub(r"[^A-Z0-9]", "_", gateway.upper())


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (raw or "").split(",") if name.strip())


def _database_url(raw: str | None, data_dir: Path) -> str:
    variable = PREFIX + "DATABASE_URL"
    if raw is None:
        return f"sqlite:///{data_dir / 'campaign.db'}"
    try:
        url: URL = make_url(raw)
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


def _redis_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            PREFIX + "REDIS_URL", f"{raw!r} is not a redis://, rediss:// or unix:// URL"
        )
    return raw


def _integer(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(PREFIX + name, f"{raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(PREFIX + name, f"{value} is outside {low}..{high}")
    return value


def _size(name: str, raw: str | None, default: int) -> int:
    """``"50MB"``, ``"512k"``, ``"1g"`` or a number of bytes: a positive size."""
    if raw is None:
        return default
    match = _SIZE.fullmatch(raw.strip().lower())
    if match is None or match.group(2) not in SIZE_UNITS:
        raise ConfigError(PREFIX + name, f"{raw!r} is not a size (examples: 50MB, 512k, 1g)")
    value = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if value <= 0:
        raise ConfigError(PREFIX + name, f"{raw!r} must be larger than zero")
    return value


def _log_level(raw: str | None) -> str:
    level = (raw or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(PREFIX + "LOG_LEVEL", f"{raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _timezone(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_TIMEZONE
    try:
        load_zone(raw)
    except ScheduleError as exc:
        raise ConfigError(PREFIX + "TIMEZONE", str(exc)) from None
    return raw


def _duration(name: str, raw: str | None, default: timedelta) -> timedelta:
    if raw is None:
        return default
    try:
        return parse_duration(raw)
    except ScheduleError as exc:
        raise ConfigError(PREFIX + name, str(exc)) from None


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
    timeout = url_timeout(variable, options)
    return MailServer(
        host=url.hostname,
        port=port or SMTP_PORTS[security],
        security=security,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password is not None else None,
        timeout=timeout,
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
    unknown = sorted(set(options) - set(known))
    if unknown:
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
        if server is not None:
            return None
        return f"http://{host or '127.0.0.1'}:{port or 5000}"
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            PREFIX + "PUBLIC_URL",
            f"{raw!r} is not the panel's address such as 'https://kampagne.example.de'",
        )
    return raw.rstrip("/")


def _plain_address(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    if not (valid_email(raw) and raw.isascii()):
        raise ConfigError(
            PREFIX + name, f"{raw!r} is not an e-mail address such as 'abmelden@example.de'"
        )
    return raw.strip()


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
