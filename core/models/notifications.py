"""The notification outbox: one row per recipient and message, for the panel and e-mail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class Notification(Base):
    """A message for one user or one bare e-mail address, about ``object_type``/``object_id``."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN address IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_recipient",
        ),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        Index("ix_notifications_user_id_id", "user_id", "id"),  # a user's list, newest first
        Index("ix_notifications_email_sent_at", "email_sent_at"),
        Index("ix_notifications_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(63))
    """What it is about, for filtering: "approval_request", "stock_alert", ..."""
    subject: Mapped[str] = mapped_column(String(300))
    """In English; the panel and the e-mail show ``subject_message`` where there is one."""
    body: Mapped[str] = mapped_column(Text, default="")
    subject_message: Mapped[dict[str, Any] | None]
    """The subject as a ``core.messages.StoredText``; None on older rows."""
    body_message: Mapped[dict[str, Any] | None]
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    email_sent_at: Mapped[datetime | None]
    email_error: Mapped[str | None] = mapped_column(Text)
    email_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    email_claimed_at: Mapped[datetime | None]
    """Set while the e-mail is sent; one left behind: the sender died, maybe after sending."""
