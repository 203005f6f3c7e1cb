"""How long the process screens' long lists take with 100,000 rows each: deliveries (first and
last page, filtered by state), a budget's expense lines, the approval log, a user's
notifications and a workflow's history.

    .venv/bin/python bench/process_lists.py [DATABASE_URL]

Without an argument it uses a SQLite file in a temporary directory. It needs Redis only to
build the app (the login limiter is in memory). Prints milliseconds per request (best of 5).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, text

from core.config import Settings
from core.db.database import Database
from core.db.schema import upgrade
from core.models import Campaign, Notification, Role, User, WorkflowRun
from core.plugins import load_plugins
from plugins.processes.models import (
    Approval,
    ApprovalEvent,
    Budget,
    Delivery,
    ExpenseLine,
    Plan,
    Program,
)
from webapp import create_app, get_campaign
from webapp.accounts import create_user
from webapp.testing import login

ROWS = 100_000
CAMPAIGNS = 1_000
BATCH = 10_000
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def batches(make, total: int = ROWS):
    for start in range(0, total, BATCH):
        yield [make(n) for n in range(start, min(start + BATCH, total))]


def fill(database: Database) -> int:
    """Everything the lists page through; returns the budget's id."""
    with database.session() as session:
        create_user(session, "bench", "bench password 123", role=Role.ADMIN)
        user_id = session.scalar(select(User.id))
        plan = Plan(name="Plan")
        session.add(plan)
        session.flush()
        program = Program(plan_id=plan.id, name="Programm")
        session.add(program)
        session.flush()
        campaign_ids = list(
            session.scalars(
                insert(Campaign).returning(Campaign.id),
                [
                    {
                        "name": f"Kampagne {n:05d}",
                        "datasource": "static",
                        "action": "print_reports",
                        "program_id": program.id,
                        "budget_status": "specified",
                    }
                    for n in range(CAMPAIGNS)
                ],
            )
        )
        states = ["editing", "to_validate", "approved", "finished"]
        for rows in batches(
            lambda n: {
                "campaign_id": campaign_ids[n % CAMPAIGNS],
                "label": f"Versand {n:06d}",
                "channel": "sms",
                "state": states[n % 4],
                "surcharge": 0,
            }
        ):
            session.execute(insert(Delivery), rows)
        delivery_ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
        for rows in batches(
            lambda n: {
                "campaign_id": campaign_ids[n % CAMPAIGNS],
                "delivery_id": delivery_ids[n],
                "basis": "sent",
                "messages": 100,
                "calculated": 12,
                "amount": 12,
            }
        ):
            session.execute(insert(ExpenseLine), rows)
        for rows in batches(
            lambda n: {
                "delivery_id": delivery_ids[n],
                "step": "content",
                "mode": "manual",
                "state": "approved",
                "round": 1,
            }
        ):
            session.execute(insert(Approval), rows)
        approval_ids = list(session.scalars(select(Approval.id).order_by(Approval.id)))
        for rows in batches(
            lambda n: {
                "approval_id": approval_ids[n],
                "round": 1,
                "kind": "approved",
                "user_id": user_id,
                "at": NOW,
                "comment": "",
            }
        ):
            session.execute(insert(ApprovalEvent), rows)
        for rows in batches(
            lambda n: {
                "user_id": user_id,
                "kind": "stock_alert",
                "subject": f"Meldung {n}",
                "body": "",
                "created_at": NOW,
            }
        ):
            session.execute(insert(Notification), rows)
        for rows in batches(
            lambda n: {
                "workflow": "budgetMgt",
                "trigger": "scheduled",
                "status": "succeeded",
                "enqueued_at": NOW,
                "summary": f"pass {n}",
                "log": [],
            }
        ):
            session.execute(insert(WorkflowRun), rows)
        budget = Budget(name="Budget", plan_id=plan.id, allocated=1000)
        session.add(budget)
        session.flush()
        return budget.id


def best_of(client, path: str, times: int = 5) -> float:
    durations = []
    for _ in range(times):
        start = time.perf_counter()
        response = client.get(path)
        durations.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return min(durations) * 1000


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{folder}/bench.db"
    database = Database(url)
    upgrade(database.engine)
    budget_id = fill(database)
    if database.engine.dialect.name == "postgresql":  # the statistics autovacuum would gather
        with database.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    settings = Settings(data_dir=folder, database_url=url, redis_url=None, secret_key="bench")
    app = create_app(settings, load_plugins(), {"CAMPAIGN_LOGIN_LIMITER": "memory"})
    client = app.test_client()
    login(client, "bench", "bench password 123")
    for label, path in (
        ("deliveries, first page", "/deliveries/"),
        ("deliveries, last page", f"/deliveries/?page={ROWS // 25}"),
        (
            "deliveries, to validate, last page",
            f"/deliveries/?state=to_validate&page={ROWS // 100}",
        ),
        ("budget expense lines, first page", f"/budgets/{budget_id}"),
        ("budget expense lines, last page", f"/budgets/{budget_id}?page={ROWS // 25}"),
        ("approval log, last page", f"/approvals/log?page={ROWS // 50}"),
        ("notifications, first page", "/notifications/"),
        ("notifications, last page", f"/notifications/?page={ROWS // 25}"),
        ("workflow history, last page", f"/workflows/budgetMgt?page={ROWS // 20}"),
    ):
        print(f"{label:38} {best_of(client, path):8.1f} ms")
    get_campaign(app).database.dispose()
    database.dispose()


if __name__ == "__main__":
    main()
