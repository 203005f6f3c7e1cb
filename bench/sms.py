"""SMS throughput: N messages through the engine with one real worker and the "http" gateway
against a loopback provider started in this process, next to the gateway alone (its raw
floor) in the same run.

    .venv/bin/python bench/sms.py --backend sqlite --count 20000
    .venv/bin/python bench/sms.py --backend postgresql --count 20000
    .venv/bin/python bench/sms.py --backend postgresql --count 20000 --pgbench

With ``--pgbench`` the engine is measured a second time while ``pgbench -c 2 -R 200`` runs
against the same server (bench/pgbench_load.py). CPU per message is the gateway loop's own
thread (the provider runs in other threads of this process), and for the engine the worker
processes' CPU, with and without the start-up of an idle worker measured in the same run.

Needs Redis on CAMPAIGN_BENCH_REDIS_SERVER (default redis://127.0.0.1:6379): it takes an
empty database there under the test suite's lock key, so it shares no queue with a test
session or another benchmark running at the same time. Worker time includes starting
the worker process. The provider is the test suite's
stand-in (tests/test_gateways_http_sms.py): it records every request, so the run is
also checked for exactly one request per message.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

from common import (  # noqa: E402
    Stopwatch,
    burst_workers,
    claim_redis,
    drop_database,
    fill_contacts,
    fresh_database,
    release_redis,
)
from pgbench_load import arguments, load_average, pgbench_load  # noqa: E402
from sqlalchemy import select, update  # noqa: E402
from test_gateways_http_sms import FakeProvider  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.jobs.queue import QUEUE_NAMES, get_queue  # noqa: E402
from core.models import Contact, Run  # noqa: E402
from core.plugins import DEFAULT_PLUGINS, load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from plugins.gateways.http_sms import HttpGateway  # noqa: E402

SMS_MODULES = ("plugins.actions.sms", "plugins.gateways.http_sms")
EXTRA = (*(name for name in SMS_MODULES if name not in DEFAULT_PLUGINS), "bench_sms_plugins")
TEMPLATE = "Hallo {{ first_name }}, Ihr Gutschein wartet in {{ city }}! Code {{ number }}"
GATEWAY_ALONE = 2000


def give_mobiles(database: Database) -> None:
    with database.session() as session:
        ids = session.scalars(select(Contact.id)).all()
        session.execute(
            update(Contact),
            [{"id": i, "mobile": f"0151 {10_000_000 + i:08d}"} for i in ids],
        )


def gateway_alone(provider: FakeProvider) -> tuple[float, float]:
    """The HTTP round trips alone, one process, one kept-alive connection: messages per
    second and the client's CPU microseconds per message."""
    gateway = HttpGateway({"url": provider.url, "message_id_path": "messages.0.id"})
    cpu = time.thread_time()
    with Stopwatch() as watch:
        for n in range(GATEWAY_ALONE):
            gateway.send("+4915112345678", "Hallo Erika", f"alone-{n}")
    cpu = time.thread_time() - cpu
    gateway.close()
    return GATEWAY_ALONE / watch.seconds, cpu / GATEWAY_ALONE * 1e6


def with_worker(
    runtime: Runtime, campaign_id: int, count: int, provider: FakeProvider, start_cpu: float
) -> str:
    """One run through one real worker, checked for one request per message; its line."""
    run = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")
    for name in QUEUE_NAMES:  # targeting runs here, not in the worker
        get_queue(runtime.redis, name).empty()
    target_run(run.id)
    before, connections = len(provider.requests), provider.connections
    watch = burst_workers(runtime.settings, 1, EXTRA)
    with runtime.database.session() as session:
        finished = session.get(Run, run.id)
        # contacts the address book blocks or opted out of SMS are skipped, never sent
        assert finished.done + finished.skipped == count, (finished.state, finished.done)
        assert finished.failed == finished.unclear == 0, (finished.failed, finished.unclear)
    done = finished.done
    sent = provider.requests[before:]
    keys = {seen.headers["Idempotency-Key"] for seen in sent}
    assert len(sent) == len(keys) == done, (len(sent), len(keys), done)
    return (
        f"{done / watch.seconds:8,.0f} messages/s, worker CPU "
        f"{watch.children_cpu / done * 1e6:.0f} µs per message "
        f"({(watch.children_cpu - start_cpu) / done * 1e6:.0f} without the start-up); "
        f"{provider.connections - connections} connections, one request per message "
        f"({load_average()})"
    )


def main() -> None:
    args = arguments("SMS throughput", 20_000)
    provider = FakeProvider()
    redis_url = claim_redis("bench-sms")
    with tempfile.TemporaryDirectory(prefix="cb-") as workdir:
        url = fresh_database(args.backend, Path(workdir))
        try:
            database = Database(url)
            fill_contacts(database, args.count)
            give_mobiles(database)
            settings = Settings(Path(workdir), url, redis_url, "bench", extra_plugins=EXTRA)
            runtime = Runtime.start(settings, load_plugins(modules=(*SMS_MODULES, *EXTRA[-1:])))
            install_runtime(runtime)
            config = CampaignConfig(
                datasource="bench_mobiles",
                action="sms",
                action_settings={
                    "gateway": "http",
                    "gateway_settings": {"url": provider.url, "message_id_path": "messages.0.id"},
                    "template": TEMPLATE,
                    "sender": "Campaign",
                },
            )
            with runtime.database.session() as session:
                campaign_id = create_campaign(
                    session, runtime.plugins, config, runtime.clock.now()
                ).id
            print(f"{args.backend}, {args.count} recipients")
            alone, alone_cpu = gateway_alone(provider)
            print(
                f"  gateway alone, one process:  {alone:8,.0f} messages/s, "
                f"client CPU {alone_cpu:.0f} µs per message ({load_average()})"
            )
            idle = burst_workers(runtime.settings, 1, EXTRA)
            print(
                f"  worker start-up alone:       {idle.seconds:8.1f} s, "
                f"{idle.children_cpu:.1f} s CPU (counted below)"
            )
            line = with_worker(runtime, campaign_id, args.count, provider, idle.children_cpu)
            print(f"  engine, 1 worker:            {line}", flush=True)
            if args.pgbench:
                with pgbench_load() as load:
                    line = with_worker(
                        runtime, campaign_id, args.count, provider, idle.children_cpu
                    )
                print(
                    f"  with pgbench ({load.transactions_per_second:.0f} tps): {line}",
                    flush=True,
                )
            runtime.close()
        finally:
            provider.close()
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
