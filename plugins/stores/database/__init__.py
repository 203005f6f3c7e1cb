"""Document store "database": the bytes of archived documents in the installation's own
database, so every machine that reaches the database reaches the documents, with no
shared file system and no further service.

A document is a set of rows in ``database_store_chunks``, 1 MiB each (``bytea`` on
PostgreSQL, ``BLOB`` on SQLite), written and read one chunk at a time: a large file never
has to fit in memory. A reference is the SHA-256 of the key, so writing the same key again
finds the same rows; the old chunks are deleted and the new ones inserted in one
transaction, so a retried write replaces the document whole and a reader sees the old
document or the new one, never a mixture or a part. A write is durable when it returns.

The store writes through a connection of its own. On SQLite, whose database has one
writer at a time, a caller that holds a write transaction open on the same file while it
stores a document makes the store wait for it: SQLite suits one machine, where the
``filesystem`` store is the better choice anyway.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, delete, insert, select

from core import DocumentStore, hookimpl
from core.db.database import make_engine
from plugins.stores import TRANSLATIONS
from plugins.stores._chunks import even_pieces

from .models import StoredChunk

REFERENCE = re.compile(r"^[0-9a-f]{64}$")
_engines: dict[str, Engine] = {}
"""One engine (and connection pool) per database URL and process, shared by the store
instances that the archive, the panel and the actions open."""


class DatabaseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(description="The installation's database (CAMPAIGN_DATABASE_URL).")


class DatabaseStore(DocumentStore):
    name = "database"
    title = "Chunks in the database"
    description = "Keeps archived documents in the installation's database, in 1 MiB chunks."
    Params = DatabaseParams
    params: DatabaseParams

    @property
    def engine(self) -> Engine:
        url = self.params.database_url
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]

    def put(self, key: str, data: bytes) -> str:
        return self.put_stream(key, (data,))

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> str:
        reference = hashlib.sha256(key.encode()).hexdigest()
        with self.engine.begin() as connection:
            connection.execute(delete(StoredChunk).where(StoredChunk.reference == reference))
            for number, piece in enumerate(even_pieces(chunks, self.chunk_size)):
                connection.execute(
                    insert(StoredChunk).values(reference=reference, number=number, data=piece)
                )
        return reference

    def get(self, reference: str) -> bytes:
        return b"".join(self.get_stream(reference))

    def get_stream(self, reference: str) -> Iterator[bytes]:
        self._check(reference)
        connection = self.engine.connect()
        try:
            rows = connection.execution_options(yield_per=1).execute(
                select(StoredChunk.data)
                .where(StoredChunk.reference == reference)
                .order_by(StoredChunk.number)
            )
            first = rows.fetchone()
        except BaseException:
            connection.close()
            raise
        if first is None:
            connection.close()
            raise FileNotFoundError(f"the database store holds no document: {reference}")
        return _read(connection, first.data, rows.scalars())

    def delete(self, reference: str) -> None:
        self._check(reference)
        with self.engine.begin() as connection:
            connection.execute(delete(StoredChunk).where(StoredChunk.reference == reference))

    @staticmethod
    def _check(reference: str) -> None:
        if not REFERENCE.match(reference):
            raise ValueError(f"{reference!r} is not a reference of the database store")


def _read(connection: Connection, first: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the chunks of one query; its connection closes when they are read or abandoned."""
    try:
        yield first
        yield from rest
    finally:
        connection.close()


@hookimpl
def register_document_stores(register: Callable[[type[DocumentStore]], None]) -> None:
    register(DatabaseStore)


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
