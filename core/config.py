"""Settings from ``CAMPAIGN_*`` environment variables, checked once at start-up.

Every default works on a machine with nothing but Python: SQLite in the data
directory and an embedded Redis server when no Redis URL is given.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.schedules import ScheduleError, load_zone, parse_duration

PREFIX = "CAMPAIGN_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_TIMEZONE = "Europe/Berlin"
DEFAULT_WORKFLOW_MIN_INTERVAL = timedelta(minutes=15)
"""The vendor of the original campaign processes advises no workflow more often than this."""


class ConfigError(ValueError):
    """A setting is missing, malformed or points at something unreachable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


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
    log_level: str = "INFO"
    timezone: str = DEFAULT_TIMEZONE
    """Where cron schedules are read and where the command line shows times."""
    workflow_min_interval: timedelta = DEFAULT_WORKFLOW_MIN_INTERVAL

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
            log_level=_log_level(get("LOG_LEVEL")),
            timezone=_timezone(get("TIMEZONE")),
            workflow_min_interval=_duration(
                "WORKFLOW_MIN_INTERVAL", get("WORKFLOW_MIN_INTERVAL"), DEFAULT_WORKFLOW_MIN_INTERVAL
            ),
        )


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
