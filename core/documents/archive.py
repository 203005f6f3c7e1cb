"""The document archive: letters and other documents filed with the contact they went to.

The metadata lives in ``archived_documents``; the bytes go to a document store plugin
(``register_document_stores``; built in: ``filesystem``, ``database``, ``s3``). A
document is stored before its row commits, under a key its caller derives from what it is
(run and recipient for a printed letter), so a retried transaction writes the same key
again instead of a second copy; the store makes its files durable
(``DocumentStore.sync``) just before that commit, once per transaction rather than once
per document. A transaction that rolls back for good can leave a stored file no row
points to: an orphan that costs disk space and nothing else.

Deleting goes the other way round: the rows and the audit record (``ArchiveDeletion``)
commit together, and the stored files are deleted only after that commit, so a rollback
never leaves a row without its file. A crash between the commit and the file deletions
leaves orphans again, never a dangling row.

Moving documents to another store (``move_documents``, ``campaign documents move``) keeps
the same order: copy, verify the copy against the recorded SHA-256, commit the row's new
store, then delete the old copy.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db.database import Database
from core.models import ArchivedDocument, ArchiveDeletion, DocumentKind, Run
from core.plugin_base import DocumentStore
from core.plugins import PluginHost

log = logging.getLogger(__name__)

DELETE_BATCH = 500
_PENDING_DELETES = "archive.pending_file_deletes"
_UNSYNCED_STORES = "archive.unsynced_stores"


class ArchiveIntegrityError(RuntimeError):
    """Stored bytes no longer match the checksum recorded when they were archived."""


def write_atomically(target: Path, data: bytes | Iterable[bytes], *, durable: bool = True) -> None:
    """Write ``target`` so that it is never seen partially written: a temporary file in the
    same directory, renamed over the name once complete. ``data`` is the bytes or an
    iterable of chunks, written as they come.

    ``durable`` flushes the file to disk before the rename and the directory after it; a
    caller that writes many files may pass False and call :func:`sync_files` once for all
    of them before it relies on them.
    """
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    except FileNotFoundError:  # the folder's first file: made then, not tried before each
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            for chunk in (data,) if isinstance(data, bytes) else data:
                file.write(chunk)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        sync_files([], [target.parent])


SYNC_THREADS = 16
"""Flushes under way at once: the file system's journal takes concurrent ``fsync`` calls in
one commit, so a claim's hundred letters cost a few flushes, not a hundred (measured here:
100 files and their folder 200 ms one after another, 30 ms across 16 threads)."""


@functools.cache
def _flusher(_process: int) -> ThreadPoolExecutor:
    """One pool per process: a worker's forked work horse must not use its parent's threads."""
    return ThreadPoolExecutor(max_workers=SYNC_THREADS, thread_name_prefix="fsync")


def _flush(path: Path, flags: int) -> None:
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        if flags & os.O_DIRECTORY:
            raise
        return  # a file deleted meanwhile needs nothing
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_files(files: Iterable[Path], directories: Iterable[Path]) -> None:
    """Flush files and then the directories naming them to disk (a rename is only durable
    once its directory is); a file deleted meanwhile needs nothing."""
    for paths, flags in (
        (list(files), os.O_RDONLY),
        (list(directories), os.O_RDONLY | os.O_DIRECTORY),
    ):
        if len(paths) == 1:
            _flush(paths[0], flags)
        elif paths:
            list(_flusher(os.getpid()).map(functools.partial(_flush, flags=flags), paths))


def open_store(plugins: PluginHost, settings: Settings, name: str) -> DocumentStore:
    """The document store plugin ``name``, given the data directory and the database URL
    if its settings ask for them (``data_dir``, ``database_url``)."""
    store_class = plugins.document_stores.get(name)
    installation = {"data_dir": str(settings.data_dir), "database_url": settings.database_url}
    fields = store_class.Params.model_fields
    return store_class({key: value for key, value in installation.items() if key in fields})


def archive_document(
    session: Session,
    store: DocumentStore,
    *,
    contact_id: int | None,
    campaign_id: int | None,
    run_id: int | None,
    report_id: int | None,
    kind: DocumentKind,
    title: str,
    filename: str,
    data: bytes,
    content_type: str = "application/pdf",
    source_key: str | None = None,
    meta: Mapping[str, Any] | None = None,
    created_by: str | None = None,
) -> ArchivedDocument:
    """Store ``data`` and record it for the contact; the caller's transaction commits it.

    With ``run_id`` and ``source_key`` (the ledger key of the recipient) the stored key is
    derived from them, so doing it again overwrites the same file, and the row is unique.
    The row is added, not flushed (its id comes with the next flush): on SQLite an INSERT
    takes the database's write lock until the commit, and a print batch renders for
    seconds after each letter's row, so a flush here would make the workers take turns.
    """
    key = f"run-{run_id}/{source_key}" if source_key else f"document-{uuid.uuid4().hex}"
    reference = store.put(f"{key}/{filename}", data)
    sync_before_commit(session, store)
    document = ArchivedDocument(
        contact_id=contact_id,
        campaign_id=campaign_id,
        run_id=run_id,
        report_id=report_id,
        source_key=source_key,
        kind=kind,
        title=title,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        store=store.name,
        store_ref=reference,
        meta=dict(meta or {}),
        created_by=created_by,
    )
    session.add(document)
    return document


def sync_before_commit(session: Session, store: DocumentStore) -> None:
    """Have ``store`` make its files durable before the rows naming them commit: a row
    never outlives a crash that its file did not survive."""
    stores = session.info.get(_UNSYNCED_STORES)
    if stores is None:
        stores = session.info[_UNSYNCED_STORES] = []
        event.listen(session, "before_commit", _sync_stores)
        event.listen(session, "after_rollback", _forget_unsynced)
    if not any(known is store for known in stores):
        stores.append(store)


def _sync_stores(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the files are synced when the transaction itself commits
    stores, session.info[_UNSYNCED_STORES] = session.info[_UNSYNCED_STORES], []
    for store in stores:
        store.sync()


def _forget_unsynced(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info[_UNSYNCED_STORES] = []


def read_document(store: DocumentStore, document: ArchivedDocument) -> bytes:
    """The stored bytes, checked against the recorded checksum."""
    data = store.get(document.store_ref)
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise ArchiveIntegrityError(
            f"document {document.id} ({document.filename}) does not match its checksum"
        )
    return data


def delete_run_documents(
    session: Session,
    stores: Callable[[str], DocumentStore],
    run_id: int,
    document_ids: Sequence[int] | None = None,
    *,
    by: str,
    reason: str = "",
) -> ArchiveDeletion:
    """Delete a run's documents (all, or those of ``document_ids``) and log who did it.

    ``stores`` gives the store of a name (``functools.partial(open_store, plugins,
    settings)``). The rows and the log entry go with the caller's commit; the files are
    deleted after it. Ids that are not documents of this run are refused.
    """
    query = select(ArchivedDocument.id, ArchivedDocument.store, ArchivedDocument.store_ref).where(
        ArchivedDocument.run_id == run_id
    )
    if document_ids is not None:
        query = query.where(ArchivedDocument.id.in_(document_ids))
    rows = session.execute(query.order_by(ArchivedDocument.id)).all()
    if document_ids is not None:
        foreign = sorted(set(document_ids) - {row.id for row in rows})
        if foreign:
            raise ValueError(f"documents {foreign} are not archived documents of run {run_id}")
    run = session.get(Run, run_id)
    campaign_id = run.campaign_id if run else None
    return _delete(session, stores, rows, run_id, campaign_id, by=by, reason=reason)


def delete_documents(
    session: Session,
    stores: Callable[[str], DocumentStore],
    document_ids: Sequence[int],
    *,
    by: str,
    reason: str = "",
) -> list[ArchiveDeletion]:
    """Delete the chosen documents, whatever run made them (if any), and log who did it.

    One ``ArchiveDeletion`` per run (and one for documents of no run), so the log of a
    run lists everything deleted from it. Unknown ids are refused; files go after commit.
    """
    wanted = sorted(set(document_ids))
    rows = []
    for start in range(0, len(wanted), DELETE_BATCH):
        rows += session.execute(
            select(
                ArchivedDocument.id,
                ArchivedDocument.run_id,
                ArchivedDocument.campaign_id,
                ArchivedDocument.store,
                ArchivedDocument.store_ref,
            ).where(ArchivedDocument.id.in_(wanted[start : start + DELETE_BATCH]))
        ).all()
    unknown = sorted(set(wanted) - {row.id for row in rows})
    if unknown:
        raise ValueError(f"documents {unknown} are not in the archive")
    by_run: dict[int | None, list[Any]] = {}
    for row in sorted(rows, key=lambda row: row.id):
        by_run.setdefault(row.run_id, []).append(row)
    entries = []
    for run_id, group in by_run.items():
        campaigns = {row.campaign_id for row in group}
        campaign_id = campaigns.pop() if len(campaigns) == 1 else None
        entries.append(_delete(session, stores, group, run_id, campaign_id, by=by, reason=reason))
    return entries


def _delete(
    session: Session,
    stores: Callable[[str], DocumentStore],
    rows: Sequence[Any],
    run_id: int | None,
    campaign_id: int | None,
    *,
    by: str,
    reason: str,
) -> ArchiveDeletion:
    ids = [row.id for row in rows]
    for start in range(0, len(ids), DELETE_BATCH):
        batch = ids[start : start + DELETE_BATCH]
        session.execute(delete(ArchivedDocument).where(ArchivedDocument.id.in_(batch)))
    entry = ArchiveDeletion(
        run_id=run_id,
        campaign_id=campaign_id,
        deleted_by=by,
        count=len(ids),
        reason=reason,
        document_ids=ids,
    )
    session.add(entry)
    session.flush()
    delete_after_commit(session, [(row.store, row.store_ref) for row in rows], stores)
    return entry


def delete_after_commit(
    session: Session,
    files: list[tuple[str, str]],
    stores: Callable[[str], DocumentStore],
) -> None:
    """Delete the stored ``files`` (store name, reference) once the session's transaction
    commits, and forget them if it rolls back."""
    if _PENDING_DELETES not in session.info:
        session.info[_PENDING_DELETES] = []
        event.listen(session, "after_commit", _delete_committed)
        event.listen(session, "after_rollback", _forget_rolled_back)
    session.info[_PENDING_DELETES].append((files, stores))


def _delete_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    pending, session.info[_PENDING_DELETES] = session.info[_PENDING_DELETES], []
    for files, stores in pending:
        for store_name, reference in files:
            try:
                stores(store_name).delete(reference)
            except Exception:
                log.warning("archived file %s/%s not deleted (orphan)", store_name, reference)


def _forget_rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info[_PENDING_DELETES] = []


MOVE_BATCH = 200


@dataclass
class MoveReport:
    """What ``move_documents`` did: documents moved, and those it left where they were."""

    moved: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    orphans: list[tuple[str, str]] = field(default_factory=list)
    """Source copies that could not be deleted after the move (store, reference)."""


def move_documents(
    database: Database,
    stores: Callable[[str], DocumentStore],
    target: str,
    *,
    source: str | None = None,
    moved: Callable[[int], None] | None = None,
) -> MoveReport:
    """Move every archived document (of the store ``source``, or of every store but
    ``target``) into the store ``target``, one document at a time.

    Each document is streamed from its store into the target under the key the archive
    gave it, read back from the target and compared with the SHA-256 recorded when it was
    archived; only then does its row point at the target (its own commit), and only after
    that commit is the source copy deleted. An interruption leaves every row pointing at a
    copy that matches its checksum; running it again moves what is left, writing a copy
    that was made but not yet recorded again whole. A document that cannot be read, does
    not match or cannot be written stays where it is and is reported; ``moved`` is told the
    id of each document moved.
    """
    report = MoveReport()
    destination = stores(target)
    last_id = 0
    while True:
        query = select(
            ArchivedDocument.id,
            ArchivedDocument.run_id,
            ArchivedDocument.source_key,
            ArchivedDocument.filename,
            ArchivedDocument.sha256,
            ArchivedDocument.store,
            ArchivedDocument.store_ref,
        ).where(ArchivedDocument.store != target, ArchivedDocument.id > last_id)
        if source is not None:
            query = query.where(ArchivedDocument.store == source)
        with database.session() as session:
            rows = session.execute(query.order_by(ArchivedDocument.id).limit(MOVE_BATCH)).all()
        if not rows:
            return report
        for row in rows:
            last_id = row.id
            try:
                origin = stores(row.store)
                what = f"document {row.id}"
                reference = copy_verified(origin, destination, row, document_key(row), what)
            except Exception as exc:  # any store's error: this document stays, the rest go on
                report.failed.append((row.id, str(exc) or type(exc).__name__))
                continue
            if not _repoint(database, row, target, reference):
                destination.delete(reference)  # the row went (or moved) meanwhile
                continue
            report.moved += 1
            if moved is not None:
                moved(row.id)
            try:
                origin.delete(row.store_ref)
            except Exception:
                log.warning("archived file %s/%s not deleted (orphan)", row.store, row.store_ref)
                report.orphans.append((row.store, row.store_ref))


def document_key(document: Any) -> str:
    """The key a document is stored under: the one ``archive_document`` derived from the
    run and recipient, or one of the document's own id."""
    if document.run_id is not None and document.source_key:
        return f"run-{document.run_id}/{document.source_key}/{document.filename}"
    return f"document-{document.id}/{document.filename}"


