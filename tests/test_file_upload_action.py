"""The "file_upload" action end to end: campaign runs on real workers delivering to a folder,
a real SFTP server and a real HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import insert, select, update
from test_webapp_campaigns import campaign_form

import plugins.actions.file_upload as file_upload
import plugins.actions.print_reports as print_reports
import plugins.datasources.query as query_source
import plugins.stores.filesystem as filesystem
import plugins.targets.folder as folder
import plugins.targets.http_upload as http_upload
import plugins.targets.sftp as sftp
from core import SettingsError
from core.clock import FrozenClock
from core.documents.templating import LOCAL_TIME
from core.engine.dispatch import process_chunk, recover_runs
from core.engine.runs import retry_failed, start_run
from core.models import (
    ArchivedDocument,
    Campaign,
    Contact,
    FileDelivery,
    FileDeliveryStatus,
    ItemKind,
    ItemStatus,
    Run,
    RunItem,
    RunState,
)
from core.validation import problem_text
from plugins.actions import TRANSLATIONS
from plugins.actions.file_upload import FileUpload
from plugins.demo.default_reports import install_default_reports
from webapp.i18n import render_stored

from panel_helpers import body, browser_form, field_errors, post, shown_details
from upload_servers import RecordingHttpServer, SftpTestServer
from waiting import wait_for

PEOPLE = [
    ("Jürgen", "Weiß", "Köln"),
    ("Grete", "Müller", "Berlin"),
    ("Özlem", "Öztürk", "München"),
    ("Björn", "Groß", "Köln"),
    ("Änne", "Schäfer", "Berlin"),
]
COLUMNS = [
    {"field": "number", "header": "Kundennummer"},
    {"field": "last_name", "header": "Name"},
    {"field": "postcode", "header": "PLZ"},
    {"field": "city", "header": "Ort"},
    {"field": "partner.number", "header": "Vermittler"},
]
EVERYONE = {"definition": {"root": "contacts"}}
BY_CITY = {"definition": {"root": "contacts"}, "group_by": "city"}


@pytest.fixture
def uploading(engine):
    for name, module in [
        ("plugins.datasources.query", query_source),
        ("plugins.actions.file_upload", file_upload),
        ("plugins.actions.print_reports", print_reports),
        ("plugins.stores.filesystem", filesystem),
        ("plugins.targets.folder", folder),
        ("plugins.targets.sftp", sftp),
        ("plugins.targets.http_upload", http_upload),
    ]:
        engine.runtime.plugins.add(module, name, "test")
    assert engine.runtime.plugins.errors == []
    rows = [
        {
            "number": f"K-{n:05d}",
            "first_name": first,
            "last_name": last,
            "street": f"Hauptstraße {n}",
            "postcode": f"{50600 + n}",
            "city": city,
            "attributes": {},
        }
        for n, (first, last, city) in enumerate(PEOPLE, start=1)
    ]
    with engine.runtime.database.session() as session:
        engine.contact_ids = list(session.scalars(insert(Contact).returning(Contact.id), rows))
    return engine


@pytest.fixture
def inbox(tmp_path):
    path = tmp_path / "provider-inbox"
    path.mkdir()
    return path


@pytest.fixture
def server():
    server = RecordingHttpServer()
    yield server
    server.close()


def upload_campaign(
    engine, target, target_settings, name="Frühjahrsaktion", source=EVERYONE, **settings
):
    return engine.campaign(
        action="file_upload",
        action_settings={
            "content": "extraction",
            "extraction": {"columns": COLUMNS, "encoding": "cp1252"},
            "target": target,
            "target_settings": target_settings,
        }
        | settings,
        datasource="query",
        datasource_settings=source,
        name=name,
    )


def run_day(engine, run_id) -> str:
    return engine.run(run_id).created_at.astimezone(LOCAL_TIME).strftime("%Y%m%d")


def group_rows(engine, run_id):
    return [item for item in engine.items(run_id) if item.kind == ItemKind.GROUP]


def test_an_extraction_file_reaches_the_folder_with_its_manifest(uploading, inbox, panel_app):
    run = start_run(
        uploading.runtime,
        upload_campaign(uploading, "folder", {"path": str(inbox)}),
        confirmed_by="test",
    )
    uploading.work()

    finished = uploading.run(run.id)
    assert (finished.state, finished.done, finished.failed) == (RunState.COMPLETED, 1, 0)
    name = f"Fruehjahrsaktion-1-{run_day(uploading, run.id)}.csv"
    assert sorted(path.name for path in inbox.iterdir()) == [name, f"{name}.manifest.json"]
    data = (inbox / name).read_bytes()
    lines = list(csv.reader(io.StringIO(data.decode("cp1252")), delimiter=";"))
    assert lines[0] == ["Kundennummer", "Name", "PLZ", "Ort", "Vermittler"]
    assert lines[1:] == [
        [f"K-{n:05d}", last, f"{50600 + n}", city, ""]
        for n, (_, last, city) in enumerate(PEOPLE, start=1)
    ]
    manifest = json.loads((inbox / f"{name}.manifest.json").read_text())
    assert manifest | {"created_at": None} == {
        "file": name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content": "extraction",
        "campaign": "Frühjahrsaktion",
        "run_id": run.id,
        "group": None,
        "rows": 5,
        "created_at": None,
    }
    (item,) = group_rows(uploading, run.id)
    assert item.detail == (
        f"uploaded: {name}; location: {inbox / name}; 5 rows, {len(data)} bytes, "
        f"sha256 {hashlib.sha256(data).hexdigest()[:12]}, with manifest"
    )
    assert shown_details(panel_app, "de", [item.detail]) == [
        f"hochgeladen: {name}; Ablageort: {inbox / name}; 5 Zeilen, {len(data)} Byte, "
        f"sha256 {hashlib.sha256(data).hexdigest()[:12]}, mit Manifest"
    ]
    assert shown_details(panel_app, "en", [item.detail]) == [item.detail]
    members = [i.status for i in uploading.items(run.id) if i.kind == ItemKind.MEMBER]
    assert members == [ItemStatus.DONE] * 5


def test_formula_cells_are_neutralised_unless_the_format_asks_for_raw_values(uploading, inbox):
    hostile = '=HYPERLINK("http://evil.example/";"Klick")'
    with uploading.runtime.database.session() as session:
        session.get(Contact, uploading.contact_ids[0]).last_name = hostile
        session.get(Contact, uploading.contact_ids[1]).last_name = "@SUM(1+1)"
    files = {}
    for raw_values in (False, True):
        name = f"raw-{raw_values}.csv"
        extraction = {"columns": COLUMNS, "encoding": "cp1252", "raw_values": raw_values}
        campaign = upload_campaign(
            uploading,
            "folder",
            {"path": str(inbox)},
            name=f"Rohwerte {raw_values}",
            extraction=extraction,
            remote_name=name,
        )
        start_run(uploading.runtime, campaign, confirmed_by="test")
        uploading.work()
        text = (inbox / name).read_bytes().decode("cp1252")
        files[raw_values] = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [row[1] for row in files[False][1:3]] == [f"'{hostile}", "'@SUM(1+1)"]
    assert [row[1] for row in files[True][1:3]] == [hostile, "@SUM(1+1)"]


def test_a_grouped_source_uploads_one_file_per_group_named_by_it(uploading, inbox):
    campaign = upload_campaign(
        uploading,
        "folder",
        {"path": str(inbox)},
        source=BY_CITY,
        remote_name="{campaign}-{group}.{ext}",
        manifest=False,
    )
    run = start_run(uploading.runtime, campaign, confirmed_by="test")
    uploading.work()

    assert (uploading.run(run.id).state, uploading.run(run.id).done) == (RunState.COMPLETED, 3)
    files = {path.name: path.read_text("cp1252") for path in inbox.iterdir()}
    assert sorted(files) == [
        "Fruehjahrsaktion-Berlin.csv",
        "Fruehjahrsaktion-Koeln.csv",
        "Fruehjahrsaktion-Muenchen.csv",
    ]
    assert [line.split(";")[1] for line in files["Fruehjahrsaktion-Koeln.csv"].splitlines()] == [
        "Name",
        "Weiß",
        "Groß",
    ]


def test_groups_without_group_in_the_name_fail_instead_of_replacing_each_other(
    uploading, inbox, panel_app
):
    run = start_run(
        uploading.runtime,
        upload_campaign(uploading, "folder", {"path": str(inbox)}, source=BY_CITY),
        confirmed_by="test",
    )
    uploading.work()

    assert uploading.run(run.id).failed == 3
    assert {item.detail for item in group_rows(uploading, run.id)} == {
        "the run has 3 groups but remote_name has no {group}: their files would replace each other"
    }
    (detail,) = {item.detail for item in group_rows(uploading, run.id)}
    assert shown_details(panel_app, "de", [detail]) == [
        "der Lauf hat 3 Gruppen, aber remote_name kein {group}: ihre Dateien würden einander "
        "ersetzen"
    ]
    assert list(inbox.iterdir()) == []


@pytest.mark.parametrize(
    ("columns", "encoding", "problem"),
    [
        (
            [{"field": "last_name"}, {"field": "partner.nickname"}],
            "utf-8",
            "extraction.columns[1].field: unknown field 'nickname' on partners",
        ),
        (
            [{"field": "number"}, {"field": "last_name", "header": "Name"}],
            "iso-8859-15",
            "row 3 (contacts:{id}), column 'Name': 'Łukasiewicz' cannot be written in iso-8859-15",
        ),
    ],
)
def test_a_file_that_cannot_be_built_fails_with_the_reason_and_uploads_nothing(
    uploading, inbox, columns, encoding, problem
):
    with uploading.runtime.database.session() as session:
        session.execute(
            update(Contact)
            .where(Contact.id == uploading.contact_ids[2])
            .values(last_name="Łukasiewicz")
        )
    campaign = upload_campaign(
        uploading,
        "folder",
        {"path": str(inbox)},
        extraction={"columns": columns, "encoding": encoding},
    )
    run = start_run(uploading.runtime, campaign, confirmed_by="test")
    uploading.work()

    (item,) = group_rows(uploading, run.id)
    assert item.status == ItemStatus.FAILED
    assert problem.format(id=uploading.contact_ids[2]) in item.detail
    assert list(inbox.iterdir()) == []
    assert not list((uploading.runtime.settings.data_dir / "work").rglob("*.part"))


def test_an_extraction_reaches_an_sftp_server(uploading, tmp_path):
    root = tmp_path / "sftp"
    (root / "inbox").mkdir(parents=True)
    server = SftpTestServer(root, {"druckerei": "Geheim-123"})
    try:
        settings = {
            "host": "127.0.0.1",
            "port": server.port,
            "username": "druckerei",
            "password": "Geheim-123",
            "directory": "inbox",
            "host_key_fingerprint": server.fingerprint,
        }
        run = start_run(
            uploading.runtime, upload_campaign(uploading, "sftp", settings), confirmed_by="test"
        )
        uploading.work()
        files = server.files()
    finally:
        server.close()

    name = f"Fruehjahrsaktion-1-{run_day(uploading, run.id)}.csv"
    assert sorted(files) == [f"inbox/{name}", f"inbox/{name}.manifest.json"]
    manifest = json.loads(files[f"inbox/{name}.manifest.json"])
    assert manifest["sha256"] == hashlib.sha256(files[f"inbox/{name}"]).hexdigest()
    assert manifest["rows"] == 5
    (item,) = group_rows(uploading, run.id)
    assert item.detail.startswith(
        f"uploaded: {name}; location: sftp://127.0.0.1:{server.port}/inbox/"
    )


def test_a_failed_upload_is_reported_and_delivered_when_the_failed_rows_are_retried(
    uploading, server
):
    server.answer(*[("status", 503)] * 2)
    settings = {"url": server.url(), "retries": 1, "backoff": 0.01}
    run = start_run(
        uploading.runtime, upload_campaign(uploading, "http", settings), confirmed_by="test"
    )
    uploading.work()

    failed = uploading.run(run.id)
    assert (failed.state, failed.failed) == (RunState.COMPLETED_WITH_ERRORS, 1)
    (item,) = group_rows(uploading, run.id)
    assert item.detail.startswith(f"http (PUT {server.url()}): Fruehjahrsaktion-1-")
    assert item.detail.endswith("; the server answered 503: scripted failure; after 2 attempts")
    assert server.files == {}

    assert retry_failed(uploading.runtime, run.id) == 1
    uploading.work()

    assert (uploading.run(run.id).state, uploading.run(run.id).done) == (RunState.COMPLETED, 1)
    assert len(server.files) == 2  # the file and its manifest, once each


def test_a_dry_run_describes_the_upload_and_sends_nothing(uploading, inbox, panel_app):
    campaign = upload_campaign(uploading, "folder", {"path": str(inbox)})
    run = start_run(uploading.runtime, campaign, dry_run=True)
    uploading.work()

    (item,) = group_rows(uploading, run.id)
    name = f"Fruehjahrsaktion-1-{run_day(uploading, run.id)}.csv"
    assert item.detail == (
        f"preview: would upload: CSV extraction; 5 recipients; file: {name}; target: folder; "
        f"location: {inbox}; with manifest"
    )
    assert shown_details(panel_app, "de", [item.detail]) == [
        f"Vorschau: würde hochladen: Extraktion (CSV); 5 Empfänger; Datei: {name}; Ziel: folder; "
        f"Ablageort: {inbox}; mit Manifest"
    ]
    assert shown_details(panel_app, "en", [item.detail]) == [item.detail]
    assert list(inbox.iterdir()) == []


def print_letters(engine, count: int) -> int:
    """A print campaign that archives a letter for the first ``count`` contacts."""
    with engine.runtime.database.session() as session:
        install_default_reports(session)
    campaign = engine.campaign(
        action="print_reports",
        action_settings={"report": "Informationsschreiben", "archive_only": True},
        datasource="query",
        datasource_settings={
            "definition": {
                "root": "contacts",
                "where": {
                    "conditions": [
                        {
                            "field": "number",
                            "type": "equals",
                            "values": [f"K-{n:05d}" for n in range(1, count + 1)],
                        }
                    ]
                },
            }
        },
        name="Informationskampagne",
    )
    start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    return campaign


def test_archived_letters_go_up_as_a_zip_and_as_one_collection_pdf(uploading, inbox, panel_app):
    print_letters(uploading, 4)
    with uploading.runtime.database.session() as session:
        first = session.scalar(select(ArchivedDocument).order_by(ArchivedDocument.id))
        first.title = '=HYPERLINK("http://evil.example/","Klick")'
    selection = {"campaign": "Informationskampagne"}
    for content in ("documents_zip", "collection_pdf"):
        campaign = upload_campaign(
            uploading,
            "folder",
            {"path": str(inbox)},
            name=f"Versand {content}",
            content=content,
            extraction=None,
            documents=selection,
            remote_name="{campaign}.{ext}",
        )
        start_run(uploading.runtime, campaign, confirmed_by="test")
    uploading.work()

    with zipfile.ZipFile(inbox / "Versand-documents_zip.zip") as archive:
        names = archive.namelist()
        index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode())))
        letters = [archive.read(name) for name in names[:-1]]
    assert len(names) == 5 and names[-1] == "index.csv"
    assert [row["entry"] for row in index] == names[:-1]
    assert index[0]["title"] == '\'=HYPERLINK("http://evil.example/","Klick")'
    assert [row["sha256"] for row in index] == [hashlib.sha256(pdf).hexdigest() for pdf in letters]
    assert all(pdf.startswith(b"%PDF") for pdf in letters)
    zip_manifest = json.loads((inbox / "Versand-documents_zip.zip.manifest.json").read_text())
    assert zip_manifest["documents"] == 4

    reader = PdfReader(inbox / "Versand-collection_pdf.pdf")
    assert len(reader.pages) == 4
    assert "Weiß" in reader.pages[0].extract_text()
    with uploading.runtime.database.session() as session:
        details = session.scalars(
            select(RunItem.detail).where(RunItem.kind == ItemKind.GROUP).order_by(RunItem.id)
        ).all()
    assert all("1 recipient of 5 has no matching document" in detail for detail in details)
    german = shown_details(panel_app, "de", details)
    assert all(
        detail.endswith("; 1 Empfänger von 5 hat kein passendes Dokument") for detail in german
    )
    assert shown_details(panel_app, "en", details) == details


def test_a_run_whose_documents_are_all_missing_skips_the_upload(uploading, inbox, panel_app):
    campaign = upload_campaign(
        uploading,
        "folder",
        {"path": str(inbox)},
        content="documents_zip",
        extraction=None,
        documents={"run": 999},
    )
    run = start_run(uploading.runtime, campaign, confirmed_by="test")
    uploading.work()

    (item,) = group_rows(uploading, run.id)
    assert (item.status, item.detail) == (
        ItemStatus.SKIPPED,
        "nothing to upload: no archived document matches any of the 5 recipients",
    )
    assert list(inbox.iterdir()) == []
    assert shown_details(panel_app, "de", [item.detail]) == [
        "nichts hochzuladen: für keinen der 5 Empfänger gibt es ein passendes archiviertes Dokument"
    ]
    assert shown_details(panel_app, "en", [item.detail]) == [item.detail]


def test_an_upload_that_cannot_be_built_or_previewed_says_why_in_the_readers_language(
    uploading, inbox, panel_app
):
    campaign = upload_campaign(
        uploading,
        "folder",
        {"path": str(inbox)},
        content="documents_zip",
        extraction=None,
        documents={"report": "Fehlt"},
    )
    failed = start_run(uploading.runtime, campaign, confirmed_by="test")
    uploading.work()
    nowhere = upload_campaign(uploading, "folder", {}, name="Ohne Ziel")
    dry = start_run(uploading.runtime, nowhere, dry_run=True)
    uploading.work()

    details = [row.detail for run in (failed, dry) for row in group_rows(uploading, run.id)]
    assert re.fullmatch(
        r"cannot build: Fruehjahrsaktion-[\w-]+\.zip; unknown report: Fehlt", details[0]
    )
    assert details[1] == (
        "preview: cannot upload: invalid settings for upload_target 'folder': path: Field required"
    )
    german = shown_details(panel_app, "de", details)
    assert re.fullmatch(
        r"Erstellen nicht möglich: Fruehjahrsaktion-[\w-]+\.zip; unbekannter Bericht: Fehlt",
        german[0],
    )
    assert german[1] == (
        "Vorschau: Hochladen nicht möglich: ungültige Einstellungen des Upload-Ziels „folder“: "
        "path: Bitte ausfüllen."
    )
    assert shown_details(panel_app, "en", details) == [
        details[0],
        details[1].replace("Field required", "Please fill in."),
    ]


def test_a_worker_killed_mid_upload_is_reported_unclear_and_never_uploads_twice(
    uploading, server, tmp_path
):
    server.answer(("hold",))
    settings = {"url": server.url(), "retries": 0}
    run = start_run(
        uploading.runtime, upload_campaign(uploading, "http", settings), confirmed_by="test"
    )
    log = tmp_path / "worker.log"
    worker = uploading.start_worker_process(log)
    try:
        wait_for(lambda: len(server.requests) == 1, "the file to reach the server", log=log)
    finally:
        uploading.kill_worker(worker)  # worker and work horse, during the upload
    server.release()

    # RQ runs the killed chunk's job again: the claimed row is not taken a second time.
    assert process_chunk(run.id, 0).endswith(" 0 processed")
    # Two minutes later the scheduler's recovery reports it unclear and the run finishes.
    uploading.runtime.clock = FrozenClock(datetime.now(UTC) + timedelta(minutes=3))
    recover_runs(uploading.runtime)
    uploading.work()
    reported = uploading.run(run.id)
    assert (reported.state, reported.done, reported.unclear) == (
        RunState.COMPLETED_WITH_ERRORS,
        0,
        1,
    )
    # The server did get the file, but nobody learned so: one request, nothing repeated.
    assert len(server.requests) == 1

    # A person asks for the unclear file again (the provider deduplicates by the key).
    assert retry_failed(uploading.runtime, run.id, include_unclear=True) == 1
    uploading.work()

    assert (uploading.run(run.id).state, uploading.run(run.id).done) == (RunState.COMPLETED, 1)
    first, second, manifest = server.requests
    assert (first.path, first.body, first.headers["Idempotency-Key"]) == (
        second.path,
        second.body,
        second.headers["Idempotency-Key"],
    )
    assert manifest.path == second.path + ".manifest.json"
    with uploading.runtime.database.session() as session:
        record = session.scalars(select(FileDelivery)).one()
    assert (record.status, record.attempts) == (FileDeliveryStatus.DONE, 3)  # the killed try too


def test_a_delivery_finished_before_the_crash_is_not_uploaded_again(uploading, inbox):
    run = start_run(
        uploading.runtime,
        upload_campaign(uploading, "folder", {"path": str(inbox)}),
        confirmed_by="test",
    )
    uploading.work()
    # The worker died after the delivery was recorded but before the ledger outcome was:
    # recovery reported the row unclear, and a person retries it.
    with uploading.runtime.database.session() as session:
        session.execute(
            update(RunItem)
            .where(RunItem.run_id == run.id, RunItem.kind == ItemKind.GROUP)
            .values(status=ItemStatus.UNCLEAR)
        )
        session.execute(
            update(Run)
            .where(Run.id == run.id)
            .values(done=0, unclear=1, state=RunState.COMPLETED_WITH_ERRORS)
        )
    for path in inbox.iterdir():
        path.unlink()  # the provider has picked the files up meanwhile

    assert retry_failed(uploading.runtime, run.id, include_unclear=True) == 1
    uploading.work()

    assert (uploading.run(run.id).state, uploading.run(run.id).done) == (RunState.COMPLETED, 1)
    assert list(inbox.iterdir()) == []
    (item,) = group_rows(uploading, run.id)
    name = item.detail.split("; ")[0].removeprefix("uploaded: ")
    assert item.detail.endswith(f"location: {inbox / name}")


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            {"remote_name": "{customer}.csv"},
            "unknown placeholder {customer}; available: campaign",
        ),
        ({"remote_name": "../{campaign}.csv"}, "is not a usable file name"),
        ({"remote_name": "{campaign.zzz}.csv"}, "'{campaign.zzz}' is not a placeholder"),
        ({"remote_name": "{campaign:>999999999}.csv"}, "'{campaign:>999999999}' is not a"),
        ({"remote_name": "x" * 201}, "the pattern has 201 characters (at most 200)"),
        ({"extraction": None}, "content 'extraction' needs extraction settings with columns"),
        ({"content": "documents_zip"}, "content 'documents_zip' needs a documents selection"),
        ({"documents": {}, "content": "collection_pdf"}, "name a report, campaign or run"),
        ({"extraction": {"columns": []}}, "columns: List should have at least 1 item"),
        ({"extraction": {"columns": [{"field": "x"}], "delimiter": '"'}}, "cannot separate"),
        ({"extraction": {"columns": [{"field": "x"}], "encoding": "ebcdic"}}, "encoding: Input"),
    ],
)
def test_settings_are_checked_when_the_campaign_is_saved(settings, problem):
    valid = {"target": "folder", "extraction": {"columns": [{"field": "number"}]}}
    with pytest.raises(SettingsError, match="invalid settings for action 'file_upload'") as caught:
        FileUpload(valid | settings)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "german"),
    [
        (
            {"remote_name": "{customer}.csv"},
            "remote_name: unbekannter Platzhalter {customer}; verfügbar sind: campaign, run, "
            "run_id, date, time, group, ext",
        ),
        (
            {"content": "documents_zip"},
            "(settings): der Inhalt „documents_zip“ braucht eine Auswahl von Dokumenten",
        ),
        (
            {"documents": {}, "content": "collection_pdf"},
            "documents: bitte einen Bericht, eine Kampagne oder einen Lauf angeben: jedes "
            "Dokument, das ein Empfänger je bekam, ist selten, was ein Dienstleister erhalten "
            "soll",
        ),
    ],
)
def test_a_refused_setting_is_said_in_german(settings, german):
    """The action's own checks through the actions' catalog, the file name rules of the core
    through the panel's."""
    valid = {"target": "folder", "extraction": {"columns": [{"field": "number"}]}}
    with pytest.raises(SettingsError) as caught:
        FileUpload(valid | settings)
    ((field, message),) = caught.value.problems
    text = problem_text(field, message, FileUpload.__module__)
    assert render_stored(text, "de", {FileUpload.__module__: [TRANSLATIONS]}) == german


