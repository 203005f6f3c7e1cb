"""Document store "s3": archived documents as objects in a bucket of an S3-compatible
service (AWS S3, MinIO, Ceph, Garage, ...), reached with boto3.

Configured by environment variables, the same on every machine (README, "Configuration"):
``CAMPAIGN_S3_BUCKET`` (required), ``CAMPAIGN_S3_ENDPOINT_URL`` (unset: AWS),
``CAMPAIGN_S3_REGION``, ``CAMPAIGN_S3_ACCESS_KEY_ID`` and ``CAMPAIGN_S3_SECRET_ACCESS_KEY``
(unset: boto3's own credential chain, e.g. an instance role) and ``CAMPAIGN_S3_PREFIX``.

A key is hashed into the object name, so writing the same key again overwrites the same
object; S3 makes an object visible only once it is complete, so a retried write replaces it
whole and nothing is seen half-written. A document up to ``part_size`` goes up in one PUT,
a larger one as a multipart upload of ``part_size`` parts, streamed: at most two parts are
in memory. Every PUT and every part carries its SHA-256, which the service checks before it
accepts the bytes, and compares to what it answers; a failed multipart upload is aborted,
so it leaves no parts behind. Reading asks the service for its checksum (botocore checks
whole-object checksums as the body streams: a mismatch raises ``ArchiveIntegrityError``);
the archive checks every document's SHA-256 as well, multipart ones included.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, FlexibleChecksumError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core import DocumentStore, hookimpl
from core.documents.archive import ArchiveIntegrityError
from plugins.stores import TRANSLATIONS
from plugins.stores._chunks import even_pieces

MIB = 1024 * 1024
SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
FOLDERS = r"([A-Za-z0-9_-][A-Za-z0-9_.-]*/)*"
PREFIX = re.compile(f"^{FOLDERS}$")
REFERENCE = re.compile(f"^{FOLDERS}" + r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}(\.[a-z0-9]{1,8})?$")
MISSING = {"NoSuchKey", "404", "NotFound"}


def _environment(name: str, default: str = "") -> Callable[[], str]:
    return lambda: os.environ.get(f"CAMPAIGN_S3_{name}", default)


class S3Params(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    bucket: str = Field(
        default_factory=_environment("BUCKET"), description="Bucket (CAMPAIGN_S3_BUCKET)."
    )
    endpoint_url: str = Field(
        default_factory=_environment("ENDPOINT_URL"),
        description="URL of an S3-compatible service; empty for AWS (CAMPAIGN_S3_ENDPOINT_URL).",
    )
    region: str = Field(
        default_factory=_environment("REGION", "us-east-1"),
        description="Region of the bucket (CAMPAIGN_S3_REGION).",
    )
    access_key_id: str = Field(
        default_factory=_environment("ACCESS_KEY_ID"),
        description="Access key; empty for boto3's credential chain (CAMPAIGN_S3_ACCESS_KEY_ID).",
    )
    secret_access_key: str = Field(
        default_factory=_environment("SECRET_ACCESS_KEY"),
        description="Secret key (CAMPAIGN_S3_SECRET_ACCESS_KEY).",
    )
    prefix: str = Field(
        default_factory=_environment("PREFIX", "archive/"),
        description="Object names start with it, ending in '/' (CAMPAIGN_S3_PREFIX).",
    )
    part_size: int = Field(
        8 * MIB, ge=5 * MIB, le=512 * MIB, description="Bytes per part of a multipart upload."
    )

    @field_validator("bucket")
    @classmethod
    def _bucket_is_set(cls, value: str) -> str:
        if not value:
            raise ValueError("CAMPAIGN_S3_BUCKET is not set")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value if not value or value.endswith("/") else value + "/"
        if not PREFIX.match(value):
            raise ValueError("CAMPAIGN_S3_PREFIX must be folder names of letters, digits, . _ -")
        return value


_clients: dict[tuple[str, ...], Any] = {}
"""One client per configuration and process; boto3 clients are thread-safe but their
connection pools must not cross a fork."""
os.register_at_fork(after_in_child=_clients.clear)


class S3Store(DocumentStore):
    name = "s3"
    title = "Objects in S3"
    description = "Keeps archived documents in a bucket of an S3-compatible service."
    Params = S3Params
    params: S3Params

    @property
    def client(self) -> Any:
        p = self.params
        identity = (p.endpoint_url, p.region, p.access_key_id, p.secret_access_key)
        if identity not in _clients:
            _clients[identity] = boto3.session.Session().client(
                "s3",
                endpoint_url=p.endpoint_url or None,
                region_name=p.region,
                aws_access_key_id=p.access_key_id or None,
                aws_secret_access_key=p.secret_access_key or None,
                config=Config(retries={"mode": "standard", "max_attempts": 5}),
            )
        return _clients[identity]

    def put(self, key: str, data: bytes) -> str:
        return self.put_stream(key, (data,))

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        suffix = PurePosixPath(key).suffix.lower()
        reference = (
            f"{self.params.prefix}{digest[:2]}/{digest[2:4]}/{digest}"
            f"{suffix if SUFFIX.match(suffix) else ''}"
        )
        parts = even_pieces(chunks, self.params.part_size)
        first = next(parts)
        second = next(parts, None)
        if second is None:
            answer = self.client.put_object(
                Bucket=self.params.bucket,
                Key=reference,
                Body=first,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_checksum(first),
            )
            _check_answer(answer, _checksum(first), reference)
        else:
            self._upload_in_parts(reference, chain((first, second), parts))
        return reference

    def _upload_in_parts(self, reference: str, parts: Iterable[bytes]) -> None:
        bucket = self.params.bucket
        upload = self.client.create_multipart_upload(
            Bucket=bucket, Key=reference, ChecksumAlgorithm="SHA256"
        )["UploadId"]
        try:
            uploaded = []
            for number, part in enumerate(parts, start=1):
                checksum = _checksum(part)
                answer = self.client.upload_part(
                    Bucket=bucket,
                    Key=reference,
                    UploadId=upload,
                    PartNumber=number,
                    Body=part,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
                _check_answer(answer, checksum, f"{reference} part {number}")
                uploaded.append(
                    {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}
                )
            self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=reference,
                UploadId=upload,
                MultipartUpload={"Parts": uploaded},
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=bucket, Key=reference, UploadId=upload)
            raise

    def get(self, reference: str) -> bytes:
        return b"".join(self.get_stream(reference))

    def get_stream(self, reference: str) -> Iterator[bytes]:
        self._check(reference)
        try:
            answer = self.client.get_object(
                Bucket=self.params.bucket, Key=reference, ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(f"the bucket holds no object: {reference}") from None
            raise
        return _body(answer["Body"], self.chunk_size)

    def delete(self, reference: str) -> None:
        self._check(reference)
        self.client.delete_object(Bucket=self.params.bucket, Key=reference)

    @staticmethod
    def _check(reference: str) -> None:
        if not REFERENCE.match(reference):
            raise ValueError(f"{reference!r} is not a reference of the s3 store")


def _checksum(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _check_answer(answer: dict[str, Any], checksum: str, what: str) -> None:
    """The service names the checksum it computed; one that differs is refused."""
    answered = answer.get("ChecksumSHA256")
    if answered is not None and answered != checksum:
        raise OSError(f"S3 stored {what} with SHA-256 {answered}, sent {checksum}")


def _body(body: Any, size: int) -> Iterator[bytes]:
    """The object's bytes as they arrive; the connection goes back when they are read. A
    body that does not match the checksum the service keeps fails at its end."""
    with body:
        try:
            yield from body.iter_chunks(size)
        except FlexibleChecksumError as exc:
            raise ArchiveIntegrityError(f"S3 object does not match its checksum: {exc}") from None


@hookimpl
def register_document_stores(register: Callable[[type[DocumentStore]], None]) -> None:
    register(S3Store)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
