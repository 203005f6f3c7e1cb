"""Checking an uploaded image or font before it becomes a report asset."""

from __future__ import annotations

from werkzeug.utils import secure_filename

from core.models import Report
from core.models.documents import (
    ASSET_FILENAME,
    ASSET_TYPES,
    MAX_ASSET_BYTES,
    MAX_REPORT_ASSET_BYTES,
)
from webapp.formatting import format_bytes
from webapp.i18n import t

SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "font/ttf": (b"\x00\x01\x00\x00", b"true"),
}
"""The first bytes of each accepted type: a file renamed to ``.png`` is refused."""


def asset_filename(uploaded: str | None) -> str:
    """The name the asset is stored (and named in templates) under."""
    return secure_filename(uploaded or "")


def upload_problem(report: Report, filename: str, data: bytes) -> str | None:
    """Why the file cannot become one of the report's assets, or None."""
    suffix = filename[filename.rfind(".") :].lower() if "." in filename else ""
    if suffix not in ASSET_TYPES:
        return t("reports.asset.error.type", types=", ".join(ASSET_TYPES))
    if not ASSET_FILENAME.match(filename):
        return t("reports.asset.error.name")
    if not data:
        return t("reports.asset.error.empty")
    if len(data) > MAX_ASSET_BYTES:
        return t(
            "reports.asset.error.size",
            size=format_bytes(len(data)),
            limit=format_bytes(MAX_ASSET_BYTES),
        )
    _kind, content_type = ASSET_TYPES[suffix]
    if not data.startswith(SIGNATURES[content_type]):
        return t("reports.asset.error.content", suffix=suffix)
    others = sum(asset.size for asset in report.assets if asset.filename != filename)
    if others + len(data) > MAX_REPORT_ASSET_BYTES:
        return t("reports.asset.error.total", limit=format_bytes(MAX_REPORT_ASSET_BYTES))
    return None
