"""A light concurrent load on the benchmark's PostgreSQL server, and what the machine was doing.

The channel benchmarks (bench/sms.py, bench/mail.py, bench/dispatch.py) take ``--pgbench``:
their engine figures are then measured a second time while ``pgbench -c 2 -R 200`` runs its
TPC-B-like transactions against the same server, on a database of its own (initialised with
``pgbench -i``, dropped afterwards), so the two figures of one run can be compared. Each
figure is printed with the load average of the minute before it: on a machine shared with
other work the wall-clock figures drop with it, while the CPU per item stays steadier.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from common import POSTGRES_ADMIN
from sqlalchemy import create_engine, make_url, text

CLIENTS = 2
RATE = 200
"""Transactions per second pgbench aims at, spread over its clients."""
LONGEST = 3600
"""Seconds pgbench is told to run; it is stopped as soon as the measurement ends."""


def arguments(description: str, default_count: int) -> argparse.Namespace:
    """The benchmarks' usual ``--backend`` and ``--count``, and ``--pgbench``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=default_count)
    parser.add_argument(
        "--pgbench",
        action="store_true",
        help=f"measure the engine again while pgbench -c {CLIENTS} -R {RATE} runs against "
        "the same PostgreSQL server",
    )
    arguments = parser.parse_args()
    if arguments.pgbench and arguments.backend != "postgresql":
        parser.error("--pgbench needs --backend postgresql")
    return arguments


def load_average() -> str:
    """The machine's load average over the last minute, as printed next to each figure."""
    return f"load {os.getloadavg()[0]:.1f}"


@dataclass
class Load:
    """What pgbench did while the block ran: transactions per second, as the server counted."""

    transactions_per_second: float = 0.0


def _commits(admin, name: str) -> int:
    with admin.connect() as connection:
        return connection.execute(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = :name"),
            {"name": name},
        ).scalar_one()


@contextmanager
def pgbench_load() -> Iterator[Load]:
    """Run ``pgbench -c 2 -R 200`` against the benchmark's server while the block runs."""
    url = make_url(POSTGRES_ADMIN)
    name = f"campaign_pgbench_{uuid.uuid4().hex[:8]}"
    connection = [
        f"--host={url.host or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or 'postgres'}",
    ]
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as session:
        session.execute(text(f'CREATE DATABASE "{name}"'))
    load = Load()
    try:
        subprocess.run(
            ["pgbench", "--initialize", "--quiet", *connection, name],
            env=env,
            check=True,
            capture_output=True,
        )
        pgbench = subprocess.Popen(
            [
                "pgbench",
                f"--client={CLIENTS}",
                f"--rate={RATE}",
                f"--time={LONGEST}",
                "--no-vacuum",
                *connection,
                name,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            before, started = _commits(admin, name), time.perf_counter()
            yield load
            seconds = time.perf_counter() - started
            load.transactions_per_second = (_commits(admin, name) - before) / seconds
        finally:
            pgbench.terminate()
            pgbench.wait()
    finally:
        with admin.connect() as session:
            session.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
