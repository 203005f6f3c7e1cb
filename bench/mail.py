"""E-mail throughput: N messages through a real campaign run against the loopback SMTP server
of the tests (aiosmtpd, started in this process), with one worker and then with two, next to
a raw smtplib loop on one connection (the raw floor) and the action's own steps timed one by
one, all in the same run.

    .venv/bin/python bench/mail.py --backend sqlite --count 20000
    .venv/bin/python bench/mail.py --backend postgresql --count 20000
    .venv/bin/python bench/mail.py --backend postgresql --count 20000 --pgbench

With ``--pgbench`` one worker is measured again while ``pgbench -c 2 -R 200`` runs against
the same server (bench/pgbench_load.py). CPU per message is the smtplib loop's own thread
(the server runs in another thread of this process), and for the engine the worker
processes' CPU, with and without the start-up of idle workers measured in the same run.

Needs Redis on CAMPAIGN_BENCH_REDIS_SERVER (default redis://127.0.0.1:6379), like
bench/sms.py. Worker time includes starting the worker processes. The server records every
message, so each run is also checked for exactly one message per recipient.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

import smtplib  # noqa: E402

from common import (  # noqa: E402
    Stopwatch,
    burst_workers,
    claim_redis,
    drop_database,
    empty_queues,
    fill_contacts,
    fresh_database,
    release_redis,
)
from pgbench_load import arguments, load_average, pgbench_load  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from core import Channel  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, build_plugins, create_campaign  # noqa: E402
from core.engine.context import RunContext  # noqa: E402
from core.engine.dispatch import load_recipients  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.messaging.mail import build_message, message_id  # noqa: E402
from core.models import Contact, Run, RunItem  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from plugins.actions.email import contact_of  # noqa: E402

from smtp_server import SmtpServer  # noqa: E402

RAW = 2000
STEPS = 1000
SUBJECT = "Neuigkeiten für {{ first_name }} aus {{ city }}"
TEXT = "Hallo {{ first_name }} {{ last_name }},\n\nwir haben Neuigkeiten für Sie.\n"
HTML = "<p>Hallo <b>{{ first_name }} {{ last_name }}</b>,</p><p>wir haben Neuigkeiten.</p>"


def mail_settings(server: SmtpServer) -> dict[str, str]:
    return {
        "CAMPAIGN_SMTP_URL": server.url,
        "CAMPAIGN_MAIL_FROM": "Kampagne <kampagne@example.de>",
        "CAMPAIGN_PUBLIC_URL": "https://kampagne.example.de",  # for the unsubscribe links
    }


def give_addresses(database: Database) -> None:
    with database.session() as session:
        ids = session.scalars(select(Contact.id)).all()
        session.execute(update(Contact), [{"id": i, "email": f"p{i}@example.de"} for i in ids])


def raw_loop(server: SmtpServer) -> tuple[float, float]:
    """smtplib alone: one connection, one prepared message sent RAW times; messages per
    second and the client's CPU microseconds per message."""
    data = build_message(
        sender="kampagne@example.de",
        to="erika@example.de",
        subject="Neuigkeiten",
        message_id=message_id("raw", "example.de"),
        date=datetime.now(UTC),
        text="Hallo Erika,\n\nwir haben Neuigkeiten für Sie.\n",
    ).data
    cpu = time.thread_time()
    with smtplib.SMTP("127.0.0.1", server.port) as connection, Stopwatch() as watch:
        for _ in range(RAW):
            connection.sendmail("kampagne@example.de", ["erika@example.de"], data)
    return RAW / watch.seconds, (time.thread_time() - cpu) / RAW * 1e6


def action_steps(runtime: Runtime, campaign_id: int) -> dict[str, float]:
    """The action's steps for STEPS recipients in this process, in ms per message."""
    with runtime.database.session() as session:
        config = CampaignConfig.from_snapshot(
            session.get(Run, session.scalar(select(Run.id).limit(1))).config
        )
        built = build_plugins(runtime.plugins, config)
        items = session.execute(
            select(RunItem.id, RunItem.kind, RunItem.entity_id, RunItem.group_key)
            .order_by(RunItem.id)
            .limit(STEPS)
        ).all()
        context = RunContext(runtime, session, campaign_id, "Bench", None, Channel.EMAIL)
        spent: dict[str, float] = defaultdict(float)
        started = time.perf_counter()
        recipients = load_recipients(context, built, items)
        spent["load recipients (one query)"] = time.perf_counter() - started
        action = built.action
        store = action._store(context, action.params.store)
        mailer = action.mailer(context)
        for number, recipient in enumerate(recipients.values()):
            started = time.perf_counter()
            composed = action.compose(recipient, contact_of(recipient), context)
            spent["templates + message bytes"] += time.perf_counter() - started
            started = time.perf_counter()
            store.put(f"bench/{number}.eml", composed.message.data)
            spent["archive file (write + fsync)"] += time.perf_counter() - started
            started = time.perf_counter()
            mailer.send(composed.message)
            spent["SMTP transaction"] += time.perf_counter() - started
        mailer.close()
        session.rollback()
    return {step: seconds * 1000 / STEPS for step, seconds in spent.items()}


