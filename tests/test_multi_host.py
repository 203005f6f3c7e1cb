"""Campaign on several hosts (``network_hosts``: network namespaces on this machine): one
for a new PostgreSQL, Redis and a loopback SMS gateway, one for the panel, two for workers,
one for the scheduler, each with a data directory of its own and nothing shared but the
network. The seed's example (query → campaign → print → archive) and an SMS run go through
it; the panel opens a letter and the collection PDF that workers on other hosts made; and a
run whose worker host is cut off mid-run is finished by the other worker, with no letter
twice. Skipped where namespaces cannot be made (not root); with CI=true that is a failure.
"""

from __future__ import annotations

import io
import json
import re
import socket
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader
from sqlalchemy import func, select

from core.clock import utcnow
from core.db.database import Database
from core.engine.campaigns import CampaignConfig, create_campaign
from core.models import ArchivedDocument, Campaign, ItemStatus, Run, RunItem, RunState
from core.plugins import load_plugins
from core.testing import IN_CI
from plugins.demo.campaign import DEMO_REPORT

from network_hosts import Cluster, namespaces_unavailable
from waiting import wait_for

pytestmark = pytest.mark.slow
DEADLINE = 300.0
"""Seconds for a run; the machine is shared, and a cut worker's lease runs out first."""
PASSWORD = "multi-host-password"


@pytest.fixture(scope="module")
def cluster():
    reason = namespaces_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"the multi-host test must run in CI: {reason}", pytrace=False)
        pytest.skip(f"several hosts cannot be built here: {reason}")
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="campaign-hosts-")))
    try:
        cluster.build()
        cluster.start_services()
        services = cluster.hosts["services"].address
        wait_for(lambda: _listening(services, 5432), "PostgreSQL", log=cluster.log("postgres"))
        wait_for(lambda: _listening(services, 6379), "Redis", log=cluster.log("redis"))
        wait_for(lambda: _listening(services, 8025), "the SMS gateway")
        cluster.command("db", "upgrade")
        cluster.command("demo", "--contacts", "400")
        cluster.command("users", "create", "admin", "--role", "admin", "--password", PASSWORD)
        cluster.campaign("panel", "serve", "--no-scheduler", "--workers", "0", label="panel")
        cluster.campaign("worker1", "worker", label="worker1")
        cluster.campaign("worker2", "worker", label="worker2")
        cluster.campaign("scheduler", "scheduler", label="scheduler")
        panel = cluster.hosts["panel"].address
        wait_for(lambda: _listening(panel, 8000), "the panel", log=cluster.log("panel"))
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def database(cluster):
    database = Database(cluster.database_url.replace("postgresql:", "postgresql+psycopg:"))
    yield database
    database.dispose()


def _listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1).close()
    except OSError:
        return False
    return True


def run_campaign(cluster: Cluster, name: str, *extra: str) -> int:
    output = cluster.command("run", name, "--yes", *extra)
    return int(re.search(r"\(id (\d+)\)", output).group(1))


def finished(database: Database, run_id: int, cluster: Cluster) -> Run:
    def done() -> Run | None:
        with database.session() as session:
            run = session.get(Run, run_id)
            return run if run.state in (RunState.COMPLETED, RunState.FAILED) else None

    run = wait_for(done, f"run {run_id} to finish", DEADLINE, log=cluster.log("worker2"))
    assert run.state is RunState.COMPLETED, run.error
    return run


def logged_in(cluster: Cluster) -> requests.Session:
    client = requests.Session()
    form = client.get(f"{cluster.panel_url}/login", timeout=30).text
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', form).group(0)
    token = re.search(r'value="([^"]+)"', tag).group(1)
    answer = client.post(
        f"{cluster.panel_url}/login",
        data={"csrf_token": token, "username": "admin", "password": PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 200 and "/login" not in answer.url, answer.text[:500]
    return client


def use_the_database_store(database: Database) -> int:
    """The seed's campaign archives into the ``database`` store, which every host reaches."""
    with database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == "Informationskampagne"))
        campaign.action_settings = {**campaign.action_settings, "store": "database"}
        return campaign.id


