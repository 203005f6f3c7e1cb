"""What recipients and providers say back, measured: bounces processed per second.

    .venv/bin/python bench/feedback_bounces.py --backend sqlite --count 10000
    .venv/bin/python bench/feedback_bounces.py --backend postgresql --count 10000 --mailbox imap

bench/feedback.py runs this part after the endpoints' (on a maildir); ``main`` here runs
it alone, on a maildir or on IMAP.

Bounces: a database with ``--count`` contacts and one e-mail run with a ledger row for each,
and a mailbox (a maildir, or ``--mailbox imap``: Dovecot on loopback, see
tests/imap_server.py) holding one bounce per contact: RFC 3464 reports to the contact's VERP
address, 80% hard (5.1.1), 20% soft (4.2.2), every tenth a Postfix plain-text bounce
matched through the returned Message-ID instead. One pass of the workflow's processing
(``plugins.workflows.inbound_mail.processing.process_mailbox``) reads, records and moves them
all. Goal: at least 500 bounces per second.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

from common import Stopwatch, drop_database, fresh_database  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db.database import Database  # noqa: E402
from core.messaging.bounces import make_bounce_token, verp_address  # noqa: E402
from core.models import Campaign, Contact, Run, RunItem  # noqa: E402
from plugins.workflows.inbound_mail.mailboxes import (  # noqa: E402
    Imap,
    Mailbox,
    Maildir,
    configured_mailbox,
)
from plugins.workflows.inbound_mail.models import InboundMail  # noqa: E402
from plugins.workflows.inbound_mail.processing import process_mailbox  # noqa: E402

BOUNCES = "bounces@kampagne.example.de"
GOAL_BOUNCES = 500

# --- bounces (the e-mail inbound part) -------------------------------------------------------


def _people_and_run(database: Database, count: int) -> int:
    """``count`` contacts with addresses and one e-mail run with a ledger row for each."""
    with database.session() as session:
        campaign = Campaign(name="Bench", datasource="query", action="email")
        session.add(campaign)
        session.flush()
        run = Run(campaign_id=campaign.id, number=1, config={})
        session.add(run)
        session.flush()
        rows = [
            {"number": f"B-{i:08d}", "last_name": f"Name{i}", "email": f"p{i}@example.org"}
            for i in range(1, count + 1)
        ]
        ids = list(session.scalars(insert(Contact).returning(Contact.id), rows))
        session.execute(
            insert(RunItem),
            [
                {
                    "run_id": run.id,
                    "key": f"contacts:{contact}",
                    "action": "email",
                    "entity": "contacts",
                    "entity_id": contact,
                    "reference": _message_id(run.id, contact),
                }
                for contact in ids
            ],
        )
        return run.id


def _message_id(run_id: int, contact: int) -> str:
    return f"<run{run_id}-contacts=3A{contact}.18a2b@example.de>"


def _bounces(database: Database, settings: Settings, run_id: int):
    from mail_samples import dsn, postfix_text_bounce

    with database.session() as session:
        contacts = session.execute(select(Contact.id, Contact.email).order_by(Contact.id)).all()
    for index, (contact, address) in enumerate(contacts):
        original = _message_id(run_id, contact)
        if index % 10 == 9:
            yield postfix_text_bounce(BOUNCES, address, original)
            continue
        to = verp_address(BOUNCES, make_bounce_token(settings.secret_key, run_id, contact))
        status = "4.2.2" if index % 5 == 4 else "5.1.1"
        yield dsn(to, address, status, original_message_id=original)


def bench_bounces(backend: str, count: int, mailbox_kind: str = "maildir") -> dict[str, float]:
    """Bounces processed per second by one pass over a mailbox of ``count`` bounces."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
    url = fresh_database(backend, workdir)
    database = Database(url)
    server = None
    try:
        settings = Settings(
            data_dir=workdir,
            database_url=url,
            redis_url=None,
            secret_key="bench-secret",
            bounce_address=BOUNCES,
        )
        run_id = _people_and_run(database, count)
        messages = list(_bounces(database, settings, run_id))
        mailbox: Mailbox
        if mailbox_kind == "imap":
            from imap_server import ImapServer

            server = ImapServer()
            server.deliver(*messages)
            mailbox = Imap(configured_mailbox(workdir, {"CAMPAIGN_INBOUND_URL": server.url}))
        else:
            mailbox = Maildir(workdir / "inbound")
            for number, data in enumerate(messages):
                (mailbox.path / "new" / f"{number:08d}.bench").write_bytes(data)
        with mailbox, Stopwatch() as watch:
            result = process_mailbox(database, settings, mailbox, datetime.now(UTC))
        with database.session() as session:
            recorded = session.scalar(select(func.count(InboundMail.id)))
            undeliverable = session.scalar(
                select(func.count(Contact.id)).where(Contact.email_undeliverable.is_not(None))
            )
        processed = sum(result.counts.values())
        assert processed == recorded == count, (processed, recorded, count)
        return {
            "bounces": processed,
            "seconds": watch.seconds,
            "per_second": processed / watch.seconds,
            "hard": result.counts["hard_bounce"],
            "soft": result.counts["soft_bounce"],
            "undeliverable": undeliverable,
        }
    finally:
        if server is not None:
            server.close()
        database.dispose()
        drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)


def report_bounces(figures: dict[str, float], backend: str, mailbox_kind: str) -> None:
    rate = figures["per_second"]
    verdict = "meets" if rate >= GOAL_BOUNCES else "MISSES"
    print(
        f"bounces ({backend}, {mailbox_kind}): {figures['bounces']:,.0f} in "
        f"{figures['seconds']:.2f} s = {rate:,.0f}/s ({verdict} the goal of {GOAL_BOUNCES}/s); "
        f"{figures['hard']:,.0f} hard, {figures['soft']:,.0f} soft, "
        f"{figures['undeliverable']:,.0f} addresses marked undeliverable"
    )


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--mailbox", choices=["maildir", "imap"], default="maildir")
    arguments = parser.parse_args()
    report_bounces(
        bench_bounces(arguments.backend, arguments.count, arguments.mailbox),
        arguments.backend,
        arguments.mailbox,
    )


if __name__ == "__main__":
    main()
