"""The API's bulk upsert at its limit: 10,000 new contacts in one request, then the same
10,000 again as updates, through the app as a client calls it (token, rate limit, JSON,
checks, matching, batched writes, consent events, audit).

    .venv/bin/python bench/api_bulk_upsert.py --backend sqlite
    .venv/bin/python bench/api_bulk_upsert.py --backend postgresql

Prints the seconds of each request and the peak memory of the process.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import (  # noqa: E402
    arguments,
    claim_redis,
    drop_database,
    fresh_database,
    peak_memory_mb,
    release_redis,
)

from core.clock import utcnow  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.plugins import load_plugins  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.accounts import create_user  # noqa: E402
from webapp.api.tokens import create_token  # noqa: E402


def main() -> None:
    args = arguments(__doc__ or "", 10_000)
    redis_url = claim_redis("bench-api")
    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_database(args.backend, Path(workdir))
        try:
            settings = Settings(
                data_dir=Path(workdir) / "data",
                database_url=url,
                redis_url=redis_url,
                secret_key="bench",
            )
            database = Database(url)
            with database.session() as session:
                user = create_user(session, "bench", "bench-password-1", role="campaign_manager")
                now = utcnow()
                secret = create_token(session, user, "bench", user.role, now + timedelta(1), now)
            app = create_app(settings, plugins=load_plugins(entry_points=False))
            client = app.test_client()
            headers = {"Authorization": f"Bearer {secret.secret}"}
            rows = [
                {
                    "number": f"B-{n:06d}",
                    "first_name": "Erika",
                    "last_name": f"Muster{n}",
                    "street": f"Hauptstraße {n % 200 + 1}",
                    "postcode": f"{10000 + n % 80000:05d}",
                    "city": "Köln",
                    "email": f"p{n}@example.org",
                    "opt_out_email": n % 10 == 0,
                }
                for n in range(args.count)
            ]
            for label in ("create", "update"):
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/contacts/bulk", json={"rows": rows}, headers=headers
                )
                elapsed = time.perf_counter() - started
                result = response.get_json()
                assert response.status_code == 200 and result["stored"], result
                print(
                    f"{args.backend}: {label} {args.count} contacts: {elapsed:.2f} s "
                    f"(created {result['created']}, updated {result['updated']})"
                )
            print(f"peak memory {peak_memory_mb():.0f} MB")
            database.dispose()
        finally:
            drop_database(url)
            release_redis(redis_url)


if __name__ == "__main__":
    main()
