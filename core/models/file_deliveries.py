"""The record of files delivered to upload targets, one row per delivery key."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, enum_field


class FileDeliveryStatus(enum.StrEnum):
    CLAIMED = "claimed"
    """A transfer is under way, or its process died: ``heartbeat_at`` tells which."""
    DONE = "done"
    FAILED = "failed"
    """It did not arrive; delivering again is safe."""
    UNCLEAR = "unclear"
    """It may have arrived; only an explicit resend repeats it."""


class FileDelivery(Base):
    """One file (and its manifest) delivered to an upload target, claimed before the transfer.

    ``key`` (``run-12/group:``) makes a second request find this row; ``file_location`` is
    set once the file landed, so a retry after a failed manifest does not send it again.
    """

    __tablename__ = "file_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    target: Mapped[str] = mapped_column(String(63))
    remote_name: Mapped[str] = mapped_column(String(300))
    status: Mapped[FileDeliveryStatus] = enum_field(
        "file_delivery_status", FileDeliveryStatus.CLAIMED
    )
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any] | None]
    file_location: Mapped[str | None] = mapped_column(Text)
    manifest_location: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
