"""Screenshots of the panel's reports, contacts, archive, administration and dashboard screens.

Builds a throw-away installation (SQLite in a temporary directory, the German demo address
book, the default reports, a printed campaign run with archived letters, a failed job),
serves the panel on loopback and photographs the main screens with headless Chromium::

    .venv/bin/python tools/screenshot_content_areas.py [--out docs/screenshots] [--chromium PATH]

Needs the ``playwright`` package and Debian's ``chromium``; Redis at ``CAMPAIGN_REDIS_URL``
(default ``redis://127.0.0.1:6379/13``), of which only the job it adds is touched.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select
from werkzeug.serving import make_server

from core.audit import record_audit
from core.clock import FrozenClock, install
from core.config import Settings
from core.db.database import Database
from core.db.schema import upgrade
from core.documents.archive import archive_document, open_store
from core.documents.rendering import ReportRenderer
from core.models import Campaign, Contact, DocumentKind, Report, Role, Run, RunState
from core.plugins import load_plugins
from plugins.demo.address_book import load_demo
from plugins.demo.default_reports import install_default_reports
from webapp import create_app
from webapp.accounts import create_user

PASSWORD = "demo-password-2026"
IMPORT_FILE = (
    "Kundennummer;Anrede;Vorname;Nachname;Straße;PLZ;Ort;E-Mail;Versandweg\n"
    "K-900001;Frau;Greta;Hollmann;Lindenallee 4;50668;Köln;greta.hollmann@example.de;E-Mail\n"
    "K-900002;Herr;Jonas;Brandt;Am Markt 2;04109;Leipzig;jonas.brandt@example.de;Post\n"
    "K-900003;Frau;Lea;Vogt;Gartenweg 9;1067;Dresden;lea.vogt@example;Post\n"
    "K-900004;Herr;Tim;Kraus;Bahnhofstr. 1;80335;München;tim.kraus@example.de;Fax\n"
    "K-000012;Frau;Stefanie;Ritter;Friedrichstraße 28;12061;Berlin;;Post\n"
).encode()
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def prepare(settings: Settings) -> None:
    database = Database(settings.database_url)
    upgrade(database.engine)
    plugins = load_plugins(entry_points=False)
    with database.session() as session:
        load_demo(session, contacts=1500)
        install_default_reports(session)
        create_user(session, "anna", PASSWORD, Role.ADMIN, display_name="Anna Schneider")
        create_user(session, "max", PASSWORD, Role.CAMPAIGN_MANAGER, display_name="Max Weber")
        create_user(session, "lena", PASSWORD, Role.VIEWER, display_name="Lena Fischer")
        session.flush()
        campaign = Campaign(
            name="Informationskampagne 2026",
            datasource="query",
            action="print_reports",
            action_settings={"report": "Informationsschreiben"},
        )
        second = Campaign(name="Kundenabend Köln", datasource="query", action="sms")
        session.add_all([campaign, second])
        session.flush()
        done = Run(
            campaign_id=campaign.id,
            number=1,
            state=RunState.COMPLETED,
            config={},
            targeted=12,
            done=12,
            started_by="max",
        )
        running = Run(
            campaign_id=second.id,
            number=3,
            state=RunState.RUNNING,
            config={},
            targeted=1840,
            done=1126,
            failed=14,
            skipped=31,
            started_by="max",
            started_at=datetime.now(UTC) - timedelta(minutes=7),
        )
        session.add_all([done, running])
        session.flush()
        report = session.scalar(select(Report).where(Report.name == "Informationsschreiben"))
        renderer = ReportRenderer(session, report.id, settings.data_dir / "cache" / "report-assets")
        store = open_store(plugins, settings, "filesystem")
        from core.query import load_records

        contacts = session.scalars(
            select(Contact.id).where(Contact.postcode.is_not(None)).order_by(Contact.id).limit(12)
        ).all()
        records = load_records(session, "contacts", contacts)
        for number, contact_id in enumerate(contacts, start=1):
            letter = renderer.render(
                records[contact_id],
                "contacts",
                number=number,
                day=datetime.now(UTC).date(),
                campaign={"id": campaign.id, "name": campaign.name},
            )
            archive_document(
                session,
                store,
                contact_id=contact_id,
                campaign_id=campaign.id,
                run_id=done.id,
                report_id=report.id,
                kind=DocumentKind.LETTER,
                title=report.name,
                filename=f"informationsschreiben-{number}.pdf",
                data=letter.pdf,
                source_key=f"contacts:{contact_id}",
                meta={"number": number, "pages": letter.pages},
            )
        record_audit(session, "max", "report.update", "report", report.id, report.name)
        record_audit(session, "anna", "user.create", "user", 3, "lena (viewer)")
        session.commit()
    database.dispose()
    connection = Redis.from_url(settings.redis_url)
    queue = Queue("default", connection=connection)
    queue.enqueue("core.jobs.functions.run_workflow", "deliveryMgt")  # fails: no runtime installed
    SimpleWorker([queue], connection=connection).work(burst=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    previous_clock = install(FrozenClock(datetime.now(UTC)))
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder) / "data",
            database_url=f"sqlite:///{folder}/campaign.db",
            redis_url=os.environ.get("CAMPAIGN_REDIS_URL", "redis://127.0.0.1:6379/13"),
            secret_key="screenshots",
        )
        prepare(settings)
        install(previous_clock)
        app = create_app(settings, load_plugins(entry_points=False))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(base, out, args.chromium)
        finally:
            server.shutdown()


def shoot(base: str, out: Path, chromium: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        page.goto(f"{base}/login")
        page.fill("#username", "anna")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")

        def snap(path: str, name: str, full: bool = True, wait: int = 300) -> None:
            page.goto(base + path)
            page.wait_for_timeout(wait)
            page.screenshot(path=str(out / f"{name}.png"), full_page=full)

        snap("/", "dashboard")
        snap("/reports/", "reports-list")
        report_id = page.locator("a.row-title", has_text="Informationsschreiben").get_attribute(
            "href"
        )
        page.goto(base + report_id)
        page.click("a[href='#design']")
        page.wait_for_timeout(4000)
        page.screenshot(path=str(out / "report-editor.png"), full_page=False)
        layout = page.locator("#layout")
        layout.click()
        layout.press("Control+End")
        layout.type("\n{% if recipient.city %")
        page.wait_for_timeout(4000)
        page.screenshot(path=str(out / "report-editor-error.png"), full_page=False)
        snap("/reports/address-patterns/", "reports-address-patterns")
        snap("/contacts/?q=K%C3%B6ln&status=customer", "contacts-search")
        snap("/contacts/", "contacts-list", full=False)
        snap("/archive/", "archive-list")
        document = page.locator("a.row-title").first.get_attribute("href")
        snap(document, "archive-document", wait=2500)
        contact = page.locator("dd a").first.get_attribute("href")
        snap(contact, "contact-detail")
        snap("/contacts/import", "contacts-import")
        page.set_input_files(
            "#file",
            files=[{"name": "neue-kontakte.csv", "mimeType": "text/csv", "buffer": IMPORT_FILE}],
        )
        page.click("button[type=submit].button-primary")
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "contacts-import-preview.png"), full_page=True)
        snap("/admin/users", "admin-users")
        snap("/admin/plugins", "admin-plugins")
        snap("/admin/queues", "admin-queues")
        snap("/admin/audit", "admin-audit")
        snap("/profile/", "profile")
        browser.close()


if __name__ == "__main__":
    main()
