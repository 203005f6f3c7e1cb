"""Database engines and sessions, safe across the worker's fork."""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from core.config import ConfigError

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_connections_after_fork() -> None:
    """A pooled connection must never be used by two processes: drop the parent's in the child."""
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_connections_after_fork)


def _configure_sqlite(dbapi_connection, _record) -> None:
    # SQLite's lower() folds ASCII only; the query compiler (core/query) uses this one so that
    # "müller" finds "Müller" as PostgreSQL's lower() does.
    dbapi_connection.create_function(
        "unicode_lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
    )
    dbapi_connection.executescript(
        "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        " PRAGMA busy_timeout=30000;"
    )


class NulCharacterError(ValueError):
    """A text value for the database holds a NUL character (``\\0``)."""

    def __init__(self) -> None:
        super().__init__(
            "a text value contains a NUL character (\\0), which the database does not store; "
            "remove it from the input"
        )


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
    """PostgreSQL refuses a NUL in text with a raw driver error and SQLite stores it: both
    refuse it here alike, with one message, whoever called (panel, command line, worker)."""
    for row in parameters if isinstance(parameters, list) else [parameters or {}]:
        for value in row.values() if isinstance(row, Mapping) else row:
            if value.__class__ is str and "\0" in value:
                raise NulCharacterError()


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for several processes at once."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    _engines.add(engine)
    return engine


class Database:
    """An engine and its session factory; ``plugins`` (a ``PluginHost``) hear of the domain
    events recorded in its sessions (``core.events.record_events``)."""

    def __init__(self, url: str, plugins: Any = None):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={"plugins": plugins})

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def pinned_session(self) -> Iterator[Session]:
        """A session that keeps one connection for a series of short transactions (each opened
        with ``session.begin()``): a plain one pings the server at every checkout."""
        with self.engine.connect() as connection, self.sessions(bind=connection) as session:
            yield session

    def check(self) -> None:
        """Fail fast, naming the variable, when the server cannot be reached."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise ConfigError(
                "CAMPAIGN_DATABASE_URL",
                f"cannot connect to {make_url(self.url).render_as_string()}: {reason}",
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()
