"""supplierMgt at volume: one pass that writes the extraction file of N letters from the
ledger (reference, six fields, one through a relation), delivers it to a folder and e-mails
it (the development outbox: the message is built and written like one for a server); then
the provider's result file of N letters read into the ledger with the real cost.

    .venv/bin/python bench/supplier.py --backend sqlite --count 100000
    .venv/bin/python bench/supplier.py --backend postgresql --count 100000

Each of the two runs in a forked child, so the child's ru_maxrss is its peak memory. The
ledger of the extraction run is inserted directly (the engine's own speed is measured by
bench/dispatch.py). Needs Redis (an empty database is claimed, as the other benchmarks do).
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import (  # noqa: E402
    arguments,
    claim_redis,
    drop_database,
    fill_contacts,
    fresh_database,
    in_child,
    release_redis,
)
from sqlalchemy import insert, select  # noqa: E402

from core.clock import FrozenClock  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.engine.campaigns import CampaignConfig, create_campaign  # noqa: E402
from core.jobs.functions import install_runtime  # noqa: E402
from core.models import Contact, ItemStatus, Run, RunItem, RunState  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.workflows.context import WorkflowContext  # noqa: E402
from plugins.processes.models import (  # noqa: E402
    Delivery,
    DeliveryChannel,
    DeliveryState,
    Provider,
    ProviderService,
    SentCounting,
    ServiceProcess,
)
from plugins.processes.provider_results import import_result_file  # noqa: E402
from plugins.workflows.supplier import SupplierPass  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
COLUMNS = [
    {"header": "Referenz", "field": "@reference"},
    {"header": "Kundennummer", "field": "number"},
    {"header": "Vorname", "field": "first_name"},
    {"header": "Name", "field": "last_name"},
    {"header": "PLZ", "field": "postcode"},
    {"header": "Ort", "field": "city"},
    {"header": "Vermittler", "field": "partner.number"},
]
RESULT_FORMAT = {
    "key_column": "Referenz",
    "status_column": "Status",
    "sent_values": ["versendet"],
    "reason_column": "Grund",
    "cost_column": "Porto",
}


def letter(runtime: Runtime, count: int, provider_dir: Path) -> tuple[int, int]:
    """A letter whose extraction run did ``count`` letters, its file approved."""
    with runtime.database.session() as session:
        campaign = create_campaign(
            session,
            runtime.plugins,
            CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="file_upload",
                action_settings={
                    "extraction": {"columns": [{"field": "number"}]},
                    "target": "folder",
                    "target_settings": {"path": str(provider_dir)},
                },
            ),
            NOW,
            name="Infobrief",
        )
        service = ProviderService(provider=Provider(name="Druckerei"), name="Brief")
        session.add(service)
        session.flush()
        session.add(
            ServiceProcess(
                service_id=service.id,
                export_columns=COLUMNS,
                notification_recipients=["auftrag@druckerei.de"],
                upload_target="folder",
                upload_settings={"path": str(provider_dir), "create": True},
                result_format=RESULT_FORMAT,
            )
        )
        delivery = Delivery(
            campaign_id=campaign.id,
            label="Brief",
            channel=DeliveryChannel.DIRECT_MAIL,
            provider_service_id=service.id,
            sent_counting=SentCounting.RESULT_FILE,
        )
        session.add(delivery)
        session.flush()
        for state in (
            DeliveryState.APPROVED,
            DeliveryState.EXTRACTION_PENDING,
            DeliveryState.FILE_TO_APPROVE,
        ):
            delivery.move_to(state, NOW)
        run = Run(
            campaign_id=campaign.id,
            delivery_id=delivery.id,
            number=1,
            state=RunState.COMPLETED,
            config=CampaignConfig.of(campaign).snapshot(),
            created_at=NOW,
            targeted_at=NOW,
            finished_at=NOW,
            targeted=count,
            done=count,
        )
        session.add(run)
        session.flush()
        ids = session.scalars(select(Contact.id).order_by(Contact.id).limit(count)).all()
        for start in range(0, len(ids), 10_000):
            session.execute(
                insert(RunItem),
                [
                    {
                        "run_id": run.id,
                        "key": f"contacts:{contact_id}",
                        "action": "file_upload",
                        "entity": "contacts",
                        "entity_id": contact_id,
                        "status": ItemStatus.DONE,
                        "chunk": 0,
                    }
                    for contact_id in ids[start : start + 10_000]
                ],
            )
        return delivery.id, run.id


def result_file(runtime: Runtime, delivery_id: int, run_id: int) -> bytes:
    """Every letter reported, one in ten undeliverable; 0,85 each."""
    with runtime.database.session() as session:
        item_ids = session.scalars(
            select(RunItem.id).where(RunItem.run_id == run_id).order_by(RunItem.id)
        ).all()
    lines = ["Referenz;Status;Grund;Porto"]
    for number, item_id in enumerate(item_ids):
        failed = number % 10 == 0
        outcome = "unzustellbar;Adresse unbekannt;0,00" if failed else "versendet;;0,85"
        lines.append(f"{delivery_id}-{item_id};{outcome}")
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    args = arguments("supplierMgt: extraction file and result file", 100_000)
    redis_url = claim_redis("bench-supplier")
    with tempfile.TemporaryDirectory(prefix="cb-supplier-") as workdir:
        work = Path(workdir)
        url = fresh_database(args.backend, work)
        try:
            fill_contacts(Database(url), args.count)
            settings = Settings(
                data_dir=work / "data", database_url=url, redis_url=redis_url, secret_key="b"
            )
            runtime = Runtime.start(settings, load_plugins(entry_points=False))
            runtime.clock = FrozenClock(NOW)
            install_runtime(runtime)
            delivery_id, run_id = letter(runtime, args.count, work / "druckerei")

            def one_pass() -> None:
                summary = SupplierPass(WorkflowContext.start(runtime, "supplierMgt")).run()
                assert "1 file(s) sent" in summary, summary

            seconds, peak = in_child(one_pass)
            size = sum(path.stat().st_size for path in (work / "druckerei").glob("*.csv")) / 1e6
            print(
                f"{args.backend}: extraction file of {args.count:,} letters written, uploaded "
                f"and e-mailed: {seconds:.1f} s ({args.count / seconds:,.0f} letters/s, "
                f"{size:.1f} MB), peak {peak:.0f} MB"
            )
            data = result_file(runtime, delivery_id, run_id)

            def read_result() -> None:
                imported = import_result_file(
                    runtime, data, "ergebnis.csv", delivery_id=delivery_id
                )
                assert imported.failed == (args.count + 9) // 10, imported.summary()

            seconds, peak = in_child(read_result)
            print(
                f"{args.backend}: result file of {args.count:,} letters imported: "
                f"{seconds:.1f} s ({args.count / seconds:,.0f} letters/s), peak {peak:.0f} MB"
            )
            runtime.close()
        finally:
            drop_database(url)
            release_redis(redis_url)


if __name__ == "__main__":
    main()
