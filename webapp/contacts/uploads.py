"""Uploaded import files kept between the preview and the import, for their uploader only."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from werkzeug.datastructures import FileStorage

from webapp.context import get_settings
from webapp.imports import drop_stale_uploads, save_upload

KEEP_SECONDS = 24 * 3600
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _folder() -> Path:
    return get_settings().data_dir / "cache" / "contact-imports"


def _path(user_id: int, token: str) -> Path | None:
    if not TOKEN.match(token):
        return None
    return _folder() / f"{user_id}-{token}.csv"


def keep_upload(user_id: int, upload: FileStorage) -> str:
    """Store the file (copied in pieces) until it is imported or a day has passed; returns
    its token."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    drop_stale_uploads(folder, KEEP_SECONDS)
    token = secrets.token_hex(16)
    save_upload(upload, folder / f"{user_id}-{token}.csv")
    return token


def kept_upload(user_id: int, token: str) -> Path | None:
    """The file behind ``token`` if this user uploaded it and it is still kept."""
    path = _path(user_id, token)
    if path is None or not path.exists():
        return None
    return path


def drop_upload(user_id: int, token: str) -> None:
    path = _path(user_id, token)
    if path is not None:
        path.unlink(missing_ok=True)
