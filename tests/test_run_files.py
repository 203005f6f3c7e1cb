"""Run files in each document store (filesystem, database, s3 on a moto server on loopback):
what a run keeps is read back checked, a retried write replaces it whole, a rolled-back one
is never seen, the panel serves the collection, manifest and previews from the store, old
files on disk are still served and are moved into a store with every checksum verified."""

import csv
import dataclasses
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, update

from core.config import Settings
from core.documents.archive import ArchiveIntegrityError
from core.documents.run_files import RunFiles, import_legacy_run_files, move_run_files
from core.engine.runs import start_run
from core.models import Campaign, Role, Run, RunFile, RunItem
from core.plugins import load_plugins

STORES = ("filesystem", "database", "s3")


@pytest.fixture(params=STORES)
def store_name(request) -> str:
    if request.param == "s3":
        request.getfixturevalue("s3_environment")
    return request.param


@pytest.fixture
def settings(tmp_path, database_url, redis_session_url, store_name) -> Settings:
    """The installation keeps its run files in the store of this test's parameter."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        redis_url=redis_session_url,
        secret_key="test-secret-key",
        run_file_store=store_name,
    )


@pytest.fixture
def run_id(database) -> int:
    with database.session() as session:
        campaign = Campaign(name="Informationskampagne", datasource="query", action="print")
        session.add(campaign)
        session.flush()
        run = Run(campaign_id=campaign.id, number=1, config={})
        session.add(run)
        session.flush()
        return run.id


def test_a_run_file_is_kept_replaced_whole_and_read_back_checked(
    database, settings, store_name, run_id
):
    files = RunFiles(load_plugins(), settings)
    with database.session() as session:
        files.save(session, run_id, "collection.pdf", [b"%PDF-1.7 ", b"first"])
    with database.session() as session:
        files.save(session, run_id, "collection.pdf", [b"%PDF-1.7 second"])  # a retried write
        files.save(session, run_id, "provider/extraction.csv", [b"a;b\r\n"])
    with database.session() as session:
        assert files.listing(session, run_id) == [
            ("collection.pdf", 15),
            ("provider/extraction.csv", 5),
        ]
        assert files.read_bytes(session, run_id, "collection.pdf") == b"%PDF-1.7 second"
        rows = session.scalars(select(RunFile).order_by(RunFile.name)).all()
        assert {row.store for row in rows} == {store_name}
        session.execute(update(RunFile).values(sha256="0" * 64))
    with database.session() as session, pytest.raises(ArchiveIntegrityError):
        files.read_bytes(session, run_id, "collection.pdf")


def test_a_write_whose_transaction_rolls_back_is_never_seen(database, settings, run_id):
    files = RunFiles(load_plugins(), settings)
    with pytest.raises(RuntimeError), database.session() as session:
        files.save(session, run_id, "manifest.csv", [b"number;name\r\n"])
        raise RuntimeError("the worker dies before the ledger commits")
    with database.session() as session:
        assert files.listing(session, run_id) == []
        with pytest.raises(FileNotFoundError):
            files.read(session, run_id, "manifest.csv")


def test_names_outside_the_run_are_refused(database, settings, run_id):
    files = RunFiles(load_plugins(), settings)
    for name in ("../secret.txt", "/etc/passwd", ".hidden", "a/../../b", ""):
        with database.session() as session, pytest.raises(ValueError):
            files.save(session, run_id, name, [b"x"])


def test_the_panel_serves_the_collection_manifest_and_previews_from_the_store(
    panel, settings, store_name
):
    from test_webapp_campaigns import add_people, make_campaign

    if store_name == "database" and settings.database_url.startswith("sqlite"):
        pytest.skip(
            "the database store writes through a connection of its own, which SQLite's single "
            "writer makes wait for the run's open transaction (plugins/stores/database)"
        )
    add_people(panel, 3)
    campaign_id = make_campaign(panel)
    runtime = panel.runtime
    run = start_run(runtime, campaign_id, confirmed_by="test")
    panel.work()
    preview = start_run(runtime, campaign_id, dry_run=True, preview_count=1)
    panel.work()
    viewer = panel.client(Role.VIEWER)
    base = f"/campaigns/{campaign_id}/runs/{run.id}"

    collection = viewer.get(f"{base}/files/collection.pdf")
    assert collection.status_code == 200 and collection.mimetype == "application/pdf"
    assert "attachment" in collection.headers["Content-Disposition"]
    assert len(PdfReader(io.BytesIO(collection.data)).pages) == 3
    manifest = viewer.get(f"{base}/files/manifest.csv").data.decode("utf-8-sig")
    assert [row["number"] for row in csv.DictReader(manifest.splitlines(), delimiter=";")] == [
        "1",
        "2",
        "3",
    ]
    page = viewer.get(base).get_data(as_text=True)
    assert "collection.pdf" in page and "manifest.csv" in page

    with runtime.database.session() as session:
        detail = session.scalar(
            select(RunItem.detail).where(RunItem.run_id == preview.id, RunItem.detail != "dry run")
        )
        stores = set(session.scalars(select(RunFile.store)))
    name = detail.removeprefix("preview: ")
    letter = viewer.get(f"/campaigns/{campaign_id}/runs/{preview.id}/files/{name}")
    assert "Probedruck" in PdfReader(io.BytesIO(letter.data)).pages[0].extract_text()
    assert stores == {store_name}
    data_dir = settings.data_dir
    assert not (data_dir / "runs").exists()  # nothing on a worker's disk for others to read
    assert not [path for path in (data_dir / "work").rglob("*") if path.is_file()]


def test_old_run_files_on_disk_are_served_and_moved_into_a_store_verified(
    database, settings, store_name, run_id
):
    files = RunFiles(load_plugins(), settings)
    legacy = settings.data_dir / "runs" / str(run_id)
    (legacy / "provider").mkdir(parents=True)
    (legacy / "collection.pdf").write_bytes(b"%PDF-1.4 old collection")
    (legacy / "provider" / "extraction.csv").write_bytes(b"id;name\r\n")
    (legacy / ".manifest.csv.part").write_bytes(b"half")
    with database.session() as session:
        assert files.listing(session, run_id) == [
            ("collection.pdf", 23),
            ("provider/extraction.csv", 9),
        ]
        assert files.read_bytes(session, run_id, "collection.pdf") == b"%PDF-1.4 old collection"

    report = import_legacy_run_files(database, files, store_name)
    assert (report.imported, report.failed) == (2, [])
    assert not (legacy / "collection.pdf").exists()
    assert (legacy / ".manifest.csv.part").exists()  # half-written files are not run files
    with database.session() as session:
        assert files.read_bytes(session, run_id, "collection.pdf") == b"%PDF-1.4 old collection"
        assert set(session.scalars(select(RunFile.store))) == {store_name}


def test_moving_run_files_verifies_every_copy_before_the_source_goes(
    database, settings, store_name, run_id
):
    source = "database" if store_name != "database" else "filesystem"
    files = RunFiles(load_plugins(), dataclasses.replace(settings, run_file_store=source))
    with database.session() as session:
        files.save(session, run_id, "collection.pdf", [b"%PDF-1.7 ok"])
        files.save(session, run_id, "manifest.csv", [b"number\r\n"])
    with database.session() as session:
        bad = session.scalar(select(RunFile).where(RunFile.name == "manifest.csv"))
        bad_ref = bad.store_ref
        bad.sha256 = "0" * 64  # the stored bytes no longer match what was recorded

    report = move_run_files(database, files, store_name)
    assert report.moved == 1
    assert [what for what, _reason in report.failed] == [f"run file manifest.csv of run {run_id}"]
    with database.session() as session:
        where = dict(session.execute(select(RunFile.name, RunFile.store)).all())
        assert where == {"collection.pdf": store_name, "manifest.csv": source}
        assert files.read_bytes(session, run_id, "collection.pdf") == b"%PDF-1.7 ok"
        assert session.scalar(select(func.count()).select_from(RunFile)) == 2
    assert files.store(source).get(bad_ref) == b"number\r\n"  # left where it was
