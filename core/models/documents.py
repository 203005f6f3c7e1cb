"""Reports (print templates), their building blocks, and the document archive.

A report's assets live in the database: they are few and small, and must reach every worker
with the report. Templates are checked when assigned, so a syntax error shows when a report
is saved, not when it is printed.
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.clock import utcnow
from core.models.base import Base, JSONType, Timestamped, enum_column, enum_field

MAX_ASSET_BYTES = 2 * 1024 * 1024
"""A logo or a font; larger files make every rendered letter slow and large."""
MAX_REPORT_ASSET_BYTES = 8 * 1024 * 1024
ASSET_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class AddressKind(enum.StrEnum):
    """Which of the recipient's addresses a printout uses."""

    POSTAL = "postal"
    REGISTERED = "registered"


class PageFormat(enum.StrEnum):
    A4 = "a4"
    A5 = "a5"
    LETTER = "letter"


class Orientation(enum.StrEnum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"


class AssetKind(enum.StrEnum):
    IMAGE = "image"
    FONT = "font"


class DocumentKind(enum.StrEnum):
    """The kind of contact event an archived document records."""

    LETTER = "letter"
    EMAIL = "email"
    SMS = "sms"
    PHONE_CALL = "phone_call"
    FILE = "file"


ASSET_TYPES: dict[str, tuple[AssetKind, str]] = {
    ".png": (AssetKind.IMAGE, "image/png"),
    ".jpg": (AssetKind.IMAGE, "image/jpeg"),
    ".jpeg": (AssetKind.IMAGE, "image/jpeg"),
    ".gif": (AssetKind.IMAGE, "image/gif"),
    ".ttf": (AssetKind.FONT, "font/ttf"),
}


def _checked_template(source: str) -> str:
    from core.documents.templating import compile_template

    compile_template(source)
    return source


class Report(Timestamped, Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group: Mapped[str] = mapped_column(String(100), default="", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    usable_for_mass_print: Mapped[bool] = mapped_column(default=False)
    distribution_list: Mapped[bool] = mapped_column(default=False)
    address_kind: Mapped[AddressKind] = enum_field("address_kind", AddressKind.POSTAL)
    page_format: Mapped[PageFormat] = enum_field("page_format", PageFormat.A4)
    orientation: Mapped[Orientation] = enum_field("page_orientation", Orientation.PORTRAIT)
    margin_top: Mapped[float] = mapped_column(Float, default=27.0)
    margin_right: Mapped[float] = mapped_column(Float, default=20.0)
    margin_bottom: Mapped[float] = mapped_column(Float, default=25.0)
    margin_left: Mapped[float] = mapped_column(Float, default=25.0)
    address_window: Mapped[bool] = mapped_column(default=False)
    """DIN 5008 form B: the first page keeps the window envelope's fields free (A4 portrait)."""
    letterhead_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    header_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    footer_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    layout: Mapped[str] = mapped_column(Text, default="")
    """HTML template of the body (sandboxed Jinja2)."""
    stylesheet: Mapped[str] = mapped_column(Text, default="")
    """Plain CSS; ``url("asset:NAME")`` reaches the report's own images and fonts."""

    letterhead: Mapped[Report | None] = relationship(foreign_keys=[letterhead_id], remote_side=[id])
    header: Mapped[Report | None] = relationship(foreign_keys=[header_id], remote_side=[id])
    footer: Mapped[Report | None] = relationship(foreign_keys=[footer_id], remote_side=[id])
    assets: Mapped[list[ReportAsset]] = relationship(
        back_populates="report",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReportAsset.filename",
    )

    @validates("layout")
    def _check_layout(self, _key: str, value: str) -> str:
        return _checked_template(value)

    def add_asset(self, filename: str, data: bytes) -> ReportAsset:
        """Attach an image or font, replacing one of the same name, within the size limits."""
        existing = next((asset for asset in self.assets if asset.filename == filename), None)
        total = sum(asset.size for asset in self.assets if asset is not existing) + len(data)
        if total > MAX_REPORT_ASSET_BYTES:
            raise ValueError(
                f"the assets of {self.name!r} would take {total} bytes, "
                f"more than the {MAX_REPORT_ASSET_BYTES} allowed"
            )
        if existing is not None:
            existing.data = data
            return existing
        asset = ReportAsset(filename=filename, data=data)
        self.assets.append(asset)
        return asset


class ReportAsset(Base):
    """An image or font uploaded for one report; templates name it as ``asset:FILENAME``."""

    __tablename__ = "report_assets"
    __table_args__ = (UniqueConstraint("report_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[AssetKind] = mapped_column(enum_column(AssetKind, "asset_kind"))
    filename: Mapped[str] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="assets")

    @validates("filename")
    def _check_filename(self, _key: str, value: str) -> str:
        suffix = value[value.rfind(".") :].lower() if "." in value else ""
        if not ASSET_FILENAME.match(value) or suffix not in ASSET_TYPES:
            raise ValueError(
                f"asset name {value!r} must be letters, digits, '.', '_' or '-' and end in "
                f"{', '.join(ASSET_TYPES)}"
            )
        self.kind, self.content_type = ASSET_TYPES[suffix]
        return value

    @validates("data")
    def _check_data(self, _key: str, value: bytes) -> bytes:
        if len(value) > MAX_ASSET_BYTES:
            raise ValueError(f"an asset may take at most {MAX_ASSET_BYTES} bytes")
        self.size = len(value)
        self.sha256 = hashlib.sha256(value).hexdigest()
        return value


class AddressPattern(Timestamped, Base):
    """The address block's template for ``countries`` (none: the fallback), first by name."""

    __tablename__ = "address_patterns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    countries: Mapped[list[str]] = mapped_column(default=list)
    template: Mapped[str] = mapped_column(Text)

    @validates("template")
    def _check_template(self, _key: str, value: str) -> str:
        return _checked_template(value)

    @validates("countries")
    def _check_countries(self, _key: str, value: list[str]) -> list[str]:
        codes = [code.strip().upper() for code in value]
        if any(not re.fullmatch(r"[A-Z]{2}", code) for code in codes):
            raise ValueError("countries are two-letter codes such as DE or AT")
        return codes


class TextBlock(Timestamped, Base):
    """A reusable paragraph (template) that reports insert as ``text.NAME``."""

    __tablename__ = "text_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    body: Mapped[str] = mapped_column(Text)

    @validates("name")
    def _check_name(self, _key: str, value: str) -> str:
        if not TEMPLATE_NAME.match(value):
            raise ValueError(
                f"text block name {value!r} must be lower-case letters, digits and '_' "
                "(it is used as text.NAME)"
            )
        return value

    @validates("body")
    def _check_body(self, _key: str, value: str) -> str:
        return _checked_template(value)


class ArchivedDocument(Base):
    """A letter, e-mail or call note filed with a contact; its bytes are in ``store``.

    ``source_key``, the run's ledger key, is unique per run: no recipient is archived twice.
    """

    __tablename__ = "archived_documents"
    __table_args__ = (
        UniqueConstraint("run_id", "source_key"),
        Index("ix_archived_documents_contact_id_created_at", "contact_id", "created_at"),
        Index("ix_archived_documents_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    source_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    store: Mapped[str] = mapped_column(String(63))
    store_ref: Mapped[str] = mapped_column(String(300))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What lists show without opening the file: pages, running number, recipient."""
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArchiveDeletion(Base):
    """The audit record of deleting archived documents; it outlives the run it names."""

    __tablename__ = "archive_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(index=True)
    campaign_id: Mapped[int | None]
    deleted_by: Mapped[str] = mapped_column(String(80))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    document_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
