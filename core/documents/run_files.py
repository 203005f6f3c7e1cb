"""Run files: what a run produces besides its archived letters (the collection PDF and its
manifest, extraction files, previews, upload files), kept in a document store so that the
panel, the workers and the workflows on every machine reach them.

A file's bytes go to the store ``CAMPAIGN_RUN_FILE_STORE`` names (``filesystem`` unless
set) under a key of run and name, and its row in ``run_files`` (store, reference, size,
SHA-256) goes with the caller's transaction, so the archive's rules hold: the store makes
the bytes durable just before that commit, a retried write replaces the same key whole and
the same row, and a crash between the write and the commit leaves bytes that no row names,
which nobody sees. Every read is checked against the recorded SHA-256. Files may be
rendered in a local temporary file first; nothing reads one back from another machine's disk.

Installations from before run files lived in a store kept them under
``<data_dir>/runs/<run>/``: those are still listed and read from there on the machine that
has them (fallback reading), and ``campaign documents move`` copies them into a store
(``import_legacy_run_files``), verified, before it deletes them from the disk.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db.database import Database
from core.documents.archive import (
    MOVE_BATCH,
    ArchiveIntegrityError,
    copy_verified,
    delete_after_commit,
    open_store,
    sync_before_commit,
)
from core.models import Run, RunFile
from core.plugin_base import DocumentStore
from core.plugins import PluginHost

log = logging.getLogger(__name__)

LEGACY_DIRECTORY = "runs"
"""Under the data directory: where run files lived before they went to a store."""


def run_file_key(run_id: int, name: str) -> str:
    return f"runs/{run_id}/{name}"


def check_name(name: str) -> str:
    """A run file's name is a relative path inside the run: no '..', no hidden parts."""
    parts = PurePosixPath(name).parts
    if (
        not parts
        or len(name) > 255
        or name.startswith("/")
        or "\\" in name
        or any(part in (".", "..") or part.startswith(".") for part in parts)
    ):
        raise ValueError(f"{name!r} is not a run file name")
    return name


