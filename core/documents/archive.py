"""The document archive: documents filed with their contact, rows in ``archived_documents``,
bytes in a document store plugin.

Bytes are stored before their row commits, under a key derived from what they are (run and
recipient), so a retried transaction overwrites instead of copying; the store makes them
durable just before that commit, once per transaction. Deleting commits the rows and the
``ArchiveDeletion`` first and deletes the files after. Moving to another store copies,
verifies the SHA-256, commits the row, then deletes the old copy. Each order can leave an
orphaned file after a crash, never a row without its file.
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
from operator import methodcaller
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db.database import Database
from core.models import ArchivedDocument, ArchiveDeletion, DocumentKind, Run, RunFile
from core.plugin_base import DocumentStore
from core.plugins import PluginHost

log = logging.getLogger(__name__)

DELETE_BATCH = 500
MOVE_BATCH = 200
SYNC_THREADS = 16
"""The journal takes concurrent ``fsync`` calls in one commit: 100 files cost 30 ms across 16
threads instead of 200 ms one after another."""


class ArchiveIntegrityError(RuntimeError):
    """Stored bytes no longer match the checksum recorded when they were archived."""


def write_atomically(target: Path, data: bytes | Iterable[bytes], *, durable: bool = True) -> None:
    """Write ``target`` (bytes or chunks) so it is never seen partially written; without
    ``durable`` the caller makes it durable with :func:`sync_files`, once for many files."""
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    except FileNotFoundError:  # the folder's first file: made then, not tried before each
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.writelines((data,) if isinstance(data, bytes) else data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        sync_files([], [target.parent])


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
    """Flush files, then the directories naming them (a rename is durable only then)."""
    for paths, flags in ((files, os.O_RDONLY), (directories, os.O_RDONLY | os.O_DIRECTORY)):
        paths = list(paths)
        if len(paths) == 1:
            _flush(paths[0], flags)
        elif paths:
            list(_flusher(os.getpid()).map(functools.partial(_flush, flags=flags), paths))


def file_chunks(file: BinaryIO, size: int = DocumentStore.chunk_size) -> Iterator[bytes]:
    with file:
        while chunk := file.read(size):
            yield chunk


def open_store(plugins: PluginHost, settings: Settings, name: str) -> DocumentStore:
    """The document store plugin ``name``, given ``data_dir`` and ``database_url`` if its
    settings ask for them."""
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

    With ``run_id`` and ``source_key`` (the recipient's ledger key) a retry overwrites the
    same file. The row is added, not flushed: on SQLite an INSERT holds the write lock
    until the commit, and the workers of a print batch would take turns.
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


def _pending(session: Session, key: str, when: str, handle: Callable[[Any], None]) -> list[Any]:
    """The session's list ``key``: each item goes to ``handle`` when its transaction reaches
    ``when``, and a rollback forgets them; a savepoint does neither."""
    if key not in session.info:
        session.info[key] = []

        def take(session: Session) -> list[Any]:
            if session.in_nested_transaction():
                return []
            items, session.info[key] = session.info[key], []
            return items

        def hand_over(session: Session) -> None:
            for item in take(session):
                handle(item)

        event.listen(session, when, hand_over)
        event.listen(session, "after_rollback", take)
    return session.info[key]


def sync_before_commit(session: Session, store: DocumentStore) -> None:
    """Have ``store`` make its files durable before the rows naming them commit."""
    stores = _pending(session, "archive.unsynced_stores", "before_commit", methodcaller("sync"))
    if not any(known is store for known in stores):
        stores.append(store)


def delete_after_commit(
    session: Session, files: list[tuple[str, str]], stores: Callable[[str], DocumentStore]
) -> None:
    """Delete the stored ``files`` (store name, reference) once the transaction commits."""
    pending = _pending(session, "archive.pending_file_deletes", "after_commit", _delete_file)
    pending.extend((stores, store_name, reference) for store_name, reference in files)


def _delete_file(item: tuple[Callable[[str], DocumentStore], str, str]) -> None:
    stores, store_name, reference = item
    try:
        stores(store_name).delete(reference)
    except Exception:
        log.warning("archived file %s/%s not deleted (orphan)", store_name, reference)


def read_document(store: DocumentStore, document: ArchivedDocument) -> bytes:
    """The stored bytes, checked against the recorded checksum."""
    data = store.get(document.store_ref)
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise ArchiveIntegrityError(
            "the archived document does not match its checksum: "
            f"{document.id} ({document.filename})"
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
    settings)``); files go after the caller's commit. Ids of other runs are refused.
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
    return delete_rows(session, stores, rows, run_id, campaign_id, by=by, reason=reason)


def delete_rows(
    session: Session,
    stores: Callable[[str], DocumentStore],
    rows: Sequence[Any],
    run_id: int | None,
    campaign_id: int | None,
    *,
    by: str,
    reason: str,
) -> ArchiveDeletion:
    """Delete the documents of ``rows`` (``id``, ``store``, ``store_ref``) of one run, logged
    as one ``ArchiveDeletion``; their files go after the caller's commit."""
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


