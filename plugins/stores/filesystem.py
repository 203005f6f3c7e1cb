"""Document store "filesystem": archived documents and run files as files under
``<data_dir>/archive/``.

A key is hashed into two levels of directories (256 by 256), so no directory grows past a
few thousand files even with millions of documents. A file is written under a temporary
name and renamed, so it is never visible half-written, and writing the same key again
replaces it whole: that is what makes a retried archive write idempotent. Files and their
directories are flushed to disk in ``sync``, which the archive calls once before the
transaction recording them commits: one round of flushes for a batch of letters instead of
a flush per letter. The data directory is the machine's own: on several machines choose
the ``database`` or ``s3`` store, which every machine reaches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from core import DocumentStore, hookimpl
from core.documents.archive import file_chunks, sync_files, write_atomically
from plugins.stores import TRANSLATIONS

REFERENCE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}(\.[a-z0-9]{1,8})?$")
SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


class FilesystemParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(description="The installation's data directory.")


class FilesystemStore(DocumentStore):
    name = "filesystem"
    title = "Files in the data directory"
    description = "Keeps archived documents under <data_dir>/archive/ in sharded directories."
    Params = FilesystemParams

    def __init__(self, params=None):
        super().__init__(params)
        self._unsynced: dict[Path, None] = {}

    @property
    def root(self) -> Path:
        return self.params.data_dir / "archive"

    def put(self, key: str, data: bytes) -> str:
        return self.put_stream(key, (data,))

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        suffix = PurePosixPath(key).suffix.lower()
        reference = f"{digest[:2]}/{digest[2:4]}/{digest}{suffix if SUFFIX.match(suffix) else ''}"
        path = self.root / reference
        write_atomically(path, chunks, durable=False)
        self._unsynced[path] = None
        return reference

    def sync(self) -> None:
        files, self._unsynced = list(self._unsynced), {}
        sync_files(files, dict.fromkeys(path.parent for path in files))

    def get(self, reference: str) -> bytes:
        with self._open(reference) as file:
            return file.read()

    def get_stream(self, reference: str) -> Iterator[bytes]:
        return file_chunks(self._open(reference), self.chunk_size)

    def delete(self, reference: str) -> None:
        self._path(reference).unlink(missing_ok=True)

    def _open(self, reference: str) -> BinaryIO:
        try:
            return self._path(reference).open("rb")
        except FileNotFoundError:
            # label: value, so that the panel translates the label (a run item's detail)
            raise FileNotFoundError(
                f"the filesystem store holds no document: {reference}"
            ) from None

    def _path(self, reference: str) -> Path:
        """Only references this store made: nothing can name a file outside its root."""
        if not REFERENCE.match(reference):
            raise ValueError(f"{reference!r} is not a reference of the filesystem store")
        return self.root / reference


@hookimpl
def register_document_stores(register):
    register(FilesystemStore)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
