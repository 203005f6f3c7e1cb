"""Targeting speed and memory: a query with three conditions and two filters over N contacts,
materialised into a run's ledger, next to the same selection as one hand-written
INSERT ... SELECT (the floor).

    .venv/bin/python bench/targeting.py --backend sqlite --count 1000000
    .venv/bin/python bench/targeting.py --backend postgresql --count 1000000

Each measured step runs in a forked child, so its peak memory is its own.
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
    claim_redis,
    drop_database,
    fill_contacts,
    fresh_database,
    in_child,
    release_redis,
)
from sqlalchemy import func, select, text  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.engine.runs import start_run  # noqa: E402
from core.engine.targeting import target_run  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.models import Run, RunItem  # noqa: E402
from core.plugins import DEFAULT_PLUGINS, load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402

CITIES = ["Köln", "Berlin", "München", "Hamburg"]
QUERY = {
    "root": "contacts",
    "where": {
        "op": "and",
        "conditions": [
            {"field": "status", "type": "equals", "values": ["prospect"]},
            {"field": "email", "type": "not_empty"},
            {"field": "city", "type": "equals", "values": CITIES},
        ],
    },
}
FILTERS = [
    {"name": "consent", "settings": {}},
    {"name": "dedupe", "settings": {"key": "email", "keep": "lowest_id"}},
]
FLOOR = """
INSERT INTO run_items (run_id, key, action, kind, entity, entity_id, chunk, status, units, attempts)
SELECT :run_id, 'contacts:' || CAST(id AS VARCHAR(20)), 'bench_noop_email', 'recipient',
       'contacts', id, (row_number() OVER (ORDER BY id) - 1) / 2000, 'pending', 0, 0
FROM (
    SELECT id, row_number() OVER (PARTITION BY lower(trim(email)) ORDER BY id) AS copy
    FROM contacts
    WHERE status = 'prospect' AND email IS NOT NULL AND email <> ''
      AND city IN ('Köln', 'Berlin', 'München', 'Hamburg')
      AND NOT dispatch_block AND NOT opt_out_email
) AS selected
WHERE copy = 1
"""


def main() -> None:
    args = arguments("targeting speed and memory", 1_000_000)
    redis_url = claim_redis("bench-targeting")
    with tempfile.TemporaryDirectory(prefix="ct-") as workdir:
        url = fresh_database(args.backend, Path(workdir))
        try:
            with Stopwatch() as fill:
                fill_contacts(Database(url), args.count)
            settings = Settings(Path(workdir), url, redis_url, "bench")
            plugins = load_plugins(modules=(*DEFAULT_PLUGINS, "bench_plugins"), entry_points=False)
            assert not plugins.errors, plugins.errors
            runtime = Runtime.start(settings, plugins)
            install_runtime(runtime)
            config = CampaignConfig(
                datasource="query",
                datasource_settings={"definition": QUERY},
                filters=tuple(FILTERS),
                action="bench_noop_email",
            )
            with runtime.database.session() as session:
                campaign_id = create_campaign(
                    session, runtime.plugins, config, runtime.clock.now()
                ).id
            if args.backend == "postgresql":
                with runtime.database.engine.begin() as connection:
                    connection.exec_driver_sql("ANALYZE contacts")
            runtime.database.dispose()

            ours = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")
            seconds, memory = in_child(lambda: target_run(ours.id))

            floor_run = start_run(runtime, campaign_id, allow_parallel=True, confirmed_by="bench")

            def floor() -> None:
                with runtime.database.engine.begin() as connection:
                    connection.execute(text(FLOOR), {"run_id": floor_run.id})

            runtime.database.dispose()
            floor_seconds, floor_memory = in_child(floor)
            with runtime.database.session() as session:
                targeted = session.get(Run, ours.id).targeted
                floor_rows = session.scalar(
                    select(func.count()).where(RunItem.run_id == floor_run.id)
                )
            assert targeted == floor_rows, (targeted, floor_rows)
            print(f"{args.backend}, {args.count:,} contacts (filled in {fill.seconds:.1f} s)")
            print(f"  selected:              {targeted:,} recipients")
            print(f"  campaign targeting:    {seconds:7.2f} s, peak {memory:6.0f} MB")
            print(f"  hand-written INSERT:   {floor_seconds:7.2f} s, peak {floor_memory:6.0f} MB")
            print(f"  ratio to the floor:    {seconds / floor_seconds:7.2f}x")
            runtime.close()
        finally:
            release_redis(redis_url)
            drop_database(url)


if __name__ == "__main__":
    main()