def with_workers(
    runtime: Runtime, campaign_id: int, count: int, workers: int, server: SmtpServer, start_cpu
) -> str:
    """One run through ``workers`` real workers, checked for one message per recipient sent; its
    line: messages per second and the workers' CPU per message (on a machine shared with
    other work, the steadier figure), with and without their start-up."""
    run = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")
    empty_queues(runtime.settings.redis_url)  # targeting runs here, not in the workers
    target_run(run.id)
    before, connections = len(server.messages), server.connections
    watch = burst_workers(runtime.settings, workers)
    with runtime.database.session() as session:
        finished = session.get(Run, run.id)
        # contacts the address book blocks or opted out of e-mail are skipped, never sent
        assert finished.done + finished.skipped == count, (finished.state, finished.done)
        assert finished.failed == finished.unclear == 0, (finished.failed, finished.unclear)
    done = finished.done
    sent = server.messages[before:]
    ids = {received.message["Message-ID"] for received in sent}
    assert len(sent) == len(ids) == done, (len(sent), len(ids), done)
    return (
        f"{done / watch.seconds:8,.0f} messages/s, worker CPU "
        f"{watch.children_cpu / done * 1e6:.0f} µs per message "
        f"({(watch.children_cpu - start_cpu * workers) / done * 1e6:.0f} without the "
        f"start-up); {server.connections - connections} connections, one message per "
        f"recipient ({load_average()})"
    )


def main() -> None:
    args = arguments("E-mail throughput", 20_000)
    redis_url = claim_redis()
    with tempfile.TemporaryDirectory(prefix="cb-") as workdir:
        server = SmtpServer(Path(workdir) / "smtp")
        url = fresh_database(args.backend, Path(workdir))
        try:
            database = Database(url)
            fill_contacts(database, args.count)
            give_addresses(database)
            env = {
                "CAMPAIGN_DATA_DIR": str(Path(workdir) / "data"),
                "CAMPAIGN_DATABASE_URL": url,
                "CAMPAIGN_REDIS_URL": redis_url,
                "CAMPAIGN_SECRET_KEY": "bench",
                **mail_settings(server),
            }
            settings = Settings.from_env(env)
            # the workers take the mail server and the secret from the environment
            os.environ.update({**mail_settings(server), "CAMPAIGN_SECRET_KEY": "bench"})
            runtime = Runtime.start(settings, load_plugins())
            install_runtime(runtime)
            config = CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="email",
                action_settings={"subject": SUBJECT, "text": TEXT, "html": HTML},
            )
            with runtime.database.session() as session:
                campaign_id = create_campaign(
                    session, runtime.plugins, config, runtime.clock.now()
                ).id
            print(f"{args.backend}, {args.count} messages per run")
            raw, raw_cpu = raw_loop(server)
            print(
                f"  smtplib alone, one connection: {raw:8,.0f} messages/s, "
                f"client CPU {raw_cpu:.0f} µs per message ({load_average()})"
            )
            idle = burst_workers(runtime.settings, 1)
            print(
                f"  worker start-up alone:         {idle.seconds:8.1f} s, "
                f"{idle.children_cpu:.1f} s CPU (counted below)"
            )
            for workers in (1, 2):
                line = with_workers(
                    runtime, campaign_id, args.count, workers, server, idle.children_cpu
                )
                print(f"  engine, {workers} worker(s):          {line}", flush=True)
            if args.pgbench:
                with pgbench_load() as load:
                    line = with_workers(
                        runtime, campaign_id, args.count, 1, server, idle.children_cpu
                    )
                print(
                    f"  1 worker, pgbench ({load.transactions_per_second:.0f} tps): {line}",
                    flush=True,
                )
            steps = action_steps(runtime, campaign_id)
            print(f"  the action's steps in one process ({STEPS} messages), ms per message:")
            for step, milliseconds in steps.items():
                print(f"    {step:32} {milliseconds:7.3f}")
            runtime.close()
        finally:
            server.close()
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
