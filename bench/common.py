"""Shared set-up for the benchmarks: a fresh database of a chosen size on either backend."""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from core.config import Settings
from core.db.database import Database
from core.db.schema import upgrade
from core.models import Contact

POSTGRES_ADMIN = os.environ.get(
    "CAMPAIGN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = os.environ.get("CAMPAIGN_BENCH_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_LOCK_KEY = "campaign:test-session"  # as tests/conftest.py
CITIES = ["Köln", "Berlin", "München", "Hamburg", "Leipzig", "Dresden", "Bremen", "Essen"]


def arguments(description: str, default_count: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=default_count)
    return parser.parse_args()


def claim_redis(owner: str = "bench") -> str:
    """The URL of an empty Redis database, locked for this process until it exits, so a
    benchmark shares no queue with a test session or another benchmark running at once."""
    for index in range(13, 0, -1):
        url = f"{REDIS_SERVER}/{index}"
        connection = redis.Redis.from_url(url)
        if connection.set(REDIS_LOCK_KEY, f"{owner}-{os.getpid()}", nx=True, ex=3600):
            if connection.dbsize() == 1:
                return url
            connection.delete(REDIS_LOCK_KEY)
    raise RuntimeError("no empty Redis database is free")


def empty_queues(url: str) -> None:
    """Drop the jobs waiting in a claimed database (e.g. a targeting job this process runs
    itself), keeping its lock."""
    from core.jobs.queue import QUEUE_NAMES, get_queue

    connection = redis.Redis.from_url(url)
    for name in QUEUE_NAMES:
        get_queue(connection, name).empty()


def release_redis(url: str) -> None:
    redis.Redis.from_url(url).flushdb()  # our own database: jobs, results and the lock


def fresh_database(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        name = f"campaign_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade(Database(url).engine)
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1]
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill_contacts(database: Database, count: int, seed: int = 7) -> None:
    """Contacts with a realistic mix of statuses, e-mails, opt-outs and cities."""
    rng = random.Random(seed)
    batch = []
    with database.session() as session:
        for index in range(1, count + 1):
            batch.append(
                {
                    "number": f"B-{index:08d}",
                    "last_name": f"Name{index}",
                    "first_name": "Erika" if index % 2 else "Max",
                    "email": None if rng.random() < 0.3 else f"p{index}@example.de",
                    "street": f"Hauptstraße {index % 200 + 1}",
                    "postcode": f"{rng.randint(1000, 99999):05d}",
                    "city": rng.choice(CITIES),
                    "status": "customer" if rng.random() < 0.4 else "prospect",
                    "opt_out_email": rng.random() < 0.05,
                    "dispatch_block": rng.random() < 0.02,
                    "attributes": {},
                }
            )
            if len(batch) == 20000:
                session.execute(Contact.__table__.insert(), batch)
                batch.clear()
        if batch:
            session.execute(Contact.__table__.insert(), batch)


def peak_memory_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu_seconds() -> float:
    """User and system time of the finished child processes (and the ones they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    """Wall time of a block, and the CPU time of the child processes that ended in it: on a
    machine shared with other work the CPU time is the steadier figure."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.children_start = children_cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self.children_cpu = children_cpu_seconds() - self.children_start


def burst_workers(settings: Settings, workers: int, plugins: Sequence[str] = ()) -> Stopwatch:
    """The time (and the CPU) ``workers`` real ``campaign worker --burst`` processes take to
    empty the queues, their start included; ``plugins`` are extra modules for
    CAMPAIGN_PLUGINS, found in bench/."""
    env = {
        **os.environ,
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.database_url,
        "CAMPAIGN_REDIS_URL": settings.redis_url,
        "CAMPAIGN_PLUGINS": ",".join(plugins),
        "CAMPAIGN_LOG_LEVEL": os.environ.get("CAMPAIGN_LOG_LEVEL", "WARNING"),
        "PYTHONPATH": str(Path(__file__).resolve().parent),
    }
    with Stopwatch() as watch:
        processes = [
            subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--burst"], env=env)
            for _ in range(workers)
        ]
        for process in processes:
            process.wait()
    return watch


def in_child(work) -> tuple[float, float]:
    """Run ``work`` in a forked child; its seconds and peak resident MB."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            work()
            code = 0
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    if status:
        raise SystemExit(f"the child failed with status {status}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024
