"""Letters per second on several hosts (``tests/network_hosts.py``: network namespaces on
this machine, a new PostgreSQL and Redis on the services host), with one and with two worker
hosts, and with the archive and the run files in the ``database``, ``s3`` (moto's server on
the services host) or ``filesystem`` store (one data directory for every host, standing in
for a shared file system).

    .venv/bin/python bench/scale.py --contacts 600

Each figure is one real print run of every demo contact (one-page letters of
"Informationsschreiben", archived, then the collection PDF and manifest), timed from the
start of the run to its end as the database records them: targeting, the chunks and the
finishing step. Needs root. The hosts share this machine's cores (two here) with whatever
else runs on it, so two worker hosts cannot double the rate of one, and the figures vary
with the machine's load.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH.parent / "tests")]

from sqlalchemy import select  # noqa: E402

from core.clock import utcnow  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.models import Run, RunState  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from plugins.demo.campaign import DEMO_REPORT  # noqa: E402

from network_hosts import Cluster, namespaces_unavailable  # noqa: E402

S3_PORT = 9000
BUCKET = "campaign-bench"


def wait(condition, what: str, timeout: float = 900.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waiting for {what}")
        time.sleep(0.2)
    return value


def listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1).close()
    except OSError:
        return False
    return True


def measure(cluster: Cluster, database: Database, store: str, workers: int) -> tuple[int, float]:
    """One run of every contact with ``workers`` worker hosts: (letters, seconds)."""
    cluster.run_file_store = store
    cluster.shared_data_dir = store == "filesystem"
    started = [
        cluster.campaign(f"worker{n}", "worker", label=f"bench-worker{n}")
        for n in range(1, workers + 1)
    ]
    name = f"Bench {store} {workers}"
    with database.session() as session:
        create_campaign(
            session,
            load_plugins(),
            CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="print_reports",
                action_settings={"report": DEMO_REPORT, "store": store},
            ),
            utcnow(),
            name=name,
        )
    cluster.command("run", name, "--yes")
    with database.session() as session:
        run_id = session.scalar(select(Run.id).order_by(Run.id.desc()).limit(1))

    def ended() -> Run | None:
        with database.session() as session:
            run = session.get(Run, run_id)
            return run if run.finished_at is not None else None

    run = wait(ended, f"run {run_id}")
    for process in started:
        cluster.stop(process)
    if run.state is not RunState.COMPLETED:
        raise RuntimeError(f"run {run_id} ended {run.state}: {run.error}")
    return run.done, (run.finished_at - run.created_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=600)
    parser.add_argument("--stores", default="filesystem,database,s3")
    args = parser.parse_args()
    if reason := namespaces_unavailable():
        sys.exit(f"several hosts cannot be built here: {reason}")
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="campaign-scale-")))
    try:
        cluster.build()
        cluster.start_services()
        services = cluster.hosts["services"].address
        moto = str(Path(sys.executable).with_name("moto_server"))
        cluster.start("services", [moto, "-H", services, "-p", str(S3_PORT)], "s3", uts=False)
        for port in (5432, 6379, S3_PORT):
            wait(lambda port=port: listening(services, port), f"port {port}", 120)
        s3 = {
            "CAMPAIGN_S3_ENDPOINT_URL": f"http://{services}:{S3_PORT}",
            "CAMPAIGN_S3_BUCKET": BUCKET,
            "CAMPAIGN_S3_ACCESS_KEY_ID": "bench",
            "CAMPAIGN_S3_SECRET_ACCESS_KEY": "bench-secret",
        }
        cluster.extra_environment.update(s3)
        import boto3

        boto3.client(
            "s3",
            endpoint_url=s3["CAMPAIGN_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench-secret",
        ).create_bucket(Bucket=BUCKET)
        cluster.command("db", "upgrade")
        cluster.command("demo", "--contacts", str(args.contacts))
        database = Database(cluster.database_url.replace("postgresql:", "postgresql+psycopg:"))
        print(f"{'store':<11} {'worker hosts':>12} {'letters':>8} {'seconds':>8} {'letters/s':>10}")
        for store in args.stores.split(","):
            for workers in (1, 2):
                letters, seconds = measure(cluster, database, store, workers)
                print(
                    f"{store:<11} {workers:>12} {letters:>8} {seconds:>8.1f} "
                    f"{letters / seconds:>10.1f}",
                    flush=True,
                )
        database.dispose()
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
