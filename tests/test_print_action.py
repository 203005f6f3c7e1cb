import csv
import io
import os
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, insert, literal, select

import plugins.actions.print_reports as print_reports
import plugins.stores.database as database_store
import plugins.stores.filesystem as filesystem
from core import DataSource, hookimpl
from core.engine.dispatch import finish_run, load_recipients, process_chunk
from core.engine.runs import retry_failed, start_run
from core.engine.targeting import target_run
from core.models import ArchivedDocument, Contact, ItemStatus, Run, RunFile, RunState
from plugins.demo.default_reports import install_default_reports

from panel_helpers import shown_details

FIRST_NAMES = ("Jürgen", "Grete", "Özlem", "Björn", "Änne")

CHUNK = print_reports.PrintReports.chunk_size


class PrintableContacts(DataSource):
    """Every contact with its whole record (the engine's test source loads three fields)."""

    name = "test_printable_contacts"
    title = "Every contact, whole records"

    def entity(self):
        return "contacts"

    def select(self, context):
        return select(Contact.id.label("id"), literal(None).label("group_key"))


@hookimpl
def register_datasources(register):
    register(PrintableContacts)


@pytest.fixture
def printing(engine):
    plugins = engine.runtime.plugins
    plugins.add(print_reports, "plugins.actions.print_reports", "test")
    plugins.add(filesystem, "plugins.stores.filesystem", "test")
    plugins.add(sys.modules[__name__], "printable_contacts", "test")
    assert plugins.errors == []
    with engine.runtime.database.session() as session:
        install_default_reports(session)
    return engine


def add_people(engine, numbers, **overrides) -> list[int]:
    rows = [
        {
            "number": f"K-{n:05d}",
            "salutation": "Frau" if n % 2 else "Herr",
            "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
            "last_name": f"Weiß{n}",
            "street": f"Große Straße {n}",
            "postcode": f"{50000 + n}",
            "city": "Köln",
            "attributes": {},
        }
        | overrides
        for n in numbers
    ]
    with engine.runtime.database.session() as session:
        return list(session.scalars(insert(Contact).returning(Contact.id), rows))


def print_campaign(engine, **settings) -> int:
    return engine.campaign(
        action="print_reports",
        action_settings={"report": "Informationsschreiben"} | settings,
        datasource="test_printable_contacts",
        name="Informationskampagne",
    )


def run_file(engine, run_id, name) -> bytes:
    """A file of the run, read through the run file store as every machine reads it."""
    with engine.runtime.database.session() as session:
        return engine.runtime.run_files.read_bytes(session, run_id, name)


def run_file_names(engine, run_id) -> list[str]:
    with engine.runtime.database.session() as session:
        return [name for name, _size in engine.runtime.run_files.listing(session, run_id)]


def archived(engine, run_id) -> list[ArchivedDocument]:
    with engine.runtime.database.session() as session:
        return session.scalars(
            select(ArchivedDocument)
            .where(ArchivedDocument.run_id == run_id)
            .order_by(ArchivedDocument.id)
        ).all()


def stored_files(engine) -> list[Path]:
    """The archived letters' files (the run files share the filesystem store's folder)."""
    root = engine.runtime.settings.data_dir / "archive"
    with engine.runtime.database.session() as session:
        run_files = {root / ref for ref in session.scalars(select(RunFile.store_ref))}
    return [path for path in root.rglob("*") if path.is_file() and path not in run_files]


