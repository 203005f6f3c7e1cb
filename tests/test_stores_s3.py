"""The s3 store against a real S3-compatible server on loopback: moto in server mode
(``moto[server]``'s ``ThreadedMotoServer``), started by these tests (``s3_environment``
in conftest)."""

import base64
import hashlib
from functools import partial

import pytest
from sqlalchemy import select

from core.db.database import Database
from core.documents.archive import (
    ArchiveIntegrityError,
    archive_document,
    move_documents,
    open_store,
    read_document,
)
from core.models import ArchivedDocument, DocumentKind
from core.plugins import load_plugins
from plugins.stores import TRANSLATIONS
from plugins.stores.s3 import S3Store

from panel_helpers import detail_in

MIB = 1024 * 1024


@pytest.fixture
def store(s3_environment) -> S3Store:
    return S3Store({"part_size": 5 * MIB})


def sample(size: int) -> bytes:
    block = hashlib.sha256(str(size).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def chunks_of(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_the_store_is_configured_by_environment_variables(s3_environment, settings):
    store = open_store(load_plugins(), settings, "s3")
    assert (store.params.bucket, store.params.prefix) == (
        s3_environment["CAMPAIGN_S3_BUCKET"],
        "tenant-a/archive/",
    )
    reference = store.put("run-1/7/letter.pdf", b"%PDF-1.4 Brief")
    assert reference.startswith("tenant-a/archive/") and reference.endswith(".pdf")
    assert store.get(reference) == b"%PDF-1.4 Brief"


def test_a_missing_bucket_or_a_bad_prefix_is_named(monkeypatch):
    monkeypatch.delenv("CAMPAIGN_S3_BUCKET", raising=False)
    with pytest.raises(ValueError, match="CAMPAIGN_S3_BUCKET is not set"):
        S3Store()
    monkeypatch.setenv("CAMPAIGN_S3_BUCKET", "letters")
    monkeypatch.setenv("CAMPAIGN_S3_PREFIX", "../other")
    with pytest.raises(ValueError, match="CAMPAIGN_S3_PREFIX"):
        S3Store()


def test_a_small_document_goes_up_in_one_put_with_its_checksum(store):
    reference = store.put("run-1/7/letter.pdf", b"%PDF-1.4 Brief")
    head = store.client.head_object(
        Bucket=store.params.bucket, Key=reference, ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == store_checksum(b"%PDF-1.4 Brief")
    assert list(store.get_stream(reference)) == [b"%PDF-1.4 Brief"]
    empty = store.put("run-1/8/letter.pdf", b"")
    assert store.get(empty) == b""


def store_checksum(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_an_object_that_does_not_match_its_checksum_is_refused_when_read(store):
    reference = store.put("run-1/7/letter.pdf", b"%PDF-1.4 Brief")
    store.client.put_object(  # the bytes changed behind the store's back
        Bucket=store.params.bucket,
        Key=reference,
        Body=b"%PDF-1.4 Fake!",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=store_checksum(b"%PDF-1.4 Brief"),
    )
    with pytest.raises(ArchiveIntegrityError) as refused:
        store.get(reference)
    assert detail_in("de", str(refused.value), TRANSLATIONS).startswith(
        "das S3-Objekt passt nicht zu seiner Prüfsumme: "
    )


def test_a_large_document_is_a_streamed_multipart_upload(store):
    data = sample(12 * MIB + 5)
    sent = []

    def counted():
        for chunk in chunks_of(data, MIB):
            sent.append(len(chunk))
            yield chunk

    reference = store.put_stream("run-1/7/collection.pdf", counted())
    head = store.client.head_object(Bucket=store.params.bucket, Key=reference)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 MiB, 5 MiB, the rest
    assert head["ContentLength"] == len(data)
    parts = [
        store.client.head_object(Bucket=store.params.bucket, Key=reference, PartNumber=number)
        for number in (1, 2, 3)
    ]
    assert [part["ContentLength"] for part in parts] == [5 * MIB, 5 * MIB, 2 * MIB + 5]
    stream = store.get_stream(reference)
    assert len(next(stream)) == store.chunk_size
    assert hashlib.sha256(data[: store.chunk_size] + b"".join(stream)).digest() == (
        hashlib.sha256(data).digest()
    )
    uploads = store.client.list_multipart_uploads(Bucket=store.params.bucket)
    assert uploads.get("Uploads", []) == []


def test_writing_the_same_key_again_replaces_the_object_whole(store):
    reference = store.put_stream("run-1/7/letter.pdf", chunks_of(sample(6 * MIB), MIB))
    assert store.put("run-1/7/letter.pdf", b"short") == reference
    assert store.get(reference) == b"short"


def test_a_failed_upload_leaves_the_old_object_and_no_parts(store):
    reference = store.put("run-1/7/letter.pdf", b"first version")

    def failing():
        yield sample(11 * MIB)
        raise OSError("renderer died")

    with pytest.raises(OSError, match="renderer died"):
        store.put_stream("run-1/7/letter.pdf", failing())
    assert store.get(reference) == b"first version"
    uploads = store.client.list_multipart_uploads(Bucket=store.params.bucket)
    assert uploads.get("Uploads", []) == []


def test_delete_and_a_missing_reference(store):
    reference = store.put("run-1/7/letter.pdf", b"x")
    store.delete(reference)
    store.delete(reference)
    with pytest.raises(FileNotFoundError):
        store.get_stream(reference)
    with pytest.raises(FileNotFoundError) as missing:
        store.get(reference)
    assert detail_in("de", str(missing.value), TRANSLATIONS) == (
        f"der Bucket enthält das Objekt nicht: {reference}"
    )
    with pytest.raises(ValueError, match="not a reference"):
        store.get("../etc/passwd")


def test_documents_move_into_the_bucket_and_are_checked_there(s3_environment, settings):
    plugins = load_plugins()
    stores = partial(open_store, plugins, settings)
    database = Database(settings.database_url)
    letters = [sample(size) for size in (10, 6 * MIB)]
    with database.session() as session:
        for number, data in enumerate(letters):
            archive_document(
                session,
                stores("filesystem"),
                contact_id=None,
                campaign_id=None,
                run_id=None,
                report_id=None,
                kind=DocumentKind.LETTER,
                title="Brief",
                filename=f"brief-{number}.pdf",
                data=data,
            )
    report = move_documents(database, stores, "s3")
    assert (report.moved, report.failed) == (2, [])
    with database.session() as session:
        documents = session.scalars(select(ArchivedDocument).order_by(ArchivedDocument.id)).all()
        assert {document.store for document in documents} == {"s3"}
        assert [read_document(stores("s3"), document) for document in documents] == letters
    assert not [path for path in (settings.data_dir / "archive").rglob("*") if path.is_file()]
    database.dispose()
