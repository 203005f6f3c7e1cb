"""Run files: what a run produces besides its archived letters (collection PDF, manifest,
extraction files, previews, upload files), kept in a document store so that the panel, the
workers and the workflows on every machine reach them.

They follow the archive's rules (``core.documents.archive``): bytes in the store
``CAMPAIGN_RUN_FILE_STORE`` names under a key of run and name, the row in ``run_files`` with
the caller's transaction, every read checked against the SHA-256. Installations from before
kept them under ``<data_dir>/runs/<run>/``: those are still listed and read there, and
``campaign documents move`` imports them into a store (``import_legacy_run_files``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db.database import Database
from core.documents.archive import (
    ArchiveIntegrityError,
    MoveReport,
    copy_verified,
    delete_after_commit,
    file_chunks,
    move_stored,
    open_store,
    sync_before_commit,
)
from core.models import Run, RunFile
from core.plugin_base import DocumentStore
from core.plugins import PluginHost

LEGACY_DIRECTORY = "runs"
"""Under the data directory: where run files lived before they went to a store."""


def run_file_key(run_id: int, name: str) -> str:
    return f"runs/{run_id}/{name}"


def _hidden(name: str) -> bool:
    return any(part.startswith(".") for part in PurePosixPath(name).parts)


def check_name(name: str) -> str:
    """A run file's name is a relative path inside the run: no '..', no hidden parts."""
    if not PurePosixPath(name).parts or len(name) > 255 or name[0] == "/" or "\\" in name:
        raise ValueError(f"{name!r} is not a run file name")
    if _hidden(name):
        raise ValueError(f"{name!r} is not a run file name")
    return name


class RunFiles:
    """The run files of one installation."""

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
        """Store ``chunks`` as the run's file ``name``, visible when ``session`` commits;
        it replaces a file of that name whole (an old copy in another store goes after)."""
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
        chunks = file_chunks(path.open("rb"), self.store().chunk_size)
        return self.save(session, run_id, name, chunks)

    def listing(self, session: Session, run_id: int) -> list[tuple[str, int]]:
        """The run's files (names and sizes), with those still in the legacy directory."""
        query = select(RunFile.name, RunFile.size).where(RunFile.run_id == run_id)
        found = dict(session.execute(query).all())
        root = self.legacy_directory(run_id)
        for path in root.rglob("*") if root.is_dir() else ():
            name = path.relative_to(root).as_posix()
            if path.is_file() and not _hidden(name):
                found.setdefault(name, path.stat().st_size)
        return sorted(found.items())

    def read(self, session: Session, run_id: int, name: str) -> Iterator[bytes]:
        """The file's bytes in chunks, a stored file's checked as read (a mismatch raises
        ``ArchiveIntegrityError`` at the end); a missing file raises ``FileNotFoundError``."""
        check_name(name)
        row = session.execute(
            select(RunFile.store, RunFile.store_ref, RunFile.sha256).where(
                RunFile.run_id == run_id, RunFile.name == name
            )
        ).first()
        if row is None:
            return file_chunks(self._legacy_path(run_id, name).open("rb"), self.store().chunk_size)
        chunks = self.store(row.store).get_stream(row.store_ref)
        return _checked(chunks, row.sha256, f"run file {name} of run {run_id}")

    def read_bytes(self, session: Session, run_id: int, name: str) -> bytes:
        return b"".join(self.read(session, run_id, name))

    def copy_to(self, session: Session, run_id: int, name: str, target: Path) -> Path:
        """Write the file to the local path ``target`` (for a program that needs a path)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as file:
            file.writelines(self.read(session, run_id, name))
        return target

    def legacy_directory(self, run_id: int) -> Path:
        return self.settings.data_dir / LEGACY_DIRECTORY / str(run_id)

    def _legacy_path(self, run_id: int, name: str) -> Path:
        root = self.legacy_directory(run_id).resolve()
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise FileNotFoundError(f"run {run_id} has no file {name}")
        return path


def _checked(chunks: Iterator[bytes], sha256: str, what: str) -> Iterator[bytes]:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != sha256:
        raise ArchiveIntegrityError(f"{what} does not match its checksum")


def move_run_files(
    database: Database, run_files: RunFiles, target: str, *, source: str | None = None
) -> MoveReport:
    """Move the run files (of the store ``source``, or of every store but ``target``) into
    ``target``, as ``archive.move_stored`` moves."""
    return move_stored(
        database,
        RunFile,
        run_files.store,
        target,
        source,
        lambda row: run_file_key(row.run_id, row.name),
        "run file {row.name} of run {row.run_id}",
    )


def import_legacy_run_files(
    database: Database, run_files: RunFiles, target: str, *, report: MoveReport | None = None
) -> MoveReport:
    """Take the run files under this machine's ``<data_dir>/runs/`` into the store
    ``target``: each copy is verified against the file's SHA-256 and its row committed
    before the file is deleted. A file whose run is gone, or that a row names already
    (written again since), stays and is reported."""
    report = report or MoveReport()
    root = run_files.settings.data_dir / LEGACY_DIRECTORY
    if not root.is_dir():
        return report
    destination = run_files.store(target)
    for run_directory in sorted(root.iterdir(), key=lambda path: path.name):
        if not run_directory.name.isdigit():
            continue
        run_id = int(run_directory.name)
        for path in sorted(run_directory.rglob("*")):
            name = path.relative_to(run_directory).as_posix()
            if _hidden(name) or not path.is_file():
                continue
            try:
                check_name(name)
                with database.session() as session:
                    if session.get(Run, run_id) is None:
                        raise LookupError(f"run {run_id} no longer exists")
                    if session.scalar(
                        select(RunFile.id).where(RunFile.run_id == run_id, RunFile.name == name)
                    ):
                        raise FileExistsError(f"run {run_id} has a stored file {name} already")
                with path.open("rb") as file:
                    sha256 = hashlib.file_digest(file, "sha256").hexdigest()
                reference = copy_verified(
                    file_chunks(path.open("rb")),
                    sha256,
                    destination,
                    run_file_key(run_id, name),
                    what=str(path),
                    source="the data directory",
                )
                with database.session() as session:
                    session.add(
                        RunFile(
                            run_id=run_id,
                            name=name,
                            store=target,
                            store_ref=reference,
                            size=path.stat().st_size,
                            sha256=sha256,
                        )
                    )
            except Exception as exc:  # this file stays on disk, the rest go on
                report.failed.append((str(path), str(exc) or type(exc).__name__))
                continue
            report.imported += 1
            path.unlink()
    return report
