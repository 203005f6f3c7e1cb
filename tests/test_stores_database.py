import hashlib

import pytest
from sqlalchemy import event, func, select

from core.documents.archive import open_store
from core.plugins import load_plugins
from plugins.stores import TRANSLATIONS
from plugins.stores.database import DatabaseStore
from plugins.stores.database.models import StoredChunk

from panel_helpers import detail_in

MIB = 1024 * 1024


@pytest.fixture
def store(database_url) -> DatabaseStore:
    return DatabaseStore({"database_url": database_url})


def sample(size: int) -> bytes:
    block = hashlib.sha256(str(size).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def chunks_of(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def chunk_sizes(database, reference: str) -> list[int]:
    with database.session() as session:
        return list(
            session.scalars(
                select(func.length(StoredChunk.data))
                .where(StoredChunk.reference == reference)
                .order_by(StoredChunk.number)
            )
        )


def test_the_archive_opens_the_store_on_the_installations_database(settings):
    store = open_store(load_plugins(), settings, "database")
    reference = store.put("run-1/7/letter.pdf", b"%PDF-1.4 Brief")
    assert store.get(reference) == b"%PDF-1.4 Brief"


def test_a_small_and_an_empty_document_come_back(store, database):
    reference = store.put("run-1/7/letter.pdf", b"%PDF-1.4 Brief")
    assert store.get(reference) == b"%PDF-1.4 Brief"
    assert list(store.get_stream(reference)) == [b"%PDF-1.4 Brief"]
    empty = store.put("run-1/8/letter.pdf", b"")
    assert store.get(empty) == b""
    assert chunk_sizes(database, empty) == [0]


def test_a_large_document_is_stored_in_one_mib_rows_and_read_a_chunk_at_a_time(store, database):
    data = sample(5 * MIB + 123)
    reference = store.put_stream("run-1/7/collection.pdf", chunks_of(data, 300_000))
    assert chunk_sizes(database, reference) == [MIB] * 5 + [123]
    stream = store.get_stream(reference)
    assert len(next(stream)) == MIB
    assert b"".join([data[:MIB], *stream]) == data


def test_writing_only_ever_holds_one_chunk(store):
    """The store inserts each piece as soon as it is complete, before the next is read."""
    inserted = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: inserted.append(args[2]))

    def slowly():
        for number in range(3):
            yield sample(MIB)
            assert sum("INSERT" in statement for statement in inserted) == number + 1

    store.put_stream("run-1/7/collection.pdf", slowly())


def test_writing_the_same_key_again_replaces_the_document_whole(store, database):
    reference = store.put_stream("run-1/7/letter.pdf", chunks_of(sample(3 * MIB), MIB))
    assert store.put("run-1/7/letter.pdf", b"short") == reference
    assert store.get(reference) == b"short"
    assert chunk_sizes(database, reference) == [5]


def test_a_write_that_fails_midway_leaves_the_old_document_whole(store, database):
    reference = store.put("run-1/7/letter.pdf", b"first version")

    def failing():
        yield sample(2 * MIB)
        raise OSError("renderer died")

    with pytest.raises(OSError, match="renderer died"):
        store.put_stream("run-1/7/letter.pdf", failing())
    assert store.get(reference) == b"first version"
    assert chunk_sizes(database, reference) == [13]


def test_delete_and_a_missing_reference(store, database):
    reference = store.put_stream("run-1/7/letter.pdf", chunks_of(sample(2 * MIB), MIB))
    store.delete(reference)
    store.delete(reference)
    assert chunk_sizes(database, reference) == []
    with pytest.raises(FileNotFoundError):
        store.get_stream(reference)
    with pytest.raises(FileNotFoundError) as missing:
        store.get(reference)
    assert detail_in("de", str(missing.value), TRANSLATIONS) == (
        f"der Datenbankspeicher enthält das Dokument nicht: {reference}"
    )
    with pytest.raises(ValueError, match="not a reference"):
        store.get("../etc/passwd")