class RunFiles:
    """The run files of one installation; ``plugins`` and ``settings`` as every process
    of it has them."""

    def __init__(self, plugins: PluginHost, settings: Settings):
        self.plugins, self.settings = plugins, settings
        self._stores: dict[str, DocumentStore] = {}

    def store(self, name: str | None = None) -> DocumentStore:
        """The store ``name``; without a name the one new run files go to."""
        name = name or self.settings.run_file_store
        if name not in self._stores:
            self._stores[name] = open_store(self.plugins, self.settings, name)
        return self._stores[name]

    def save(self, session: Session, run_id: int, name: str, chunks: Iterable[bytes]) -> RunFile:
        """Store ``chunks`` as the run's file ``name``; visible when ``session`` commits.

        Writing a name again replaces the file whole; a copy the row named in another store
        is deleted after the commit.
        """
        check_name(name)
        store = self.store()
        digest = hashlib.sha256()
        size = 0

        def counted() -> Iterator[bytes]:
            nonlocal size
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                yield chunk

        reference = store.put_stream(run_file_key(run_id, name), counted())
        sync_before_commit(session, store)
        row = session.scalar(select(RunFile).where(RunFile.run_id == run_id, RunFile.name == name))
        if row is None:
            row = RunFile(run_id=run_id, name=name)
            session.add(row)
        elif (row.store, row.store_ref) != (store.name, reference):
            delete_after_commit(session, [(row.store, row.store_ref)], self.store)
        row.store, row.store_ref = store.name, reference
        row.size, row.sha256 = size, digest.hexdigest()
        return row

    def save_path(self, session: Session, run_id: int, name: str, path: Path) -> RunFile:
        """Store the local file ``path`` (a file rendered on this machine) as ``name``."""
        with path.open("rb") as file:
            return self.save(session, run_id, name, _file_chunks(file, self.store().chunk_size))

    def listing(self, session: Session, run_id: int) -> list[tuple[str, int]]:
        """The run's files (names and sizes), with those still in the legacy directory."""
        found = dict(
            session.execute(
                select(RunFile.name, RunFile.size).where(RunFile.run_id == run_id)
            ).all()
        )
        root = self.legacy_directory(run_id)
        if root.is_dir():
            for path in root.rglob("*"):
                relative = path.relative_to(root)
                if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                    found.setdefault(relative.as_posix(), path.stat().st_size)
        return sorted(found.items())

    def read(self, session: Session, run_id: int, name: str) -> Iterator[bytes]:
        """The file's bytes in chunks; a stored file's checksum is checked as they are
        read (a mismatch raises ``ArchiveIntegrityError`` at the end). A file that is
        neither stored nor in the legacy directory raises ``FileNotFoundError`` at once."""
        check_name(name)
        row = session.execute(
            select(RunFile.store, RunFile.store_ref, RunFile.sha256).where(
                RunFile.run_id == run_id, RunFile.name == name
            )
        ).first()
        if row is not None:
            chunks = self.store(row.store).get_stream(row.store_ref)
            return _checked(chunks, row.sha256, f"run file {name} of run {run_id}")
        path = self._legacy_path(run_id, name)
        return _file_chunks(path.open("rb"), self.store().chunk_size)

    def read_bytes(self, session: Session, run_id: int, name: str) -> bytes:
        return b"".join(self.read(session, run_id, name))

    def copy_to(self, session: Session, run_id: int, name: str, target: Path) -> Path:
        """Write the file to the local path ``target`` (for a program that needs a path)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as file:
            for chunk in self.read(session, run_id, name):
                file.write(chunk)
        return target

    def legacy_directory(self, run_id: int) -> Path:
        return self.settings.data_dir / LEGACY_DIRECTORY / str(run_id)

    def _legacy_path(self, run_id: int, name: str) -> Path:
        root = self.legacy_directory(run_id).resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise FileNotFoundError(f"run {run_id} has no file {name}")
        return path


def _file_chunks(file: BinaryIO, size: int) -> Iterator[bytes]:
    with file:
        while chunk := file.read(size):
            yield chunk


def _checked(chunks: Iterator[bytes], sha256: str, what: str) -> Iterator[bytes]:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != sha256:
        raise ArchiveIntegrityError(f"{what} does not match its checksum")


@dataclass
class RunFileMoveReport:
    """What ``move_run_files`` did: files moved (and legacy files taken into the store),
    and those left where they were."""

    moved: int = 0
    imported: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    orphans: list[tuple[str, str]] = field(default_factory=list)


def move_run_files(
    database: Database,
    run_files: RunFiles,
    target: str,
    *,
    source: str | None = None,
    report: RunFileMoveReport | None = None,
) -> RunFileMoveReport:
    """Move every run file (of the store ``source``, or of every store but ``target``)
    into ``target``, in the order of ``archive.move_documents``: copy, read the copy back
    against the recorded SHA-256, point the row at it (its own commit), and only then
    delete the source copy. A file that cannot be moved stays where it was and is reported.
    """
    report = report or RunFileMoveReport()
    destination = run_files.store(target)
    last_id = 0
    while True:
        columns = (RunFile.id, RunFile.run_id, RunFile.name, RunFile.sha256)
        query = select(*columns, RunFile.store, RunFile.store_ref).where(
            RunFile.store != target, RunFile.id > last_id
        )
        if source is not None:
            query = query.where(RunFile.store == source)
        with database.session() as session:
            rows = session.execute(query.order_by(RunFile.id).limit(MOVE_BATCH)).all()
        if not rows:
            return report
        for row in rows:
            last_id = row.id
            what = f"run file {row.name} of run {row.run_id}"
            try:
                origin = run_files.store(row.store)
                key = run_file_key(row.run_id, row.name)
                reference = copy_verified(origin, destination, row, key, what)
            except Exception as exc:  # any store's error: this file stays, the rest go on
                report.failed.append((what, str(exc) or type(exc).__name__))
                continue
            with database.session() as session:
                changed = session.execute(
                    update(RunFile)
                    .where(
                        RunFile.id == row.id,
                        RunFile.store == row.store,
                        RunFile.store_ref == row.store_ref,
                    )
                    .values(store=target, store_ref=reference)
                ).rowcount
            if not changed:  # written again or deleted meanwhile: the row names another copy
                continue
            report.moved += 1
            try:
                origin.delete(row.store_ref)
            except Exception:
                log.warning("run file %s/%s not deleted (orphan)", row.store, row.store_ref)
                report.orphans.append((row.store, row.store_ref))


def import_legacy_run_files(
    database: Database,
    run_files: RunFiles,
    target: str,
    *,
    report: RunFileMoveReport | None = None,
) -> RunFileMoveReport:
    """Take the run files still under ``<data_dir>/runs/`` of this machine into the store
    ``target``: each is copied and read back against the SHA-256 of the file on disk, its
    row commits, and only then is the file on disk deleted. A file whose run is gone, or
    that a row already names (written again since), is left alone and reported."""
    report = report or RunFileMoveReport()
    root = run_files.settings.data_dir / LEGACY_DIRECTORY
    if not root.is_dir():
        return report
    destination = run_files.store(target)
    disk = _LegacyDisk()
    for run_directory in sorted(root.iterdir(), key=lambda path: path.name):
        if not run_directory.name.isdigit():
            continue
        run_id = int(run_directory.name)
        for path in sorted(run_directory.rglob("*")):
            name = path.relative_to(run_directory).as_posix()
            hidden = any(part.startswith(".") for part in PurePosixPath(name).parts)
            if hidden or not path.is_file():
                continue
            what = f"{path}"
            try:
                check_name(name)
                with database.session() as session:
                    if session.get(Run, run_id) is None:
                        raise LookupError(f"run {run_id} no longer exists")
                    if session.scalar(
                        select(RunFile.id).where(RunFile.run_id == run_id, RunFile.name == name)
                    ):
                        raise FileExistsError(f"run {run_id} has a stored file {name} already")
                row = _LegacyRow(str(path), disk.digest(path))
                reference = copy_verified(disk, destination, row, run_file_key(run_id, name), what)
                with database.session() as session:
                    session.add(
                        RunFile(
                            run_id=run_id,
                            name=name,
                            store=target,
                            store_ref=reference,
                            size=path.stat().st_size,
                            sha256=row.sha256,
                        )
                    )
            except Exception as exc:  # this file stays on disk, the rest go on
                report.failed.append((what, str(exc) or type(exc).__name__))
                continue
            report.imported += 1
            path.unlink()
    return report


@dataclass(frozen=True)
class _LegacyRow:
    store_ref: str
    sha256: str
    store: str = "the data directory"


class _LegacyDisk:
    """Files of the legacy directory, read as a store's ``get_stream`` reads."""

    def get_stream(self, reference: str) -> Iterator[bytes]:
        return _file_chunks(Path(reference).open("rb"), DocumentStore.chunk_size)

    @staticmethod
    def digest(path: Path) -> str:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
