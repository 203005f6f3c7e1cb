import hashlib
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from core.clock import FrozenClock, install
from core.config import Settings
from core.documents.archive import (
    ArchiveIntegrityError,
    archive_document,
    delete_run_documents,
    document_key,
    move_documents,
    open_store,
    read_document,
    sync_files,
)
from core.models import (
    ArchivedDocument,
    ArchiveDeletion,
    Campaign,
    Contact,
    DocumentKind,
    Run,
)
from core.plugins import load_plugins
from plugins.stores.database import DatabaseStore
from plugins.stores.filesystem import FilesystemStore
from webapp.i18n import PANEL_CATALOGS

from panel_helpers import detail_in


@pytest.fixture
def store(tmp_path) -> FilesystemStore:
    return FilesystemStore({"data_dir": str(tmp_path)})


@pytest.fixture
def clock():
    frozen = FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    previous = install(frozen)
    yield frozen
    install(previous)


@pytest.fixture
def run_ids(database) -> tuple[int, int, int]:
    """(contact, campaign, run): what archived letters point to."""
    with database.session() as session:
        contact = Contact(number="K-1", last_name="Weiß")
        campaign = Campaign(name="Informationskampagne", datasource="query", action="print")
        session.add_all([contact, campaign])
        session.flush()
        run = Run(campaign_id=campaign.id, number=1, config={})
        session.add(run)
        session.flush()
        return contact.id, campaign.id, run.id


def archive(session, store, ids, key, data=b"%PDF-1.7 letter", **extra):
    contact_id, campaign_id, run_id = ids
    return archive_document(
        session,
        store,
        contact_id=contact_id,
        campaign_id=campaign_id,
        run_id=run_id,
        report_id=None,
        kind=DocumentKind.LETTER,
        title="Informationsschreiben",
        filename=f"brief-{key}.pdf",
        data=data,
        source_key=key,
        **extra,
    )


def test_a_document_goes_in_and_comes_back_checked(database, store, run_ids, tmp_path):
    data = "Brief an Jürgen Weiß: 12,50 €".encode()
    with database.session() as session:
        document = archive(session, store, run_ids, "contacts:1", data, meta={"pages": 1})
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert (document.size, document.store, document.meta) == (len(data), "filesystem", {"pages": 1})
    with database.session() as session:
        stored = session.get(ArchivedDocument, document.id)
        assert read_document(store, stored) == data
    path = tmp_path / "archive" / document.store_ref
    assert path.read_bytes() == data
    assert len(path.parent.relative_to(tmp_path / "archive").parts) == 2  # sharded
    assert not list((tmp_path / "archive").rglob(".tmp-*"))  # nothing half-written left
    path.write_bytes(b"changed")
    with database.session() as session, pytest.raises(ArchiveIntegrityError) as changed:
        read_document(store, session.get(ArchivedDocument, document.id))
    assert detail_in("de", str(changed.value), PANEL_CATALOGS) == (
        f"das archivierte Dokument passt nicht zu seiner Prüfsumme: {document.id} "
        "(brief-contacts:1.pdf)"
    )


def test_archiving_the_same_recipient_again_reuses_the_file_and_is_refused(
    database, store, run_ids, tmp_path
):
    with database.session() as session:
        first = archive(session, store, run_ids, "contacts:1").store_ref
    with pytest.raises(IntegrityError), database.session() as session:
        assert archive(session, store, run_ids, "contacts:1").store_ref == first
    files = [path for path in (tmp_path / "archive").rglob("*") if path.is_file()]
    assert [path.relative_to(tmp_path / "archive").as_posix() for path in files] == [first]


def test_the_store_only_reads_its_own_references(store):
    reference = store.put("run-1/contacts:1/brief.pdf", b"x")
    assert reference.endswith(".pdf") and store.get(reference) == b"x"
    for bad in ("../../etc/passwd", "/etc/passwd", "ab/cd/../../../x"):
        with pytest.raises(ValueError):
            store.get(bad)
    store.delete(reference)
    store.delete(reference)  # already gone: not an error


