import hashlib

import pytest

from plugins.stores import TRANSLATIONS
from plugins.stores.filesystem import FilesystemStore

from panel_helpers import detail_in


@pytest.fixture
def store(tmp_path) -> FilesystemStore:
    return FilesystemStore({"data_dir": str(tmp_path)})


def chunks_of(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_large_document_is_written_and_read_in_chunks(store):
    data = hashlib.sha256(b"seed").digest() * (5 * 1024 * 1024 // 32 + 7)
    reference = store.put_stream("run-1/7/letter.pdf", chunks_of(data, 100_000))
    store.sync()
    chunks = list(store.get_stream(reference))
    assert [len(chunk) for chunk in chunks[:-1]] == [store.chunk_size] * (len(chunks) - 1)
    assert b"".join(chunks) == data
    assert store.get(reference) == data


def test_a_write_that_fails_midway_leaves_the_old_document_whole(store, tmp_path):
    reference = store.put("run-1/7/letter.pdf", b"first version")

    def failing():
        yield b"second "
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        store.put_stream("run-1/7/letter.pdf", failing())
    assert store.get(reference) == b"first version"
    assert not [path for path in (tmp_path / "archive").rglob(".tmp-*")]
    assert store.put_stream("run-1/7/letter.pdf", [b"second ", b"version"]) == reference
    assert b"".join(store.get_stream(reference)) == b"second version"


def test_a_missing_or_deleted_document_is_reported_when_opened(store):
    reference = store.put("run-1/7/letter.pdf", b"x")
    store.delete(reference)
    store.delete(reference)
    with pytest.raises(FileNotFoundError) as missing:
        store.get_stream(reference)
    assert detail_in("de", str(missing.value), TRANSLATIONS) == (
        f"der Dateispeicher enthält das Dokument nicht: {reference}"
    )
