"""What comes back, at volume: the public endpoints of the real panel under load, and a
mailbox of bounces (``bounces``, in bench/feedback_bounces.py).

    .venv/bin/python bench/feedback.py --backend sqlite --count 10000
    .venv/bin/python bench/feedback.py --backend postgresql --count 10000

``bench_endpoints``: COUNT one-click unsubscribe POSTs (``/u/<token>``, RFC 8058 body) and
COUNT signed SMS delivery receipts (``/sms/http/receipts``, one receipt per request, as
providers send them) against two ``campaign serve`` processes (waitress, loopback, no
workers, no scheduler) on one database and one Redis: the two processes stand for the
"2 worker processes" of a pre-fork server; the client sends to them in turn, from
``CLIENTS`` threads with a kept-alive connection each. Reports requests per second and
the 50th/95th percentile latency (goal: at least 300 requests/s, p95 under 50 ms), and
checks that every request was answered 200 and every contact and row changed.

Needs Redis on CAMPAIGN_BENCH_REDIS_SERVER (default redis://127.0.0.1:6379), where it
takes an empty database (bench/common.py). The client runs in this process and takes CPU
from the same cores as the servers.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

from common import (  # noqa: E402
    arguments,
    claim_redis,
    drop_database,
    fill_contacts,
    fresh_database,
    release_redis,
)
from feedback_bounces import bench_bounces, report_bounces  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from core.clock import utcnow  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.messaging.sending import ledger_reference  # noqa: E402
from core.messaging.unsubscribe import make_token  # noqa: E402
from core.models import Campaign, Contact, ItemStatus, Run, RunItem, RunState  # noqa: E402
from core.sms_webhooks import SIGNATURE_HEADER, sign  # noqa: E402

SECRET_KEY = "bench-secret-key"
WEBHOOK_SECRET = "bench-webhook-secret"
SERVERS = 2
CLIENTS = 8
FIRST_PORT = 18_400
START_TIMEOUT = 60


def sent_run(database: Database, count: int) -> int:
    """A finished SMS run that sent one message to each of the ``count`` contacts."""
    now = utcnow()
    with database.session() as session:
        campaign = Campaign(
            name="Bench feedback", datasource="query", action="sms", action_settings={}
        )
        session.add(campaign)
        session.flush()
        run = Run(
            campaign_id=campaign.id,
            number=1,
            state=RunState.COMPLETED,
            config={"action": "sms"},
            targeted=count,
            done=count,
        )
        session.add(run)
        session.flush()
        ids = session.scalars(select(Contact.id).order_by(Contact.id)).all()
        session.execute(
            insert(RunItem),
            [
                {
                    "run_id": run.id,
                    "key": f"contacts:{contact_id}",
                    "action": "sms",
                    "entity": "contacts",
                    "entity_id": contact_id,
                    "chunk": 0,
                    "status": ItemStatus.DONE,
                    "units": 1,
                    "reference": f"msg-{contact_id}",
                    "finished_at": now,
                }
                for contact_id in ids
            ],
        )
        session.commit()
        return run.id


def start_servers(env: dict[str, str]) -> list[subprocess.Popen]:
    servers = []
    for index in range(SERVERS):
        command = [
            sys.executable,
            "-m",
            "core.cli",
            "serve",
            "--port",
            str(FIRST_PORT + index),
            "--workers",
            "0",
            "--no-scheduler",
        ]
        servers.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
    deadline = time.monotonic() + START_TIMEOUT
    for index in range(SERVERS):
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", FIRST_PORT + index, timeout=2)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no panel on port {FIRST_PORT + index}") from None
                time.sleep(0.2)
    return servers


Request = tuple[str, bytes, dict[str, str]]


def hammer(requests: list[Request]) -> tuple[float, list[float]]:
    """Send every request, spread over the servers and ``CLIENTS`` threads; wall seconds
    and each request's latency in seconds. Every answer must be 200."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        port = FIRST_PORT + number % SERVERS
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        own = []
        for path, body, headers in requests[number::CLIENTS]:
            started = time.perf_counter()
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            own.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(f"{path}: {response.status}")
        connection.close()
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[:3]}")
    return seconds, latencies


def report(name: str, seconds: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name}: {len(latencies)} requests in {seconds:.1f} s = {len(latencies) / seconds:.0f}/s; "
        f"p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms"
    )


def one_click_requests(contact_ids: list[int], run_id: int) -> list[Request]:
    body = b"List-Unsubscribe=One-Click"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        (f"/u/{make_token(SECRET_KEY, contact_id, run_id)}", body, headers)
        for contact_id in contact_ids
    ]


def receipt_requests(contact_ids: list[int], run_id: int) -> list[Request]:
    requests = []
    for contact_id in contact_ids:
        body = json.dumps(
            {"reference": ledger_reference(run_id, f"contacts:{contact_id}"), "status": "delivered"}
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body, int(time.time())),
        }
        requests.append(("/sms/http/receipts", body, headers))
    return requests


def bench_endpoints(backend: str, count: int) -> None:
    """One-click POSTs and SMS receipts against the real panel (module docstring)."""
    redis_url = claim_redis("bench-feedback")
    with tempfile.TemporaryDirectory(prefix="cb-") as workdir:
        url = fresh_database(backend, Path(workdir))
        try:
            database = Database(url)
            fill_contacts(database, count)
            run_id = sent_run(database, count)
            with database.session() as session:
                contact_ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))
            env = {
                **os.environ,
                "CAMPAIGN_DATA_DIR": workdir,
                "CAMPAIGN_DATABASE_URL": url,
                "CAMPAIGN_REDIS_URL": redis_url,
                "CAMPAIGN_SECRET_KEY": SECRET_KEY,
                "CAMPAIGN_SMS_WEBHOOK_SECRET_HTTP": WEBHOOK_SECRET,
                # the whole load comes from one address: allow it (the limiter still counts)
                "CAMPAIGN_PUBLIC_RATE_LIMIT": str(10 * count),
                "CAMPAIGN_WEBHOOK_RATE_LIMIT": str(10 * count),
                "CAMPAIGN_LOG_LEVEL": "ERROR",
            }
            servers = start_servers(env)
            try:
                for name, make in (
                    ("one-click unsubscribe POSTs", one_click_requests),
                    ("SMS delivery receipts", receipt_requests),
                ):
                    seconds, latencies = hammer(make(contact_ids, run_id))
                    report(name, seconds, latencies)
            finally:
                for server in servers:
                    server.terminate()
                for server in servers:
                    server.wait(timeout=30)
            check(database, run_id, count)
            database.dispose()
        finally:
            drop_database(url)
            release_redis(redis_url)


def check(database: Database, run_id: int, count: int) -> None:
    with database.session() as session:
        opted_out = session.scalar(select(func.count()).where(Contact.opt_out_email.is_(True)))
        delivered = session.scalar(
            select(func.count()).where(RunItem.run_id == run_id, RunItem.delivery == "delivered")
        )
    # fill_contacts opts about 5 % out of e-mail already
    assert opted_out == count, opted_out
    assert delivered == count, delivered


def bounces(backend: str, count: int) -> None:
    """The bounces part (bench/feedback_bounces.py) on its default maildir; run that file
    itself for ``--mailbox imap``."""
    report_bounces(bench_bounces(backend, count, "maildir"), backend, "maildir")


BENCHES: dict[str, Callable[[str, int], None]] = {
    "endpoints": bench_endpoints,
    "bounces": bounces,
}


def main() -> None:
    args = arguments("Feedback from recipients and providers", 10_000)
    for bench in BENCHES.values():
        bench(args.backend, args.count)


if __name__ == "__main__":
    main()
