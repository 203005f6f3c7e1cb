"""Deliveries changing state and approvals asked for and answered are recorded as domain
events (``core.events.record_events``) in the same transaction as the change."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import DomainEvent, EventType, record_events
from plugins.processes.models.approvals import Approval, ApprovalEvent, ApprovalEventKind
from plugins.processes.models.deliveries import Delivery

EVENT_TYPES = (
    EventType("delivery.state_changed", "events.delivery.state_changed"),
    EventType("approval.requested", "events.approval.requested"),
    EventType("approval.answered", "events.approval.answered"),
)
"""The domain events the bundle records (``register_event_types``)."""

APPROVAL_EVENTS = {
    ApprovalEventKind.SUBMITTED: "approval.requested",
    ApprovalEventKind.APPROVED: "approval.answered",
    ApprovalEventKind.REJECTED: "approval.answered",
}
"""An automatic step is requested and answered (approved, without a user) at once."""


def _changed_to(instance: Any, attribute: str) -> tuple[Any, Any] | None:
    """(old, new) if this flush changed ``attribute`` of an existing row, else None."""
    history = inspect(instance).attrs[attribute].history
    if not history.added:
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0]
    return None if old == new else (old, new)


def _text(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


@event.listens_for(Session, "after_flush")
def _record_state_changes(session: Session, _flush_context: Any) -> None:
    """Deliveries changing state and approvals asked for and answered (their log's events)
    become domain events in the same transaction, wherever in the code they happen."""
    now = utcnow()
    found: list[DomainEvent] = []
    for instance in [*session.new, *session.dirty]:
        if isinstance(instance, Delivery) and instance not in session.new:
            change = _changed_to(instance, "state")
            if change is not None:
                found.append(
                    DomainEvent(
                        "delivery.state_changed",
                        {
                            "delivery_id": instance.id,
                            "campaign_id": instance.campaign_id,
                            "label": instance.label,
                            "from": _text(change[0]),
                            "to": _text(change[1]),
                        },
                        now,
                    )
                )
        elif isinstance(instance, ApprovalEvent) and instance in session.new:
            name = APPROVAL_EVENTS.get(ApprovalEventKind(instance.kind))
            if name is not None:
                delivery_id, step = (
                    session.connection()
                    .execute(
                        select(Approval.delivery_id, Approval.step).where(
                            Approval.id == instance.approval_id
                        )
                    )
                    .one()
                )
                data = {
                    "approval_id": instance.approval_id,
                    "delivery_id": delivery_id,
                    "step": _text(step),
                    "round": instance.round,
                    "state": "pending" if name == "approval.requested" else _text(instance.kind),
                }
                if name == "approval.answered":
                    data |= {"comment": instance.comment, "user_id": instance.user_id}
                found.append(DomainEvent(name, data, now))
    record_events(session, found)
