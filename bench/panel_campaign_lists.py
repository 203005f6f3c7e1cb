"""How long the panel's long lists take with 100,000 rows: a run's per-recipient results (first
and last page, filtered by status) and the campaign list.

    .venv/bin/python bench/panel_campaign_lists.py [DATABASE_URL]

Without an argument it uses a SQLite file in a temporary directory. It needs Redis only to
build the app (the login limiter is in memory). Prints milliseconds per request (best of 5).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from core.config import Settings
from core.db.database import Database
from core.db.schema import upgrade
from core.models import Campaign, ItemStatus, Role, Run, RunItem, RunState
from core.plugins import load_plugins
from webapp import create_app, get_campaign
from webapp.accounts import create_user
from webapp.testing import login

ITEMS = 100_000
CAMPAIGNS = 20_000


def fill(database: Database) -> tuple[int, int]:
    with database.session() as session:
        create_user(session, "bench", "bench password 123", role=Role.VIEWER)
        session.execute(
            insert(Campaign),
            [
                {
                    "name": f"Kampagne {n:06d}",
                    "datasource": "static",
                    "action": "print_reports",
                    "datasource_settings": {},
                    "action_settings": {},
                    "filters": [],
                    "group_keys": [],
                    "description": "",
                }
                for n in range(CAMPAIGNS)
            ],
        )
        campaign = Campaign(name="Groß", datasource="static", action="print_reports")
        session.add(campaign)
        session.flush()
        run = Run(campaign_id=campaign.id, number=1, state=RunState.COMPLETED, config={})
        session.add(run)
        session.flush()
        statuses = [ItemStatus.DONE] * 9 + [ItemStatus.FAILED]
        for start in range(0, ITEMS, 10_000):
            session.execute(
                insert(RunItem),
                [
                    {
                        "run_id": run.id,
                        "key": f"contacts:{n}",
                        "action": "print_reports",
                        "entity": "contacts",
                        "entity_id": n,
                        "chunk": n // 50,
                        "status": statuses[n % 10],
                        "detail": "1 page(s)",
                    }
                    for n in range(start, start + 10_000)
                ],
            )
        return campaign.id, run.id


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
    campaign_id, run_id = fill(database)
    settings = Settings(data_dir=folder, database_url=url, redis_url=None, secret_key="bench")
    app = create_app(settings, load_plugins(), {"CAMPAIGN_LOGIN_LIMITER": "memory"})
    client = app.test_client()
    login(client, "bench", "bench password 123")
    last = ITEMS // 50
    for label, path in (
        ("results, first page", f"/campaigns/{campaign_id}/runs/{run_id}"),
        ("results, last page", f"/campaigns/{campaign_id}/runs/{run_id}?page={last}"),
        (
            "results, failed only, last page",
            f"/campaigns/{campaign_id}/runs/{run_id}?status=failed&page={last // 10}",
        ),
        ("campaign list, first page", "/campaigns/"),
        ("campaign list, last page", f"/campaigns/?lp={CAMPAIGNS // 25}"),
        ("campaign list, search", "/campaigns/?q=0999"),
    ):
        print(f"{label:36} {best_of(client, path):8.1f} ms")
    get_campaign(app).database.dispose()
    database.dispose()


if __name__ == "__main__":
    main()
