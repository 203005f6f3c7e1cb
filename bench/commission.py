"""Commission throughput: a booking for every contract of the demo address book with one and
two real workers, then listing the totals and reversing the run.

    .venv/bin/python bench/commission.py --backend sqlite --count 30000
    .venv/bin/python bench/commission.py --backend postgresql --count 30000

``--count`` is the number of demo contacts; there are about three contracts for every four.
Needs Redis on CAMPAIGN_BENCH_REDIS_SERVER (default redis://127.0.0.1:6379), where it takes
an empty database under the test suite's lock key. Worker time includes starting the worker
processes. Every run is checked for exactly one booking per contract.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import (  # noqa: E402
    Stopwatch,
    arguments,
    burst_workers,
    claim_redis,
    drop_database,
    fresh_database,
    release_redis,
)
from sqlalchemy import func, select  # noqa: E402

from core.config import Settings  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.jobs.queue import QUEUE_NAMES, get_queue  # noqa: E402
from core.models import Contract, Run  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from plugins.actions.commission.bookings import reverse_run, run_totals  # noqa: E402
from plugins.actions.commission.models import CommissionBooking  # noqa: E402
from plugins.demo.address_book import load_demo  # noqa: E402

MODULES = ("plugins.datasources.query", "plugins.actions.commission")
SETTINGS = {
    "booking_key": "AP",
    "text": "Abschlussprovision {{ number }} {{ product.name }}",
    "field": "amount",
    "rate_field": "partner.commission_rate",
    "paying_company": "Rheintal Versicherung AG",
}


def with_workers(runtime: Runtime, campaign_id: int, workers: int, count: int) -> tuple[int, float]:
    run = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")
    for name in QUEUE_NAMES:  # targeting runs here, not in a worker
        get_queue(runtime.redis, name).empty()
    target_run(run.id)
    seconds = burst_workers(runtime.settings, workers).seconds
    with runtime.database.session() as session:
        finished = session.get(Run, run.id)
        booked = session.scalar(
            select(func.count(func.distinct(CommissionBooking.ledger_key))).where(
                CommissionBooking.run_id == run.id
            )
        )
        assert finished.done == booked == count, (finished.state, finished.done, booked)
    return run.id, count / seconds


def main() -> None:
    args = arguments("commission throughput", 30_000)
    redis_url = claim_redis()
    with tempfile.TemporaryDirectory(prefix="cb-") as workdir:
        url = fresh_database(args.backend, Path(workdir))
        try:
            settings = Settings(Path(workdir), url, redis_url, "bench")
            runtime = Runtime.start(settings, load_plugins(modules=MODULES, entry_points=False))
            install_runtime(runtime)
            with runtime.database.session() as session:
                load_demo(session, contacts=args.count)
                contracts = session.scalar(select(func.count()).select_from(Contract))
                config = CampaignConfig(
                    datasource="query",
                    datasource_settings={"definition": {"root": "contracts"}},
                    action="commission",
                    action_settings=SETTINGS,
                )
                campaign_id = create_campaign(
                    session, runtime.plugins, config, runtime.clock.now()
                ).id
            print(f"{args.backend}, {contracts} contracts")
            for workers in (1, 2):
                run_id, rate = with_workers(runtime, campaign_id, workers, contracts)
                print(
                    f"  {workers} worker(s):          {rate:10,.0f} bookings/s "
                    f"({rate / workers:,.0f} per worker)"
                )
            with runtime.database.session() as session, Stopwatch() as totals:
                (total,) = run_totals(session, run_id)
            with runtime.database.session() as session, Stopwatch() as reversal:
                reverse_run(session, run_id, by="bench")
            print(f"  totals of a run:      {totals.seconds * 1000:10,.0f} ms ({total.booked} EUR)")
            print(f"  reversal of a run:    {reversal.seconds * 1000:10,.0f} ms")
            runtime.close()
        finally:
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
