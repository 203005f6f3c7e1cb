"""Speed and memory of one pass of budgetMgt and of stockMgt over N campaigns, each with a
letter delivery (print shop, envelopes from stock), an SMS delivery and a finished task, all
deliveries performed by a run with `--items` ledger rows. The second pass of each workflow
must find nothing to change; its time is what every later quarter-hour costs.

    .venv/bin/python bench/processes.py --backend sqlite --count 1000
    .venv/bin/python bench/processes.py --backend postgresql --count 1000
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import Stopwatch, drop_database, fresh_database, peak_memory_mb  # noqa: E402
from sqlalchemy import select  # noqa: E402

from core.db.database import Database  # noqa: E402
from core.models import BudgetStatus, Campaign, CampaignStatus, Run, RunItem  # noqa: E402
from plugins.processes.costs import Basis, Structure  # noqa: E402
from plugins.processes.models import (  # noqa: E402
    Budget,
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ExpenseCategory,
    Plan,
    Program,
    Provider,
    ProviderService,
    Stock,
    StockLine,
    Task,
    TaskState,
)
from plugins.processes.models.deliveries import delivery_cost_types  # noqa: E402
from plugins.workflows.budget import CostCalculation  # noqa: E402
from plugins.workflows.stock import StockPass  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
D = Decimal
PROGRAMS = 10


def arguments():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=1000, help="campaigns")
    parser.add_argument("--items", type=int, default=100, help="ledger rows per run")
    return parser.parse_args()


def price_list(session) -> tuple[int, int, int, int]:
    druck = ExpenseCategory(name="Druck")
    stock = Stock(name="Lager")
    envelopes = StockLine(stock=stock, name="Kuvert", initial=10**9, alert_level=1000)
    shop = Provider(name="Druckerei")
    letter = ProviderService(provider=shop, name="Brief")
    printing = CostCategory(service=letter, name="Druck", kind=CostCategoryKind.DIRECT_MAIL,
                            expense_category=druck)  # fmt: skip
    envelope = CostCategory(service=letter, name="Kuvert", kind=CostCategoryKind.DIRECT_MAIL,
                            expense_category=druck, cost_type_required=True)  # fmt: skip
    dl = CostType(cost_category=envelope, name="DL", stock_line=envelopes)
    router = ProviderService(provider=Provider(name="Router"), name="SMS")
    texts = CostCategory(service=router, name="SMS", kind=CostCategoryKind.MOBILE)
    agency = ProviderService(provider=Provider(name="Agentur"), name="Tage")
    days = CostCategory(service=agency, name="Tage", kind=CostCategoryKind.TASK)
    session.add_all([druck, stock, envelopes, shop, letter, printing, envelope, dl, router,
                     texts, agency, days])  # fmt: skip
    for category, spec in (
        (printing, {"kind": "fixed", "amount": D(45)}),
        (printing, {"kind": "linear", "amount": D("0.06"), "basis": Basis.UNITS}),
        (printing, {"kind": "surcharge", "percent": D(3)}),
        (envelope, {"kind": "linear", "amount": D("0.04")}),
        (texts, {"kind": "linear_threshold", "basis": Basis.UNITS, "brackets": [
            {"up_to": 100, "price": "0.09"}, {"price": "0.07"}]}),
        (days, {"kind": "daily", "basis": Basis.DAYS, "amount": D(300)}),
    ):  # fmt: skip
        session.add(CostStructure.of(Structure(**spec), cost_category=category))
    session.flush()
    return letter.id, dl.id, router.id, agency.id


def fill(database: Database, count: int, items: int) -> None:
    with database.session() as session:
        letter, dl, router, agency = price_list(session)
        plan = Plan(name="Plan")
        programs = [Program(plan=plan, name=f"Programm {n}") for n in range(PROGRAMS)]
        session.add_all([plan, *programs])
        session.flush()
        session.add(Budget(name="Planbudget", plan_id=plan.id, allocated=D(10**6)))
        for program in programs:
            session.add(Budget(name=program.name, program_id=program.id, allocated=D(10**5)))
        campaigns = [
            {"name": f"Kampagne {n}", "datasource": "query", "action": "print_reports",
             "datasource_settings": {}, "action_settings": {}, "group_keys": [], "filters": [],
             "description": "", "program_id": programs[n % PROGRAMS].id,
             "status": CampaignStatus.IN_PROGRESS, "budget_status": BudgetStatus.SPECIFIED,
             "commitment_level": 1 + n % 3, "created_at": NOW, "updated_at": NOW}
            for n in range(count)
        ]  # fmt: skip
        session.execute(Campaign.__table__.insert(), campaigns)
        ids = list(session.scalars(select(Campaign.id).order_by(Campaign.id)))
        deliveries, tasks = [], []
        for campaign_id in ids:
            for label, channel, service, state in (
                ("Brief", DeliveryChannel.PRINT, letter, DeliveryState.FINISHED),
                ("SMS", DeliveryChannel.SMS, router, DeliveryState.FINISHED),
            ):
                deliveries.append(
                    {"campaign_id": campaign_id, "label": label, "channel": channel,
                     "provider_service_id": service, "state": state, "estimated_cost": D(100),
                     "surcharge": D(0), "sent_counting": "on_confirmation",
                     "proof_required": False, "version": 1, "created_at": NOW,
                     "updated_at": NOW}
                )  # fmt: skip
            tasks.append(
                {"campaign_id": campaign_id, "name": "Konzept", "state": TaskState.FINISHED,
                 "days_worked": D(2), "provider_service_id": agency, "description": "",
                 "created_at": NOW, "updated_at": NOW}
            )  # fmt: skip
        session.execute(Delivery.__table__.insert(), deliveries)
        session.execute(Task.__table__.insert(), tasks)
        delivery_rows = session.execute(
            select(Delivery.id, Delivery.campaign_id, Delivery.label)
        ).all()
        session.execute(
            delivery_cost_types.insert(),
            [
                {"delivery_id": d.id, "cost_type_id": dl}
                for d in delivery_rows
                if d.label == "Brief"
            ],
        )
        runs = [
            {"campaign_id": d.campaign_id, "delivery_id": d.id, "number": n + 1,
             "state": "completed", "exclusive": False, "dry_run": False, "config": {},
             "created_at": NOW, "targeted_at": NOW, "targeted": items, "done": items}
            for n, d in enumerate(delivery_rows)
        ]  # fmt: skip
        session.execute(Run.__table__.insert(), runs)
        run_ids = list(session.scalars(select(Run.id)))
        batch = []
        for run_id in run_ids:
            for item in range(items):
                batch.append(
                    {"run_id": run_id, "key": f"contacts:{item}", "action": "x",
                     "kind": "recipient", "entity": "contacts", "status": "done",
                     "units": 1 + item % 3, "attempts": 0}
                )  # fmt: skip
            if len(batch) >= 50000:
                session.execute(RunItem.__table__.insert(), batch)
                batch.clear()
        if batch:
            session.execute(RunItem.__table__.insert(), batch)


def measure(database: Database, what: str, work) -> None:
    with Stopwatch() as watch, database.session() as session:
        result = work(session)
    print(f"{what:<28} {watch.seconds:7.2f} s   {result.summary()[:90]}")


def main() -> None:
    args = arguments()
    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_database(args.backend, Path(workdir))
        database = Database(url)
        try:
            with Stopwatch() as watch:
                fill(database, args.count, args.items)
            print(
                f"{args.backend}: {args.count} campaigns, {2 * args.count} deliveries with "
                f"{args.items} rows each, {args.count} tasks (set up in {watch.seconds:.1f} s)"
            )
            for label in ("budgetMgt first pass", "budgetMgt second pass"):
                measure(database, label, lambda s: CostCalculation(s, NOW).run())
            for label in ("stockMgt first pass", "stockMgt second pass"):
                measure(database, label, lambda s: StockPass(s, NOW).run())
            print(f"peak memory {peak_memory_mb():.0f} MB")
        finally:
            database.dispose()
            drop_database(url)


if __name__ == "__main__":
    main()