def test_a_print_run_archives_every_letter_and_collects_them_in_ledger_order(printing):
    count = CHUNK + 10  # a full chunk and the start of the next
    contact_ids = add_people(printing, range(1, count + 1))
    run = start_run(
        printing.runtime, print_campaign(printing), started_by="anna", confirmed_by="test"
    )
    printing.work()
    assert (printing.run(run.id).state, printing.run(run.id).done) == (RunState.COMPLETED, count)
    items = printing.items(run.id)
    assert [item.units for item in items] == [1] * count
    documents = {document.source_key: document for document in archived(printing, run.id)}
    assert [item.reference for item in items] == [
        f"filesystem:{documents[item.key].store_ref}" for item in items
    ]
    assert {document.contact_id for document in documents.values()} == set(contact_ids)
    assert {document.created_by for document in documents.values()} == {"anna"}
    assert len(stored_files(printing)) == count

    reader = PdfReader(io.BytesIO(run_file(printing, run.id, "collection.pdf")))
    assert len(reader.pages) == count
    for position, (item, page) in enumerate(zip(items, reader.pages, strict=True), start=1):
        text = page.extract_text()
        number = f"K-{item.entity_id - contact_ids[0] + 1:05d}"
        assert f"Kundennummer\n{number}\nLaufende Nummer\n{position}\n" in text
        assert "Informationskampagne" in text

    text = run_file(printing, run.id, "manifest.csv").decode("utf-8-sig")
    manifest = list(csv.DictReader(text.splitlines(), delimiter=";"))
    assert [row["number"] for row in manifest] == [str(n) for n in range(1, count + 1)]
    first = documents[items[0].key]
    assert manifest[0] == {
        "number": "1",
        "contact_number": "K-00001",
        "name": "Grete Weiß1",
        "postcode": "50001",
        "city": "Köln",
        "pages": "1",
        "document_id": str(first.id),
        "sha256": first.sha256,
    }


@pytest.mark.parametrize(
    ("pages", "english", "german"), [(1, "1 page", "1 Seite"), (3, "3 pages", "3 Seiten")]
)
def test_a_letter_counts_its_pages_in_the_readers_language(
    printing, panel_app, monkeypatch, pages, english, german
):
    monkeypatch.setattr(print_reports, "count_pages", lambda letter: pages)
    add_people(printing, [1])
    run = start_run(printing.runtime, print_campaign(printing), confirmed_by="test")
    printing.work()
    (item,) = printing.items(run.id)
    assert item.detail == english
    assert shown_details(panel_app, "de", [item.detail]) == [german]
    assert shown_details(panel_app, "en", [item.detail]) == [english]


def test_a_chunk_done_again_archives_nothing_twice(printing):
    add_people(printing, range(1, CHUNK + 6))
    run = start_run(printing.runtime, print_campaign(printing), confirmed_by="test")
    target_run(run.id)
    # a transaction that stored a letter and then rolled back, as a killed worker's would
    with printing.runtime.database.sessions() as session, session.begin():
        from core.engine.campaigns import CampaignConfig, build_plugins
        from core.engine.dispatch import Dispatcher

        stored = session.get(Run, run.id)
        built = build_plugins(printing.runtime.plugins, CampaignConfig.from_snapshot(stored.config))
        context = Dispatcher(
            printing.runtime, stored, "Informationskampagne", built, False
        ).context(session)
        first = printing.items(run.id)[0]
        recipient = load_recipients(context, built, [first])[first.id]
        assert built.action.process(recipient, context).status == "done"
        session.rollback()
    assert len(stored_files(printing)) == 1 and archived(printing, run.id) == []

    assert process_chunk(run.id, 0).endswith(f"{CHUNK} processed")
    assert process_chunk(run.id, 0).endswith(" 0 processed")
    assert len(archived(printing, run.id)) == CHUNK
    assert len(stored_files(printing)) == CHUNK  # the rolled-back letter's file was reused
    process_chunk(run.id, 1)
    assert process_chunk(run.id, 1).startswith(f"run {run.id} chunk 1: skipped")
    printing.work()  # the finishing step
    assert printing.run(run.id).state == RunState.COMPLETED
    assert len(archived(printing, run.id)) == CHUNK + 5
    collection = PdfReader(io.BytesIO(run_file(printing, run.id, "collection.pdf")))
    assert len(collection.pages) == CHUNK + 5
    finish_run(run.id)  # a second finishing job changes nothing
    with printing.runtime.database.session() as session:
        count = session.scalar(select(func.count()).select_from(ArchivedDocument))
    assert count == CHUNK + 5


