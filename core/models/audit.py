"""The audit log: who started, approved, changed or deleted what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base


class AuditEntry(Base):
    """One thing a person (or the system, with no actor) did; never changed afterwards."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target", "target_type", "target_id"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text, default="")
    """In English, or a name; the panel shows ``summary_message`` where there is one."""
    summary_message: Mapped[dict[str, Any] | None]
    """The summary as a ``core.messages.StoredText``."""
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