def test_the_seed_example_and_an_sms_run_on_several_hosts(cluster, database):
    campaign_id = use_the_database_store(database)
    run_id = run_campaign(cluster, "Informationskampagne")
    run = finished(database, run_id, cluster)
    assert run.done > 0
    with database.session() as session:
        documents = session.scalars(
            select(ArchivedDocument).where(ArchivedDocument.run_id == run_id)
        ).all()
        hosts = set(
            session.scalars(
                select(func.split_part(RunItem.claimed_by, ":", 1)).where(
                    RunItem.run_id == run_id, RunItem.status == ItemStatus.DONE
                )
            )
        )
    assert len(documents) == run.done and {d.store for d in documents} == {"database"}
    assert hosts <= {"worker1", "worker2"} and hosts

    client = logged_in(cluster)
    letter = client.get(f"{cluster.panel_url}/archive/{documents[0].id}/download", timeout=60)
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    collection = client.get(
        f"{cluster.panel_url}/campaigns/{campaign_id}/runs/{run_id}/files/collection.pdf",
        timeout=120,
    )
    assert collection.status_code == 200
    assert len(PdfReader(io.BytesIO(collection.content)).pages) >= run.done
    panel_disk = cluster.root / "data" / "panel"
    assert not (panel_disk / "runs").exists() and not (panel_disk / "archive").exists()

    with database.session() as session:
        create_campaign(
            session,
            load_plugins(),
            CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="sms",
                action_settings={
                    "gateway": "http",
                    "gateway_settings": {"url": cluster.sms_url},
                    "template": "Hallo {{ first_name }}, Ihr Gutschein wartet!",
                    "sender": "Campaign",
                },
            ),
            run.created_at,
            name="SMS-Gutschein",
        )
    sms_run = finished(database, run_campaign(cluster, "SMS-Gutschein", "--limit", "30"), cluster)
    sent = [json.loads(line) for line in cluster.sms_log.read_text().splitlines()]
    assert sms_run.done > 0 and len(sent) == sms_run.done
    assert len({message["key"] for message in sent}) == len(sent)


def test_a_run_finishes_on_the_other_worker_when_one_host_is_cut_off(cluster, database):
    with database.session() as session:
        create_campaign(
            session,
            load_plugins(),
            CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="print_reports",
                action_settings={"report": DEMO_REPORT, "store": "database"},
            ),
            utcnow(),
            name="Alle Kontakte",
        )
    run_id = run_campaign(cluster, "Alle Kontakte")  # two chunks of letters or more

    def worker1_is_printing() -> bool:
        with database.session() as session:
            return bool(
                session.scalar(
                    select(func.count()).where(
                        RunItem.run_id == run_id, RunItem.claimed_by.like("worker1:%")
                    )
                )
            )

    wait_for(worker1_is_printing, "worker1 to take part of the run", log=cluster.log("worker1"))
    cluster.cut("worker1")
    with database.session() as session:
        assert session.get(Run, run_id).state not in (RunState.COMPLETED, RunState.FAILED)
    run = finished(database, run_id, cluster)
    with database.session() as session:
        keys = session.scalars(
            select(ArchivedDocument.source_key).where(ArchivedDocument.run_id == run_id)
        ).all()
        items = session.scalar(
            select(func.count()).where(RunItem.run_id == run_id, RunItem.status == ItemStatus.DONE)
        )
        by_host = Counter(
            (claimed or "").split(":")[0]
            for claimed in session.scalars(
                select(RunItem.claimed_by).where(
                    RunItem.run_id == run_id, RunItem.status == ItemStatus.DONE
                )
            )
        )
    assert len(keys) == len(set(keys)) == items == run.done > 0
    assert by_host.get("worker2", 0) > 0, by_host
    collection = logged_in(cluster).get(
        f"{cluster.panel_url}/campaigns/{run.campaign_id}/runs/{run_id}/files/collection.pdf",
        timeout=120,
    )
    assert len(PdfReader(io.BytesIO(collection.content)).pages) >= run.done