def test_the_panel_saves_an_extraction_without_documents_and_checks_a_selection_begun(
    panel, tmp_path
):
    """The documents sub-form as the browser sends it untouched (its kind preselected as
    letter) means no selection; a changed field means one, and it is checked."""
    client = panel.client()
    switched = post(client, "/campaigns/new", campaign_form(action="file_upload", intent=""))
    form = browser_form(body(switched), "act.target")
    assert (form["act.content"], form["act.documents.kind"]) == ("extraction", "letter")
    form |= {
        "name": "Datei für den Lettershop",
        "act.target": "folder",
        "act.target_settings": json.dumps({"path": str(tmp_path)}),
        "act.extraction": json.dumps({"columns": [{"field": "number"}]}),
        "intent": "save",
    }
    created = post(client, "/campaigns/new", form)
    assert created.status_code == 302, field_errors(body(created))
    with panel.runtime.database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == form["name"]))
        campaign_id = campaign.id
        assert campaign.action_settings["documents"] is None

    setup = f"/campaigns/{campaign_id}/setup"
    form = browser_form(body(client.get(setup)), "act.target") | {"intent": "save"}
    assert post(client, setup, form).status_code == 302
    begun = post(client, setup, form | {"act.documents.latest_only": "true"})
    assert begun.status_code == 422
    assert field_errors(body(begun), "act.documents") == [
        "bitte einen Bericht, eine Kampagne oder einen Lauf angeben: jedes Dokument, das ein "
        "Empfänger je bekam, ist selten, was ein Dienstleister erhalten soll"
    ]
    zipped = form | {"act.content": "documents_zip", "act.documents.run": "7"}
    assert post(client, setup, zipped).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.get(Campaign, campaign_id).action_settings["documents"] == {
            "report": None,
            "campaign": None,
            "run": 7,
            "kind": "letter",
            "latest_only": False,
        }