def test_email_recipients_are_left_to_email_and_letters_need_not_be_archived(
    printing, tmp_path, monkeypatch, panel_app
):
    add_people(printing, range(1, 4))
    add_people(printing, range(4, 6), preferred_channel="email")
    add_people(printing, range(6, 7), postcode=None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/lp-args\necho "request id is collect-7"\n')
    lp.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    campaign = print_campaign(
        printing,
        report="Einladung",
        archive=False,
        route_email_preferring_to_email=True,
        printer="collect",
    )
    run = start_run(printing.runtime, campaign, confirmed_by="test")
    printing.work()
    run = printing.run(run.id)
    assert (run.state, run.done, run.skipped) == (RunState.COMPLETED, 3, 3)
    details = [item.detail for item in printing.items(run.id)]
    assert details[3:] == ["prefers e-mail", "prefers e-mail", "reach.incomplete_address"]
    assert shown_details(panel_app, "de", details[3:]) == [
        "bevorzugt E-Mail",
        "bevorzugt E-Mail",
        "Anschrift unvollständig",
    ]
    assert archived(printing, run.id) == [] and stored_files(printing) == []
    reader = PdfReader(io.BytesIO(run_file(printing, run.id, "collection.pdf")))
    assert [
        page.extract_text().count("Einladung zu unserem Kundenabend") for page in reader.pages
    ] == [
        1,
        1,
        1,
    ]
    manifest = run_file(printing, run.id, "manifest.csv").decode("utf-8-sig")
    rows = csv.DictReader(manifest.splitlines(), delimiter=";")
    assert [row["document_id"] for row in rows] == ["", "", ""]
    assert (tmp_path / "lp-args").read_text().split()[:2] == ["-d", "collect"]
    assert run_file(printing, run.id, "printer.txt") == b"request id is collect-7\n"


def fake_lp(tmp_path, monkeypatch) -> Path:
    """An ``lp`` on PATH that keeps a copy of every collection it is handed (a print job)."""
    jobs, bin_dir = tmp_path / "jobs", tmp_path / "bin"
    jobs.mkdir()
    bin_dir.mkdir()
    lp = bin_dir / "lp"
    lp.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        f'cp "$last" "{jobs}/job-$(ls {jobs} | wc -l).pdf"\n'
        'echo "request id is collect-7"\n'
    )
    lp.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return jobs


def printed_names(jobs: Path) -> list[list[str]]:
    """The last names on the pages of each print job, job by job."""
    return [
        [page.extract_text().split("Weiß")[1].split()[0] for page in PdfReader(job).pages]
        for job in sorted(jobs.iterdir())
    ]


@pytest.mark.parametrize("archive", [True, False])
def test_retried_letters_go_to_the_printer_and_the_printed_ones_not_again(
    printing, tmp_path, monkeypatch, archive
):
    """The finishing step runs again after a retry: only the letters no earlier print job
    held go to the printer, so nobody gets a letter twice; the collection holds them all."""
    jobs = fake_lp(tmp_path, monkeypatch)
    broken = tmp_path / "renderer-broken"
    broken.touch()
    letter = print_reports.PrintReports._letter

    def failing_for_two(self, recipient, context, number):
        if broken.exists() and recipient.data["number"] == "K-00002":
            raise RuntimeError("the renderer is out of fonts")
        return letter(self, recipient, context, number)

    monkeypatch.setattr(print_reports.PrintReports, "_letter", failing_for_two)
    add_people(printing, range(1, 4))
    campaign = print_campaign(printing, report="Einladung", archive=archive, printer="collect")
    run = start_run(printing.runtime, campaign, confirmed_by="test")
    printing.work()
    assert printing.run(run.id).state == RunState.COMPLETED_WITH_ERRORS
    assert printed_names(jobs) == [["1", "3"]]

    broken.unlink()
    assert retry_failed(printing.runtime, run.id) == 1
    printing.work()
    assert printing.run(run.id).state == RunState.COMPLETED
    assert printed_names(jobs) == [["1", "3"], ["2"]]
    collection = PdfReader(io.BytesIO(run_file(printing, run.id, "collection.pdf")))
    assert len(collection.pages) == 3


