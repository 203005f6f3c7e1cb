"""Delivering a file to an upload target once per key: claimed, retried, checksummed, recorded.

The record is claimed before anything is transferred, so asking twice never transfers
twice: a done delivery is returned, a failed one is tried again (without resending a file
that landed before its manifest failed), and an unclear one (its process died, or the
target could not tell) is repeated only with ``resend=True``, a person's decision.
Targets only transfer one file whole or not at all; retries, checksums, manifests and the
messages naming target and problem are done here, once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import mimetypes
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.documents.archive import write_atomically
from core.engine.dispatch import worker_identity
from core.jobs.heartbeat import beating
from core.messages import ExplainedError, StoredText, english_plural, stored
from core.models import FileDelivery, FileDeliveryStatus
from core.plugin_base import UploadTarget
from core.plugins import PluginHost
from core.runtime import Runtime

log = logging.getLogger(__name__)

READ_BLOCK = 1 << 20
STALE_DELIVERY = timedelta(minutes=2)
"""A claimed delivery without a heartbeat for this long belonged to a process that died."""
MANIFEST_SUFFIX = ".manifest.json"
PLACEHOLDER = re.compile(r"\{([A-Za-z_0-9]*)\}")
"""``{name}`` in a file name pattern or a URL template; no format specs, so a value with
braces of its own cannot break out."""
REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@,-]{0,199}$")
"""A file name every target can take as it is: no path, no spaces, no leading dot (the
temporary names start with one)."""


class UploadError(Exception):
    """The file did not arrive; ``transient`` when trying again may help (a timeout, a 503),
    ``retry_after`` the seconds the receiver asked to wait."""

    def __init__(self, problem: str, *, transient: bool = False, retry_after: float | None = None):
        super().__init__(problem)
        self.transient = transient
        self.retry_after = retry_after


class UploadUnclear(UploadError):
    """The file may or may not have arrived: report it, never repeat it silently."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One file as a target receives it; ``reference``, the delivery's key, is the same for
    every try so that a receiver that deduplicates (an idempotency key) sees a repetition."""

    path: Path
    remote_name: str
    size: int
    sha256: str
    reference: str
    content_type: str = "application/octet-stream"

    @classmethod
    def of(cls, path: Path, remote_name: str, reference: str) -> Upload:
        check_remote_name(remote_name)
        size, sha256 = file_digest(path)
        content_type = mimetypes.guess_type(remote_name)[0] or "application/octet-stream"
        return cls(Path(path), remote_name, size, sha256, reference, content_type)


@dataclass(frozen=True, slots=True)
class Delivered:
    """What ``deliver`` did; ``repeated`` when an earlier call had already delivered it."""

    id: int
    key: str
    target: str
    remote_name: str
    size: int
    sha256: str
    location: str
    manifest_location: str | None
    attempts: int
    repeated: bool = False


def check_remote_name(name: str) -> str:
    """Refuse a remote file name a target could misread (a path, a hidden or odd name)."""
    if not REMOTE_NAME.match(name) or ".." in name:
        raise ExplainedError(
            stored(
                "'{name}' is not a usable file name: letters, digits and . _ + = @ , - only, "
                "starting with a letter or digit, at most 200 characters",
                name=name,
            )
        )
    return name


def fill_placeholders(template: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values[match[1]], template)


MAX_NAME_PART = 60
"""Characters a placeholder puts into a file name at most (a long campaign name is cut)."""
MAX_NAME_PATTERN = 200
BRACES = re.compile(r"\{[^{}]*\}?|\}")


class NamePatternError(ExplainedError):
    """A file-name pattern that cannot give a usable name; ``text`` says why in the reader's
    language, ``code`` and ``params`` say what for a screen's own message: ``too_long``
    (length, limit), ``unknown`` (names, available), ``not_a_placeholder`` (text, available)
    or ``unusable`` (name)."""

    def __init__(self, code: str, text: StoredText):
        super().__init__(text)
        self.code = code
        self.params = dict(text.params)


def fill_name_pattern(pattern: str, values: Mapping[str, str]) -> str:
    """The file name a pattern gives: only plain ``{name}`` placeholders (no ``{a.b}`` or
    ``{date:%Y}``), each at most ``MAX_NAME_PART`` characters, and a usable name."""
    available = ", ".join(values)
    if len(pattern) > MAX_NAME_PATTERN:
        raise NamePatternError(
            "too_long",
            stored(
                "the pattern has {length} characters (at most {limit})",
                length=len(pattern),
                limit=MAX_NAME_PATTERN,
            ),
        )
    unknown = sorted(set(PLACEHOLDER.findall(pattern)) - set(values))
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        raise NamePatternError(
            "unknown",
            stored.plural(
                "unknown placeholder {names}; available: {available}",
                "{count} unknown placeholders: {names}; available: {available}",
                count=len(unknown),
                names=names,
                available=available,
            ),
        )
    stray = next((m for m in BRACES.finditer(pattern) if not PLACEHOLDER.fullmatch(m[0])), None)
    if stray:
        raise NamePatternError(
            "not_a_placeholder",
            stored(
                "'{text}' is not a placeholder: write {{name}} with one of {available}; "
                "no '.', ':' or '!' inside the braces",
                text=stray.group(),
                available=available,
            ),
        )
    name = fill_placeholders(pattern, {key: value[:MAX_NAME_PART] for key, value in values.items()})
    try:
        return check_remote_name(name)
    except ExplainedError as exc:
        raise NamePatternError("unusable", exc.text) from None


def file_digest(path: Path) -> tuple[int, str]:
    """Size and SHA-256 (hex) of a file."""
    with Path(path).open("rb") as file:
        digest = hashlib.file_digest(file, "sha256")
        return file.tell(), digest.hexdigest()


def open_target(plugins: PluginHost, name: str, settings: Mapping[str, Any]) -> UploadTarget:
    """The target plugin ``name`` with its settings (UnknownPluginError, SettingsError)."""
    return plugins.upload_targets.get(name)(dict(settings))


def deliver(
    runtime: Runtime,
    *,
    key: str,
    target: str,
    settings: Mapping[str, Any],
    path: Path,
    remote_name: str,
    manifest: Mapping[str, Any] | None = None,
    run_id: int | None = None,
    resend: bool = False,
) -> Delivered:
    """Deliver ``path`` as ``remote_name`` to the target ``target`` once per ``key``.

    With ``manifest`` (extra fields such as ``{"rows": 1200}``) a JSON manifest of the file's
    name, size and SHA-256 is uploaded after it, so a receiver waiting for the manifest never
    picks up a file still being written. Raises ``UploadError`` when it did not arrive and
    ``UploadUnclear`` when that is unknown, both kept in the record; bad settings or an
    unknown target raise before anything is recorded.
    """
    instance = open_target(runtime.plugins, target, settings)
    upload = Upload.of(path, remote_name, key)
    manifest_upload = document = None
    if manifest is not None:
        document = {
            "file": remote_name,
            "size": upload.size,
            "sha256": upload.sha256,
            **manifest,
            "created_at": runtime.clock.now().isoformat(),
        }
        manifest_path = upload.path.with_name(upload.path.name + MANIFEST_SUFFIX)
        write_atomically(manifest_path, json.dumps(document, indent=2).encode() + b"\n")
        manifest_upload = Upload.of(manifest_path, remote_name + MANIFEST_SUFFIX, key)
    claim = _Claim(runtime, key, resend)
    earlier = claim.take(target, upload, document, run_id)
    if earlier is not None:
        instance.close()
        return earlier
    location, manifest_location = claim.landed, None
    described = f"{target} ({instance.where()})"
    try:
        with beating(claim.beat):
            if location is None:
                location = _transfer(instance, upload, described, claim)
                # the file is there: a retry of the manifest alone must not send it again
                claim.update(file_location=location)
            if manifest_upload is not None:
                manifest_location = _transfer(instance, manifest_upload, described, claim)
    except UploadUnclear as exc:
        claim.settle(FileDeliveryStatus.UNCLEAR, str(exc))
        raise
    except UploadError as exc:
        claim.settle(FileDeliveryStatus.FAILED, str(exc))
        raise
    except BaseException as exc:
        problem = f"{described}: {remote_name}: {type(exc).__name__}: {exc}; it may have arrived"
        claim.settle(FileDeliveryStatus.UNCLEAR, problem)
        if isinstance(exc, Exception):
            raise UploadUnclear(problem) from exc
        raise
    finally:
        instance.close()
    claim.settle(FileDeliveryStatus.DONE, None, manifest_location=manifest_location)
    return Delivered(
        claim.id,
        key,
        target,
        remote_name,
        upload.size,
        upload.sha256,
        location,
        manifest_location,
        claim.attempts + claim.tries,
    )


def _transfer(instance: UploadTarget, upload: Upload, described: str, claim: _Claim) -> str:
    """Upload with retries and exponential backoff; return where it landed."""
    params: Any = instance.params
    for attempt in itertools.count(1):
        claim.count_try()
        try:
            return instance.upload(upload)
        except UploadError as exc:
            wait = exc.retry_after
            if wait is None:
                wait = min(params.backoff * 2 ** (attempt - 1), params.max_backoff)
            unclear = isinstance(exc, UploadUnclear)
            retry = exc.transient and attempt <= params.retries and not unclear
            if retry and wait > params.max_backoff:
                retry = False
                exc = UploadError(f"{exc}; it asks to wait {wait:.0f} s, more than max_backoff")
            if not retry:
                # parts between "; " that the panel translates one by one (a run item's detail)
                after = english_plural("after {0} attempt", "after {0} attempts", attempt)
                problem = f"{described}: {upload.remote_name}; {exc}; {after}"
                raise (UploadUnclear if unclear else UploadError)(problem) from exc
            log.warning(
                "%s: %s: %s; trying again in %.1f s", described, upload.remote_name, exc, wait
            )
            time.sleep(wait)


class _Claim:
    """The delivery's record: claimed before the transfer, settled after it."""

    def __init__(self, runtime: Runtime, key: str, resend: bool):
        self.runtime = runtime
        self.key = key
        self.resend = resend
        self.identity = worker_identity()
        self.id = 0
        self.attempts = 0
        """Transfer tries of earlier calls; ``tries`` counts this call's."""
        self.tries = 0
        self.landed: str | None = None

    def take(
        self, target: str, upload: Upload, manifest: dict[str, Any] | None, run_id: int | None
    ) -> Delivered | None:
        """Claim the delivery, or return the earlier one that is done; raise if it is open."""
        now = self.runtime.clock.now()
        claimed = {
            "status": FileDeliveryStatus.CLAIMED,
            "target": target,
            "remote_name": upload.remote_name,
            "size": upload.size,
            "sha256": upload.sha256,
            "manifest": manifest,
            "detail": None,
            "claimed_by": self.identity,
            "claimed_at": now,
            "heartbeat_at": now,
            "finished_at": None,
        }
        for _race in range(3):
            try:
                with self.runtime.database.session() as session:
                    row = FileDelivery(key=self.key, run_id=run_id, attempts=0, **claimed)
                    session.add(row)
                    session.flush()
                    self.id = row.id
                return None
            except IntegrityError:
                pass
            with self.runtime.database.session() as session:
                row = session.scalar(select(FileDelivery).where(FileDelivery.key == self.key))
                if row is None:
                    continue
                if row.status == FileDeliveryStatus.DONE:
                    return Delivered(
                        row.id,
                        row.key,
                        row.target,
                        row.remote_name,
                        row.size,
                        row.sha256,
                        row.file_location or "",
                        row.manifest_location,
                        row.attempts,
                        repeated=True,
                    )
                # A refusal is raised after the commit: a dead process's claim stays unclear.
                refusal = self._refusal(row, now)
                if refusal is None:
                    same_file = (row.target, row.remote_name, row.sha256) == (
                        target,
                        upload.remote_name,
                        upload.sha256,
                    )
                    landed = row.file_location if same_file else None
                    taken = session.execute(
                        update(FileDelivery)
                        .where(FileDelivery.id == row.id, FileDelivery.status == row.status)
                        .values(**claimed, file_location=landed)
                    ).rowcount
                    if taken:
                        self.id, self.attempts, self.landed = row.id, row.attempts, landed
                        return None
            if refusal is not None:
                raise refusal
        raise UploadError(f"delivery {self.key}: claimed by another process meanwhile")

    def _refusal(self, row: FileDelivery, now: Any) -> UploadError | None:
        """Why an open delivery must not be repeated: it is under way elsewhere, or its
        fate is unknown and nobody asked to ``resend``. A claim whose process stopped
        beating is marked unclear on the way."""
        if row.status == FileDeliveryStatus.CLAIMED:
            if row.heartbeat_at is not None and row.heartbeat_at > now - STALE_DELIVERY:
                return UploadError(
                    f"{row.remote_name} is being delivered to {row.target} by "
                    f"{row.claimed_by} right now (since {row.claimed_at:%Y-%m-%d %H:%M:%S} UTC)"
                )
            row.status = FileDeliveryStatus.UNCLEAR
            row.detail = (
                f"the process {row.claimed_by} stopped while delivering {row.remote_name} to "
                f"{row.target}; whether it arrived is unknown"
            )
            row.finished_at = now
        if row.status == FileDeliveryStatus.UNCLEAR and not self.resend:
            return UploadUnclear(
                f"{row.detail or 'an earlier delivery is unclear'}; check the target, then "
                "deliver again with resend if it is not there"
            )
        return None

    def update(self, *conditions: Any, **values: Any) -> None:
        """Change this process's claim (one that another process took over stays as it is)."""
        with self.runtime.database.session() as session:
            session.execute(
                update(FileDelivery)
                .where(FileDelivery.id == self.id, FileDelivery.claimed_by == self.identity)
                .where(*conditions)
                .values(**values)
            )

    def beat(self) -> None:
        self.update(
            FileDelivery.status == FileDeliveryStatus.CLAIMED, heartbeat_at=self.runtime.clock.now()
        )

    def count_try(self) -> None:
        """Counted before the try, so a try a dead process never finished still counts."""
        self.tries += 1
        self.update(attempts=FileDelivery.attempts + 1)

    def settle(
        self, status: FileDeliveryStatus, detail: str | None, manifest_location: str | None = None
    ) -> None:
        self.update(
            FileDelivery.status.in_([FileDeliveryStatus.CLAIMED, FileDeliveryStatus.UNCLEAR]),
            status=status,
            detail=detail,
            manifest_location=manifest_location,
            finished_at=self.runtime.clock.now(),
        )
