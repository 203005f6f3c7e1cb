"""Upload target "folder": a local directory or a mounted network share (NFS, SMB).

The file is copied to a hidden temporary name in the target directory, checked against
its SHA-256 while it is copied, flushed to disk and then renamed, so whoever watches the
directory sees the complete file under its name or nothing. Without ``overwrite`` the
rename is a hard link (atomic and refusing an existing name); where the share cannot link,
an existence check and a rename stand in.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from core import UploadTarget, UploadTargetParams, hookimpl
from core.messages import english_plural
from core.uploads import READ_BLOCK, Upload, UploadError
from plugins.targets import TRANSLATIONS

TRANSIENT_ERRORS = frozenset(
    {
        errno.EIO,
        errno.EAGAIN,
        errno.EINTR,
        errno.EBUSY,
        errno.ESTALE,
        errno.ETIMEDOUT,
        errno.ENOLCK,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.EHOSTUNREACH,
    }
)
"""What a network share reports while it is briefly away; worth another try."""
NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK})


class FolderParams(UploadTargetParams):
    path: str = Field(
        min_length=1,
        description="Directory the files are delivered into: a local path or a mounted share.",
    )
    create: bool = Field(False, description="Create the directory if it does not exist.")
    overwrite: bool = Field(
        False, description="Replace a file of the same name; otherwise such a file is an error."
    )


class Folder(UploadTarget):
    name = "folder"
    title = "Folder"
    description = (
        "Copies the file into a local directory or a mounted network share under a "
        "temporary name and renames it when it is complete and checked."
    )
    Params = FolderParams
    params: FolderParams

    def where(self) -> str:
        return str(Path(self.params.path))

    def upload(self, upload: Upload) -> str:
        directory = Path(self.params.path)
        final = directory / upload.remote_name
        temporary = directory / f".{upload.remote_name}.{secrets.token_hex(4)}.part"
        try:
            if self.params.create:
                directory.mkdir(parents=True, exist_ok=True)
            if not directory.is_dir():
                raise UploadError(f"the directory does not exist: {directory}")
            if not self.params.overwrite and final.exists():
                raise _exists(final)
            self._copy(upload, temporary)
            self._rename(temporary, final)
            _sync_directory(directory)
        except OSError as exc:
            problem = exc.strerror or type(exc).__name__
            where = exc.filename or directory
            transient = exc.errno in TRANSIENT_ERRORS
            raise UploadError(f"{problem}: {where}", transient=transient) from None
        finally:
            temporary.unlink(missing_ok=True)
        return str(final)

    def _copy(self, upload: Upload, temporary: Path) -> None:
        digest = hashlib.sha256()
        size = 0
        with upload.path.open("rb") as source, temporary.open("xb") as target:
            while block := source.read(READ_BLOCK):
                target.write(block)
                digest.update(block)
                size += len(block)
            target.flush()
            os.fsync(target.fileno())
        if (size, digest.hexdigest()) != (upload.size, upload.sha256):
            raise UploadError(
                "the copy does not match the file's checksum (the local file changed while it "
                f"was copied): {english_plural('{0} byte', '{0} bytes', size)}",
                transient=True,
            )

    def _rename(self, temporary: Path, final: Path) -> None:
        if self.params.overwrite:
            os.replace(temporary, final)
            return
        try:
            os.link(temporary, final)
        except FileExistsError:
            raise _exists(final) from None
        except OSError as exc:
            if exc.errno not in NO_LINKS:
                raise
            if final.exists():
                raise _exists(final) from None
            os.rename(temporary, final)


def _exists(final: Path) -> UploadError:
    """As ``label: value``, so that the panel translates the label (a run item's detail)."""
    return UploadError(f"already exists (overwrite is off): {final}")


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; some network file systems cannot, which is fine."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


@hookimpl
def register_upload_targets(register: Callable[[type[UploadTarget]], Any]) -> None:
    register(Folder)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