def test_archive_only_files_the_letters_without_a_collection(printing):
    add_people(printing, range(1, 3))
    run = start_run(
        printing.runtime, print_campaign(printing, archive_only=True), confirmed_by="test"
    )
    printing.work()
    assert printing.run(run.id).done == 2
    assert len(archived(printing, run.id)) == 2
    assert "collection.pdf" not in run_file_names(printing, run.id)


def test_a_dry_run_previews_letters_without_numbers_or_archive(printing):
    add_people(printing, range(1, 4))
    run = start_run(printing.runtime, print_campaign(printing), dry_run=True, preview_count=2)
    printing.work()
    details = [item.detail for item in printing.items(run.id)]
    assert details[2] == "dry run"
    for detail in details[:2]:
        name = detail.removeprefix("preview: ")
        assert name.startswith("preview-") and name in run_file_names(printing, run.id)
        preview = PdfReader(io.BytesIO(run_file(printing, run.id, name)))
        assert "Laufende Nummer\nProbedruck" in preview.pages[0].extract_text()
    assert archived(printing, run.id) == []


def test_a_report_not_meant_for_mass_print_fails_every_recipient(printing, panel_app):
    add_people(printing, range(1, 3))
    campaign = print_campaign(printing, report="Briefbogen")
    run = start_run(printing.runtime, campaign, confirmed_by="test")
    printing.work()
    items = printing.items(run.id)
    assert {item.status for item in items} == {ItemStatus.FAILED}
    assert "not usable for mass print" in items[0].detail

    dry = start_run(printing.runtime, campaign, dry_run=True, preview_count=1)
    printing.work()
    preview = printing.items(dry.id)[0].detail
    assert preview.startswith("preview: cannot print: ")
    (german,) = shown_details(panel_app, "de", [preview])
    assert german.startswith("Vorschau: Drucken nicht möglich: ") and "cannot print" not in german
    assert shown_details(panel_app, "en", [preview]) == [preview]


def test_the_manifest_neutralises_formulas_for_german_excel(printing):
    add_people(printing, [1], first_name='=HYPERLINK("http://evil.example/";"Klick")')
    add_people(printing, [2], first_name="-2+3")
    run = start_run(printing.runtime, print_campaign(printing), confirmed_by="test")
    printing.work()
    assert printing.run(run.id).state is RunState.COMPLETED
    raw = run_file(printing, run.id, "manifest.csv")
    assert raw.startswith(b"\xef\xbb\xbfnumber;contact_number;name;")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert [row["name"] for row in rows] == [
        '\'=HYPERLINK("http://evil.example/";"Klick") Weiß1',
        "'-2+3 Weiß2",
    ]


def test_a_print_run_can_archive_its_letters_in_the_database(printing):
    printing.runtime.plugins.add(database_store, "plugins.stores.database", "test")
    add_people(printing, range(1, 13))
    run = start_run(printing.runtime, print_campaign(printing, store="database"), confirmed_by="t")
    printing.work()
    assert (printing.run(run.id).state, printing.run(run.id).done) == (RunState.COMPLETED, 12)
    documents = archived(printing, run.id)
    assert {document.store for document in documents} == {"database"}
    assert stored_files(printing) == []
    store = database_store.DatabaseStore({"database_url": printing.runtime.settings.database_url})
    assert store.get(documents[0].store_ref).startswith(b"%PDF")
