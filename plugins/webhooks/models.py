"""Webhooks: the URLs an administrator registered for events, each event's delivery to each
of them, every attempt of a delivery, and the hosts allowed to resolve to private addresses.

The domain events the core and the plugins record (``core.events.record_events``) become
pending deliveries in the transaction of their change (an outbox): an event is sent if and
only if its change was committed; ``plugins.webhooks.service`` sends them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ForeignKey, Index, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.events import DomainEvent
from core.models.base import Base, enum_column


class Webhook(Base):
    """A URL that receives the events it subscribed to, signed with its own secret."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    """The key of the HMAC-SHA256 signature; shown once to the administrator."""
    events: Mapped[list[str]]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="webhook", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookDeliveryState(enum.StrEnum):
    PENDING = "pending"
    """Waiting for its (next) attempt."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Every attempt failed, or the URL was refused: given up."""


class WebhookDelivery(Base):
    """One event for one webhook, and where its sending stands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    state: Mapped[WebhookDeliveryState] = mapped_column(
        enum_column(WebhookDeliveryState, "webhook_delivery_state"),
        default=WebhookDeliveryState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    webhook: Mapped[Webhook] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.id", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookAttempt(Base):
    """One try to send a delivery: the HTTP status the receiver answered, or why none."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)


class WebhookAllowedHost(Base):
    """A host name an administrator allowed to resolve to a loopback, private or link-local
    address (an internal receiver); every other host must resolve to public addresses."""

    __tablename__ = "webhook_allowed_hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def record_deliveries(connection: Connection, events: Sequence[DomainEvent]) -> int:
    """A pending delivery of each event to every enabled webhook subscribed to it, written on
    ``connection`` so it commits (or not) with the change itself; returns how many."""
    if not events:
        return 0
    webhooks = connection.execute(
        select(Webhook.id, Webhook.events).where(Webhook.enabled.is_(True))
    ).all()
    now = utcnow()
    rows = [
        {
            "webhook_id": webhook_id,
            "event": event.type,
            "payload": {
                "event": event.type,
                "occurred_at": event.occurred_at.isoformat(),
                "data": dict(event.data),
            },
            "state": WebhookDeliveryState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event in events
        for webhook_id, subscribed in webhooks
        if event.type in (subscribed or ())
    ]
    if rows:
        connection.execute(insert(WebhookDelivery), rows)
    return len(rows)