def test_deleting_chosen_documents_of_a_run_is_logged(database, store, run_ids, tmp_path):
    with database.session() as session:
        documents = [archive(session, store, run_ids, f"contacts:{n}") for n in (1, 2, 3)]
    stores = partial(open_store, load_plugins(modules=("plugins.stores.filesystem",)))
    stores = partial(stores, Settings(tmp_path, "sqlite://", None, "secret"))
    chosen = [documents[0].id, documents[2].id]
    with database.session() as session:
        entry = delete_run_documents(
            session, stores, run_ids[2], chosen, by="admin", reason="falscher Bericht"
        )
        assert all((tmp_path / "archive" / d.store_ref).exists() for d in documents)
    with database.session() as session:
        left = session.scalars(
            select(ArchivedDocument.id).where(ArchivedDocument.run_id == run_ids[2])
        ).all()
        assert left == [documents[1].id]
        logged = session.get(ArchiveDeletion, entry.id)
        assert (logged.run_id, logged.campaign_id, logged.deleted_by) == (
            run_ids[2],
            run_ids[1],
            "admin",
        )
        assert (logged.count, logged.reason, logged.document_ids) == (2, "falscher Bericht", chosen)
    assert [(tmp_path / "archive" / d.store_ref).exists() for d in documents] == [
        False,
        True,
        False,
    ]


def test_a_deletion_that_rolls_back_keeps_every_file(database, store, run_ids, tmp_path):
    with database.session() as session:
        document = archive(session, store, run_ids, "contacts:1")
    stores = partial(open_store, load_plugins(modules=("plugins.stores.filesystem",)))
    stores = partial(stores, Settings(tmp_path, "sqlite://", None, "secret"))
    with pytest.raises(RuntimeError), database.session() as session:
        delete_run_documents(session, stores, run_ids[2], by="admin")
        raise RuntimeError("changed my mind")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchiveDeletion)) == 0
        assert read_document(store, session.get(ArchivedDocument, document.id))
    with (
        pytest.raises(ValueError, match="not archived documents of run"),
        database.session() as session,
    ):
        delete_run_documents(session, stores, run_ids[2], [document.id + 1], by="admin")


class RecordingStore(FilesystemStore):
    """The filesystem store, noting when it is asked to make its files durable."""

    name = "recording"

    def __init__(self, params, events, failing=False):
        super().__init__(params)
        self.events = events
        self.failing = failing

    def put(self, key, data):
        self.events.append("put")
        return super().put(key, data)

    def sync(self):
        self.events.append("sync")
        if self.failing:
            raise OSError("disk full")
        super().sync()


def test_files_are_made_durable_once_per_transaction_before_it_commits(database, run_ids, tmp_path):
    events = []
    store = RecordingStore({"data_dir": str(tmp_path)}, events)
    with database.session() as session:
        event.listen(
            session,
            "after_commit",
            lambda s: None if s.in_nested_transaction() else events.append("commit"),
        )
        with session.begin_nested():
            archive(session, store, run_ids, "contacts:1")
        archive(session, store, run_ids, "contacts:2")
    assert events == ["put", "put", "sync", "commit"]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 2


def test_a_store_that_cannot_make_its_files_durable_stops_the_commit(database, run_ids, tmp_path):
    store = RecordingStore({"data_dir": str(tmp_path)}, [], failing=True)
    with pytest.raises(OSError, match="disk full"), database.session() as session:
        archive(session, store, run_ids, "contacts:1")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    store.failing = False
    with database.session() as session:
        archive(session, store, run_ids, "contacts:1")  # a retry writes and commits it
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 1


def test_documents_of_any_runs_are_deleted_with_one_log_entry_per_run(database, store, run_ids):
    from webapp.archive.views import delete_documents

    contact_id, campaign_id, run_id = run_ids
    with database.session() as session:
        letter = archive(session, store, run_ids, "contacts:1")
        loose = archive_document(
            session,
            store,
            contact_id=contact_id,
            campaign_id=None,
            run_id=None,
            report_id=None,
            kind=DocumentKind.EMAIL,
            title="Mail",
            filename="m.eml",
            data=b"Subject: x\n\nx",
        )
        session.flush()
        ids = [letter.id, loose.id]
    with (
        database.session() as session,
        pytest.raises(ValueError, match=r"documents \[999\] are not in the archive"),
    ):
        delete_documents(session, lambda name: store, [*ids, 999], by="anna")
    with database.session() as session:
        entries = delete_documents(session, lambda name: store, ids, by="anna", reason="test")
        assert [(e.run_id, e.campaign_id, e.count) for e in entries] == [
            (run_id, campaign_id, 1),
            (None, None, 1),
        ]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    assert not list(store.root.rglob("*.pdf")) and not list(store.root.rglob("*.eml"))


class InterruptedWrite(BaseException):
    """A crash in the middle of a move (a kill, a lost connection): nothing catches it."""


class CrashingDatabaseStore(DatabaseStore):
    """Dies while writing its ``crash_at``-th document, after a first part of its bytes."""

    crash_at = 3

    def __init__(self, params=None):
        super().__init__(params)
        self.writes = 0

    def put_stream(self, key, chunks):
        self.writes += 1
        if self.writes != self.crash_at:
            return super().put_stream(key, chunks)

        def dying():
            yield next(iter(chunks))
            raise InterruptedWrite

        return super().put_stream(key, dying())


