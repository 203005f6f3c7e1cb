"""What came back from a run's messages: delivery receipts, bounces, opt-outs and replies,
counted per run (the dashboard's rates, the run page) and as filters of the run's rows.

Receipts live on the ledger rows (``RunItem.delivery``); bounces and replies are channel
events and opt-outs contact events that name the run. A bounce is an undeliverable
receipt (SMS) or a ``bounced`` channel event (e-mail); a contact counts once per kind.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from core.models import (
    ChannelEvent,
    ChannelEventKind,
    ContactEvent,
    ItemStatus,
    ReceiptStatus,
    RunItem,
)


class Feedback(enum.StrEnum):
    """What a run's rows can be filtered by."""

    DELIVERED = "delivered"
    PENDING = "pending"
    """Sent, and no receipt yet."""
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    REPLIED = "replied"


@dataclass(frozen=True, slots=True)
class FeedbackCounts:
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    replied: int = 0

    def rate(self, count: int) -> float | None:
        """``count`` as a percentage of the messages sent; None before any was sent."""
        return count * 100 / self.sent if self.sent else None


def _opt_outs(run_ids: Collection[int]) -> Select[tuple[int | None, int]]:
    return select(ContactEvent.run_id, ContactEvent.contact_id).where(
        ContactEvent.run_id.in_(list(run_ids)),
        ContactEvent.field.like("opt\\_out\\_%", escape="\\"),
        ContactEvent.new_value.is_(True),
    )


def _events(
    run_ids: Collection[int], kind: ChannelEventKind
) -> Select[tuple[int | None, int | None]]:
    return select(ChannelEvent.run_id, ChannelEvent.contact_id).where(
        ChannelEvent.run_id.in_(list(run_ids)),
        ChannelEvent.kind == kind.value,
        ChannelEvent.contact_id.is_not(None),
    )


def feedback_counts(session: Session, run_ids: Collection[int]) -> dict[int, FeedbackCounts]:
    """The counts of each of these runs (every run id has an entry)."""
    ids = list(run_ids)
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {run_id: {} for run_id in ids}
    sent = session.execute(
        select(
            RunItem.run_id,
            func.count(),
            func.count().filter(RunItem.delivery == ReceiptStatus.DELIVERED.value),
            func.count().filter(RunItem.delivery == ReceiptStatus.UNDELIVERABLE.value),
        )
        .where(RunItem.run_id.in_(ids), RunItem.status == ItemStatus.DONE)
        .group_by(RunItem.run_id)
    )
    for run_id, done, delivered, undeliverable in sent:
        counts[run_id] |= {"sent": done, "delivered": delivered, "bounced": undeliverable}
    for name, query in (
        ("bounced", _events(ids, ChannelEventKind.BOUNCED).subquery()),
        ("unsubscribed", _opt_outs(ids).subquery()),
        ("replied", _events(ids, ChannelEventKind.REPLIED).subquery()),
    ):
        columns = list(query.c)
        for run_id, count in session.execute(
            select(columns[0], func.count(columns[1].distinct())).group_by(columns[0])
        ):
            counts[run_id][name] = counts[run_id].get(name, 0) + count
    return {run_id: FeedbackCounts(**values) for run_id, values in counts.items()}


def feedback_filter(run_id: int, feedback: Feedback) -> ColumnElement[bool]:
    """A condition on ``RunItem`` for the rows of run ``run_id`` with this feedback."""
    if feedback is Feedback.DELIVERED:
        return RunItem.delivery == ReceiptStatus.DELIVERED.value
    if feedback is Feedback.PENDING:
        return and_(RunItem.status == ItemStatus.DONE, RunItem.delivery.is_(None))
    contact_ids = {
        Feedback.UNSUBSCRIBED: select(_opt_outs([run_id]).subquery().c.contact_id),
        Feedback.REPLIED: select(
            _events([run_id], ChannelEventKind.REPLIED).subquery().c.contact_id
        ),
        Feedback.BOUNCED: select(
            _events([run_id], ChannelEventKind.BOUNCED).subquery().c.contact_id
        ),
    }[feedback]
    of_contacts = and_(RunItem.entity == "contacts", RunItem.entity_id.in_(contact_ids))
    if feedback is Feedback.BOUNCED:
        return or_(RunItem.delivery == ReceiptStatus.UNDELIVERABLE.value, of_contacts)
    return of_contacts