def test_a_long_upload_keeps_the_ledger_claim_alive(uploading, server, monkeypatch):
    monkeypatch.setattr("core.jobs.heartbeat.BEAT_SECONDS", 0.05)
    server.answer(("slow", 1))
    run = start_run(
        uploading.runtime,
        upload_campaign(uploading, "http", {"url": server.url()}),
        confirmed_by="test",
    )
    uploading.work()

    (item,) = group_rows(uploading, run.id)
    with uploading.runtime.database.session() as session:
        delivery = session.scalars(select(FileDelivery)).one()
    assert item.status == ItemStatus.DONE
    assert item.claimed_at > delivery.claimed_at  # renewed while the upload was under way


def test_an_extraction_for_a_print_service_leaves_out_blocked_and_opted_out_contacts(
    uploading, inbox
):
    """The provider prints and posts what it gets: a contact with a dispatch block or a post
    opt-out is not in the file, and its member row says why; a block set after the analysis
    counts too. An export that reaches nobody (``reach: none``) keeps everyone."""
    from core import Channel
    from core.engine.confirmation import confirmation
    from core.engine.runs import confirm_run

    blocked, no_post, late = uploading.contact_ids[:3]
    with uploading.runtime.database.session() as session:
        session.get(Contact, blocked).dispatch_block = True
        session.get(Contact, no_post).opt_out_post = True
    run = start_run(uploading.runtime, upload_campaign(uploading, "folder", {"path": str(inbox)}))
    uploading.work()
    with uploading.runtime.database.session() as session:
        session.get(Contact, late).dispatch_block = True
        shown = confirmation(session, uploading.runtime.plugins, session.get(Run, run.id))
    assert (shown.channel, shown.summary.skipped) == (
        Channel.POSTAL, {"reach.dispatch_block": 1, "reach.opt_out_post": 1}
    )  # fmt: skip
    confirm_run(uploading.runtime, run.id, "test", 1)
    uploading.work()

    name = f"Fruehjahrsaktion-1-{run_day(uploading, run.id)}.csv"
    lines = list(csv.reader(io.StringIO((inbox / name).read_text("cp1252")), delimiter=";"))
    assert [line[0] for line in lines[1:]] == ["K-00004", "K-00005"]
    members = {
        item.entity_id: (item.status, item.detail)
        for item in uploading.items(run.id)
        if item.kind == ItemKind.MEMBER
    }
    assert [members[contact_id] for contact_id in uploading.contact_ids] == [
        (ItemStatus.SKIPPED, "reach.dispatch_block"),
        (ItemStatus.SKIPPED, "reach.opt_out_post"),
        (ItemStatus.SKIPPED, "reach.dispatch_block"),
        (ItemStatus.DONE, None),
        (ItemStatus.DONE, None),
    ]
    assert uploading.run(run.id).skipped == 3

    export = start_run(
        uploading.runtime,
        upload_campaign(uploading, "folder", {"path": str(inbox)}, name="Export", reach="none"),
        confirmed_by="test",
    )
    uploading.work()
    name = f"Export-1-{run_day(uploading, export.id)}.csv"
    assert len((inbox / name).read_text("cp1252").splitlines()) == 6  # the header and all five
