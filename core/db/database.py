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


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(dbapi_connection, _record) -> None:
    # SQLite's lower() folds ASCII only; the query compiler (core/query) uses this one so that
    # "müller" finds "Müller" as PostgreSQL's lower() does.
    dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class NulCharacterError(ValueError):
    """A text value for the database holds a NUL character (``\\0``)."""

    def __init__(self) -> None:
        super().__init__(
            "a text value contains a NUL character (\\0), which the database does not store; "
            "remove it from the input"
        )


def _has_nul(parameters: Any) -> bool:
    """Whether a text value among a statement's parameters (one set, or a list of sets for
    ``executemany``) holds a NUL; about 0.3 µs per row of a batch."""
    rows = parameters if isinstance(parameters, list) else (parameters,)
    for row in rows:
        for value in row.values() if isinstance(row, Mapping) else row:
            if value.__class__ is str and "\0" in value:
                return True
    return False


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
    """PostgreSQL refuses a NUL in text with a raw driver error and SQLite stores it: both
    refuse it here alike, with one message, whoever called (panel, command line, worker)."""
    if parameters and _has_nul(parameters):
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
    """An engine and the session factory bound to it.

    ``plugins`` (a ``PluginHost``) are the plugins whose ``events_recorded`` hook hears of
    the domain events recorded in its sessions (``core.events.record_events``).
    """

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
        """A session that keeps one connection for a series of short transactions.

        A plain session hands its connection back to the pool at every commit, and the
        next checkout pings the server: a round trip per transaction that a loop of
        one-row transactions cannot afford. Each transaction is still opened with
        ``session.begin()``.
        """
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
