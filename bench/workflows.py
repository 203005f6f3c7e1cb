"""What operating the workflows costs once years of runs have piled up: an idle scheduler
tick, the listing, a page of history, and the bookkeeping around one recorded pass.

    .venv/bin/python bench/workflows.py --backend sqlite --count 200000
    .venv/bin/python bench/workflows.py --backend postgresql --count 200000

``--count`` runs are spread over five workflows (the five defaults make about 500 a
day, 200,000 is more than a year). Needs Redis (a free database of
CAMPAIGN_BENCH_REDIS_SERVER, see bench/common.py).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import (  # noqa: E402
    Stopwatch,
    arguments,
    claim_redis,
    drop_database,
    fresh_database,
    release_redis,
)
from sqlalchemy import text  # noqa: E402

from core import Workflow, hookimpl  # noqa: E402
from core.config import Settings  # noqa: E402
from core.jobs.scheduler import Scheduler  # noqa: E402
from core.models import WorkflowRun  # noqa: E402
from core.plugins import PluginHost  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.workflows.operating import enqueue_due, list_workflows, run_history, run_inline  # noqa: E402

NAMES = ("budgetMgt", "stockMgt", "deliveryMgt", "operationMgt", "supplierMgt")
REPEAT = 50


def workflow_class(name: str) -> type[Workflow]:
    def run(self, context):
        context.log("nothing to do")
        return "nothing to do"

    return type(name, (Workflow,), {"name": name, "title": name, "run": run})


class FivePlugin:
    @staticmethod
    @hookimpl
    def register_workflows(register):
        for name in NAMES:
            register(workflow_class(name))


def fill_runs(runtime: Runtime, count: int) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        {
            "workflow": NAMES[index % len(NAMES)],
            "trigger": "scheduled",
            "status": "succeeded",
            "enqueued_at": start + timedelta(minutes=3 * index),
            "started_at": start + timedelta(minutes=3 * index),
            "finished_at": start + timedelta(minutes=3 * index, seconds=2),
            "summary": "3 budgets updated",
            "log": ["read 12 deliveries", "3 budgets updated"],
            "worker": "bench:1",
        }
        for index in range(count)
    ]
    with runtime.database.session() as session:
        for offset in range(0, count, 20000):
            session.execute(WorkflowRun.__table__.insert(), rows[offset : offset + 20000])


def per_call_ms(function, repeat: int = REPEAT) -> float:
    with Stopwatch() as watch:
        for _ in range(repeat):
            function()
    return watch.seconds / repeat * 1000


def main() -> None:
    args = arguments("Workflow operations with many recorded runs", 200_000)
    redis_url = claim_redis("bench-workflows")
    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_database(args.backend, Path(workdir))
        settings = Settings(Path(workdir), url, redis_url, "bench")
        host = PluginHost()
        host.add(FivePlugin, "five", "bench")
        runtime = Runtime.start(settings, host)
        try:
            with Stopwatch() as fill:
                fill_runs(runtime, args.count)
            if args.backend == "postgresql":  # what autovacuum does after a bulk load
                with runtime.database.engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text("VACUUM ANALYZE workflow_runs")
                    )
            enqueue_due(runtime)  # create the schedules; all five are now 15 minutes away
            scheduler = Scheduler(runtime)
            now = runtime.clock.now()

            def listing():
                with runtime.database.session() as session:
                    list_workflows(session, host, settings, now)

            def page(number):
                def read():
                    with runtime.database.session() as session:
                        run_history(session, "budgetMgt", number, 20)

                return read

            last_page = args.count // len(NAMES) // 20
            print(f"{args.backend}, {args.count} runs (filled in {fill.seconds:.1f} s)")
            print(f"  idle scheduler tick:        {per_call_ms(scheduler.tick):7.2f} ms")
            print(f"  list_workflows:             {per_call_ms(listing):7.2f} ms")
            print(f"  history, newest page:       {per_call_ms(page(1)):7.2f} ms")
            print(f"  history, page {last_page:<6}:       {per_call_ms(page(last_page)):7.2f} ms")
            print(
                "  recorded no-op pass inline: "
                f"{per_call_ms(lambda: run_inline(runtime, 'budgetMgt', 'bench')):7.2f} ms"
            )
        finally:
            runtime.close()
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