@dataclass
class MoveReport:
    """What a move did: files moved (and legacy run files imported), and those left where
    they were (what, why); ``orphans``: old copies it could not delete (store, reference)."""

    moved: int = 0
    imported: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    orphans: list[tuple[str, str]] = field(default_factory=list)


def move_documents(
    database: Database,
    stores: Callable[[str], DocumentStore],
    target: str,
    *,
    source: str | None = None,
) -> MoveReport:
    """Move the archived documents (of the store ``source``, or of every store but
    ``target``) into ``target``; see :func:`move_stored`."""
    return move_stored(
        database, ArchivedDocument, stores, target, source, document_key, "document {row.id}"
    )


def move_stored(
    database: Database,
    table: type[ArchivedDocument] | type[RunFile],
    stores: Callable[[str], DocumentStore],
    target: str,
    source: str | None,
    key: Callable[[Any], str],
    what: str,
) -> MoveReport:
    """Move the stored files of ``table``'s rows into the store ``target``, one at a time.

    Each copy is read back against the recorded SHA-256 before its row points at it (its
    own commit), and only then is the old copy deleted: an interruption leaves every row on
    a good copy, and running it again moves the rest. A file that cannot be moved stays
    and is reported, named by ``what.format(row=row)``.
    """
    report = MoveReport()
    destination = stores(target)
    last_id = 0
    while True:
        query = select(table.__table__).where(table.store != target, table.id > last_id)
        if source is not None:
            query = query.where(table.store == source)
        with database.session() as session:
            rows = session.execute(query.order_by(table.id).limit(MOVE_BATCH)).all()
        if not rows:
            return report
        for row in rows:
            last_id = row.id
            name = what.format(row=row)
            try:
                origin = stores(row.store)
                chunks = origin.get_stream(row.store_ref)
                reference = copy_verified(
                    chunks, row.sha256, destination, key(row), what=name, source=row.store
                )
            except Exception as exc:  # any store's error: this file stays, the rest go on
                report.failed.append((name, str(exc) or type(exc).__name__))
                continue
            if not _repoint(database, table, row, target, reference):
                destination.delete(reference)  # the row went (or moved) meanwhile
                continue
            report.moved += 1
            try:
                origin.delete(row.store_ref)
            except Exception:
                log.warning("stored file %s/%s not deleted (orphan)", row.store, row.store_ref)
                report.orphans.append((row.store, row.store_ref))


def document_key(document: Any) -> str:
    """The key ``archive_document`` stored the document under, or one of its own id."""
    if document.run_id is not None and document.source_key:
        return f"run-{document.run_id}/{document.source_key}/{document.filename}"
    return f"document-{document.id}/{document.filename}"


def copy_verified(
    chunks: Iterable[bytes],
    sha256: str,
    destination: DocumentStore,
    key: str,
    *,
    what: str,
    source: str,
) -> str:
    """Stream ``chunks`` (of ``what`` in ``source``) into ``destination`` under ``key``,
    proving them and the copy read back against ``sha256``; a bad copy is deleted."""
    read = hashlib.sha256()

    def counted() -> Iterator[bytes]:
        for chunk in chunks:
            read.update(chunk)
            yield chunk

    reference = destination.put_stream(key, counted())
    destination.sync()
    if read.hexdigest() != sha256:
        destination.delete(reference)
        raise ArchiveIntegrityError(f"{what} does not match its checksum in {source}")
    written = hashlib.sha256()
    for chunk in destination.get_stream(reference):
        written.update(chunk)
    if written.hexdigest() != sha256:
        destination.delete(reference)
        raise ArchiveIntegrityError(f"the copy of {what} does not match its checksum")
    return reference


def _repoint(database: Database, table: Any, row: Any, target: str, reference: str) -> bool:
    """Point the row at the verified copy, if it still names the copy that was read."""
    with database.session() as session:
        changed = session.execute(
            update(table)
            .where(table.id == row.id, table.store == row.store, table.store_ref == row.store_ref)
            .values(store=target, store_ref=reference)
        ).rowcount
        if changed:
            return True
        now = session.execute(select(table.store, table.store_ref).where(table.id == row.id))
        return tuple(now.first() or ()) == (target, reference)
