"""Mail that came back to the installation's mailbox: bounces, auto-replies, unsubscribe
mails and whatever else arrived (the workflow inboundMail reads and records it).

The table is declared on the core's ``Base`` and comes from the workflow's own Alembic
branch (``migrations``), which took it over from the core's revisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base


class InboundMail(Base):
    """One message read from the inbound mailbox, what it was and what was done with it.

    ``digest`` (SHA-256 of the bytes) is unique: a message read again, because moving it
    out of the mailbox failed after the record was written, is recognised and not counted
    twice. The bytes are kept (``raw``) only for mail nobody could match, for a person to
    read; ``size`` is the message's whole size, ``raw`` at most what was read of it.
    """

    __tablename__ = "inbound_mails"
    __table_args__ = (
        Index("ix_inbound_mails_kind_id", "kind", "id"),
        Index("ix_inbound_mails_contact_id_kind", "contact_id", "kind"),
        Index("ix_inbound_mails_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    """``classification.Kind``: hard_bounce, soft_bounce, delayed, auto_reply, unsubscribe,
    unmatched."""
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str | None] = mapped_column(String(12))
    """The delivery status of a bounce (``5.1.1``)."""
    address: Mapped[str | None] = mapped_column(String(254))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(default=0)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
