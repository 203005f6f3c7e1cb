"""Dispatch throughput: a no-op action over N recipients with one and two real workers,
next to the same work as a raw loop in one process (the raw floor) in the same run.

    .venv/bin/python bench/dispatch.py --backend sqlite --count 100000
    .venv/bin/python bench/dispatch.py --backend postgresql --count 100000
    .venv/bin/python bench/dispatch.py --backend postgresql --count 100000 --pgbench

With ``--pgbench`` two workers are measured again while ``pgbench -c 2 -R 200`` runs against
the same server (bench/pgbench_load.py).

Needs Redis on CAMPAIGN_BENCH_REDIS_SERVER (default redis://127.0.0.1:6379): it takes an
empty database there under the test suite's lock key, as bench/sms.py does.
Worker time includes starting the worker processes; the start-up of an idle worker is
printed on its own.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

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

from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.context import RunContext  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.jobs.queue import QUEUE_NAMES, get_queue  # noqa: E402
from core.models import Run  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402


def raw_loop(runtime: Runtime, campaign_name: str) -> tuple[float, float]:
    """The action over every recipient in one process, loading them in the same batches:
    recipients per second and CPU microseconds per recipient."""
    source = runtime.plugins.datasources.get("bench_contacts")()
    action = runtime.plugins.actions.get("bench_noop")()
    cpu = time.process_time()
    with runtime.database.session() as session, Stopwatch() as watch:
        context = RunContext(runtime, session, None, campaign_name, None, action.channel)
        ids = [row.id for row in session.execute(source.select(context))]
        for start in range(0, len(ids), action.chunk_size):
            for recipient in source.load(context, ids[start : start + action.chunk_size]).values():
                action.process(recipient, context)
    return len(ids) / watch.seconds, (time.process_time() - cpu) / len(ids) * 1e6


def with_workers(runtime: Runtime, campaign_id: int, workers: int, count: int) -> Stopwatch:
    run = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")
    for name in QUEUE_NAMES:  # targeting runs here, not in a worker
        get_queue(runtime.redis, name).empty()
    target_run(run.id)
    watch = burst_workers(runtime.settings, workers, ["bench_plugins"])
    with runtime.database.session() as session:
        finished = session.get(Run, run.id)
        assert finished.done == count, (finished.state, finished.done)
    return watch


def main() -> None:
    args = arguments("dispatch throughput", 100_000)
    redis_url = claim_redis("bench-dispatch")
    with tempfile.TemporaryDirectory(prefix="cb-") as workdir:
        url = fresh_database(args.backend, Path(workdir))
        try:
            fill_contacts(Database(url), args.count)
            settings = Settings(
                Path(workdir), url, redis_url, "bench", extra_plugins=("bench_plugins",)
            )
            runtime = Runtime.start(settings, load_plugins(modules=("bench_plugins",)))
            install_runtime(runtime)
            config = CampaignConfig(datasource="bench_contacts", action="bench_noop")
            with runtime.database.session() as session:
                campaign = create_campaign(session, runtime.plugins, config, runtime.clock.now())
                campaign_id, name = campaign.id, campaign.name
            raw, raw_cpu = raw_loop(runtime, name)
            print(f"{args.backend}, {args.count} recipients")
            print(
                f"  raw loop, one process:   {raw:10,.0f} recipients/s, "
                f"CPU {raw_cpu:.0f} µs per recipient ({load_average()})"
            )
            idle = burst_workers(runtime.settings, 1, ["bench_plugins"])
            print(
                f"  worker start-up alone:   {idle.seconds:10.1f} s, "
                f"{idle.children_cpu:.1f} s CPU (counted below)"
            )

            def measure(workers: int, label: str) -> None:
                watch = with_workers(runtime, campaign_id, workers, args.count)
                rate = args.count / watch.seconds
                cpu = watch.children_cpu / args.count * 1e6
                net = (watch.children_cpu - idle.children_cpu * workers) / args.count * 1e6
                print(
                    f"  {label}{rate:10,.0f} recipients/s ({rate / workers:,.0f} per worker; "
                    f"worker CPU {cpu:.0f} µs per recipient, {net:.0f} without the start-up; "
                    f"{load_average()})",
                    flush=True,
                )

            for workers in (1, 2):
                measure(workers, f"{workers} worker(s):            ")
            if args.pgbench:
                with pgbench_load() as load:
                    measure(2, "2 workers, pgbench:    ")
                print(f"    (pgbench ran {load.transactions_per_second:.0f} transactions/s)")
            runtime.close()
        finally:
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