def copy_verified(
    origin: DocumentStore, destination: DocumentStore, row: Any, key: str, what: str
) -> str:
    """Stream ``row``'s bytes (``store_ref``) into ``destination`` under ``key`` and prove the
    copy against ``row.sha256`` by reading it back; a copy that differs is deleted.
    ``what`` names the row in errors."""
    read = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        for chunk in origin.get_stream(row.store_ref):
            read.update(chunk)
            yield chunk

    reference = destination.put_stream(key, chunks())
    destination.sync()
    if read.hexdigest() != row.sha256:
        destination.delete(reference)
        raise ArchiveIntegrityError(f"{what} does not match its checksum in {row.store}")
    written = hashlib.sha256()
    for chunk in destination.get_stream(reference):
        written.update(chunk)
    if written.hexdigest() != row.sha256:
        destination.delete(reference)
        raise ArchiveIntegrityError(f"the copy of {what} does not match its checksum")
    return reference


def _repoint(database: Database, row: Any, target: str, reference: str) -> bool:
    """Point the row at the verified copy, if it still names the copy that was read."""
    with database.session() as session:
        changed = session.execute(
            update(ArchivedDocument)
            .where(
                ArchivedDocument.id == row.id,
                ArchivedDocument.store == row.store,
                ArchivedDocument.store_ref == row.store_ref,
            )
            .values(store=target, store_ref=reference)
        ).rowcount
        if changed:
            return True
        now = session.execute(
            select(ArchivedDocument.store, ArchivedDocument.store_ref).where(
                ArchivedDocument.id == row.id
            )
        ).first()
    return now is not None and tuple(now) == (target, reference)
