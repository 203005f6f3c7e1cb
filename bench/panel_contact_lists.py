"""The panel's long lists at realistic sizes: the contact list (search, filters, deep pages)
and the document archive (newest first, by contact), each one count and one page of 50 as
the views run them (``webapp.pagination.paginate``).

    .venv/bin/python bench/panel_contact_lists.py --backend sqlite --count 100000
    .venv/bin/python bench/panel_contact_lists.py --backend postgresql --count 100000

Prints the median of five runs per list in milliseconds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import arguments, drop_database, fill_contacts, fresh_database  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from core.db.database import Database  # noqa: E402
from core.models import ArchivedDocument, Contact  # noqa: E402
from webapp.archive.views import ArchiveFilters, document_query  # noqa: E402
from webapp.contacts.search import ContactFilters, contact_query  # noqa: E402
from webapp.pagination import paginate  # noqa: E402

CONTACT_LISTS = {
    "contacts, first page by name": ({}, 1),
    "contacts, page 1000 by name": ({}, 1000),
    "contacts, by number": ({"sort": "number"}, 1),
    "contacts, search 'name4711'": ({"q": "name4711"}, 1),
    "contacts, search 'Köln' (city)": ({"q": "Köln"}, 1),
    "contacts, search 'köln' (city, umlaut in either case)": ({"q": "köln"}, 1),
    "contacts, search 'übelhör-büs' (checked whole)": ({"q": "übelhör-büs"}, 1),
    "contacts, search 'erika name47'": ({"q": "erika name47"}, 1),
    "contacts, search 'b-0009' (number)": ({"q": "b-0009"}, 1),
    "contacts, search 'p123@' (e-mail)": ({"q": "p123@"}, 1),
    "contacts, customers with e-mail": ({"status": "customer", "has_email": "yes"}, 1),
    "contacts, blocked, page 5": ({"blocked": "yes"}, 5),
}


def fill_documents(database: Database, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with database.session() as session:
        contacts = session.scalars(select(Contact.id).order_by(Contact.id)).all()
        rows = [
            {
                "contact_id": contacts[index % len(contacts)],
                "kind": "letter",
                "title": "Informationsschreiben",
                "filename": f"brief-{index}.pdf",
                "content_type": "application/pdf",
                "size": 45000,
                "sha256": "0" * 64,
                "store": "filesystem",
                "store_ref": f"00/00/{index:064d}.pdf",
                "meta": {},
                "created_at": start + timedelta(seconds=index * 37),
            }
            for index in range(count)
        ]
        for offset in range(0, len(rows), 20000):
            session.execute(insert(ArchivedDocument), rows[offset : offset + 20000])


def median_ms(action) -> float:
    timings = []
    for _ in range(5):
        began = time.perf_counter()
        action()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], 100_000)
    with tempfile.TemporaryDirectory() as folder:
        url = fresh_database(args.backend, Path(folder))
        database = Database(url)
        try:
            fill_contacts(database, args.count)
            fill_documents(database, args.count)
            if args.backend == "postgresql":
                with database.engine.begin() as connection:
                    connection.exec_driver_sql("ANALYZE")
            print(f"{args.backend}, {args.count:,} contacts and {args.count:,} archived documents")
            dialect = database.engine.dialect.name
            with database.sessions() as session:
                for title, (query, page) in CONTACT_LISTS.items():
                    statement = contact_query(ContactFilters.from_args(query), dialect)
                    result = median_ms(lambda s=statement, p=page: paginate(session, s, p, 50))
                    print(f"  {title:<40} {result:8.1f} ms")
                some_contact = session.scalar(select(Contact.number).offset(777).limit(1))
                for title, query in (
                    ("archive, newest first", {}),
                    ("archive, one contact", {"contact": some_contact}),
                    ("archive, March 2026", {"from": "2026-03-01", "to": "2026-03-31"}),
                ):
                    statement = document_query(ArchiveFilters.from_args(query), dialect)
                    result = median_ms(lambda s=statement: paginate(session, s, 1, 50))
                    print(f"  {title:<40} {result:8.1f} ms")
        finally:
            database.dispose()
            drop_database(url)


if __name__ == "__main__":
    main()