def archived_in(database) -> list[tuple[str, str]]:
    with database.session() as session:
        return [
            (row.store, row.sha256)
            for row in session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id))
        ]


def archive_several(database, store, run_ids) -> list[bytes]:
    """Four letters (one of 3 MiB, several chunks) and a document of no run."""
    contents = [f"Brief {n}".encode() * 40 for n in range(3)] + [bytes(range(256)) * 12288]
    with database.session() as session:
        for number, data in enumerate(contents):
            archive(session, store, run_ids, f"contacts:{number}", data)
        archive_document(
            session,
            store,
            contact_id=run_ids[0],
            campaign_id=None,
            run_id=None,
            report_id=None,
            kind=DocumentKind.FILE,
            title="Notiz",
            filename="notiz.txt",
            data=b"Telefonat am Montag",
            content_type="text/plain",
        )
    return [*contents, b"Telefonat am Montag"]


def test_moving_documents_verifies_every_copy_before_the_source_goes(
    database, database_url, store, run_ids, tmp_path
):
    contents = archive_several(database, store, run_ids)
    target = DatabaseStore({"database_url": database_url})
    stores = {"filesystem": store, "database": target}.__getitem__
    report = move_documents(database, stores, "database")
    assert (report.moved, report.failed, report.orphans) == (5, [], [])
    assert [name for name, _ in archived_in(database)] == ["database"] * 5
    with database.session() as session:
        documents = session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
        assert [read_document(target, document) for document in documents] == contents
    assert [path for path in (tmp_path / "archive").rglob("*") if path.is_file()] == []
    again = move_documents(database, stores, "database")
    assert (again.moved, again.failed) == (0, [])


def test_an_interrupted_move_leaves_every_document_readable_and_finishes_when_run_again(
    database, database_url, store, run_ids
):
    contents = archive_several(database, store, run_ids)
    crashing = CrashingDatabaseStore({"database_url": database_url})
    stores = {"filesystem": store, "database": crashing}.__getitem__
    with pytest.raises(InterruptedWrite):
        move_documents(database, stores, "database")
    assert [name for name, _ in archived_in(database)] == ["database"] * 2 + ["filesystem"] * 3
    with database.session() as session:
        documents = session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
        assert [read_document(stores(row.store), row) for row in documents] == contents

    target = DatabaseStore({"database_url": database_url})
    stores = {"filesystem": store, "database": target}.__getitem__
    report = move_documents(database, stores, "database")
    assert (report.moved, report.failed) == (3, [])
    with database.session() as session:
        documents = session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
        assert [read_document(target, document) for document in documents] == contents


def test_a_move_interrupted_before_the_old_copy_is_deleted_only_leaves_that_copy(
    database, database_url, store, run_ids, monkeypatch
):
    archive_several(database, store, run_ids)
    target = DatabaseStore({"database_url": database_url})
    stores = {"filesystem": store, "database": target}.__getitem__

    def lost(reference):
        raise OSError("share unmounted")

    monkeypatch.setattr(store, "delete", lost)
    report = move_documents(database, stores, "database")
    assert report.moved == 5 and len(report.orphans) == 5
    assert [name for name, _ in archived_in(database)] == ["database"] * 5
    assert move_documents(database, stores, "database").moved == 0


def test_a_document_that_no_longer_matches_its_checksum_is_not_moved(
    database, database_url, store, run_ids, tmp_path
):
    archive_several(database, store, run_ids)
    with database.session() as session:
        first = session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).first()
    (tmp_path / "archive" / first.store_ref).write_bytes(b"changed on disk")
    target = DatabaseStore({"database_url": database_url})
    stores = {"filesystem": store, "database": target}.__getitem__
    report = move_documents(database, stores, "database")
    assert report.moved == 4
    assert report.failed == [
        (f"document {first.id}", f"document {first.id} does not match its checksum in filesystem")
    ]
    assert archived_in(database)[0][0] == "filesystem"
    with pytest.raises(FileNotFoundError):
        target.get(hashlib.sha256(document_key(first).encode()).hexdigest())


def test_syncing_many_files_flushes_them_at_once_and_skips_one_deleted_meanwhile(tmp_path):
    files = [tmp_path / f"letter-{n}.pdf" for n in range(40)]
    for path in files:
        path.write_bytes(b"%PDF-1.4")
    files[3].unlink()
    sync_files(files, [tmp_path])
    sync_files(files[:1], [])
    with pytest.raises(FileNotFoundError):
        sync_files([], [tmp_path / "gone", tmp_path])
