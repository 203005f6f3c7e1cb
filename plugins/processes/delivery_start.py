"""Starting an online delivery: at its planned start, or at once, after a person confirmed
it with the count in front of them.

"Nothing reaches people unless a person confirmed it with the count in front of them": an
approval is not such a confirmation (an automatic step has no person, and a reviewer sees
no count). So every online delivery waits in ``pending_confirmation`` until its campaign's
manager (without one: a campaign manager) or an admin confirms its start in the panel,
which shows the channel and the records the campaign selects:

- confirmed before its planned start (and approved before it), it starts by itself at that
  time for at most the count confirmed: its run waits for a new confirmation if it would
  reach more (``core.engine.runs.start_run``'s ``confirmed_up_to``);
- confirmed after it, or without one, it starts at once, and its run counts whom it would
  reach and waits until a person confirms that count.

``start_delivery`` is the one code path that starts a delivery's run, for deliveryMgt and
for the panel's confirmation alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.engine.runs import CAMPAIGN_STATUS_NAMES, RunError
from core.messages import ExplainedError, StoredText, stored_for
from core.models import Role, User
from core.models.campaigns import CLOSED_CAMPAIGN_STATES
from core.runtime import Runtime
from plugins.processes.approvals import BEFORE_START, is_approved
from plugins.processes.models import (
    Approval,
    ApprovalState,
    ApprovalStep,
    Delivery,
    DeliveryState,
)
from plugins.processes.process_runs import StartedRun, start_once
from plugins.processes.texts import DELIVERY_STATE_NAMES

S = DeliveryState
stored = stored_for(__name__)


class ConfirmationError(ExplainedError):
    """The start cannot be confirmed (by this user, in this state); says why."""


def approvals_completed_at(session: Session, delivery_id: int) -> datetime | None:
    """When the last step before the start was approved (automatic steps at their
    submission); None while one is not approved."""
    rows = session.execute(
        select(Approval.state, Approval.answered_at).where(
            Approval.delivery_id == delivery_id, Approval.step.in_(BEFORE_START)
        )
    ).all()
    if not rows or any(state is not ApprovalState.APPROVED or at is None for state, at in rows):
        return None
    return max(at for _state, at in rows)


def starts_by_itself(session: Session, delivery: Delivery) -> bool:
    """Whether the delivery was approved completely, and its start confirmed with a count,
    before its planned start."""
    if not confirmed_ahead(delivery):
        return False
    return before_planned_start(delivery, approvals_completed_at(session, delivery.id))


def before_planned_start(delivery: Delivery, moment: datetime | None) -> bool:
    """Whether ``moment`` is before the delivery's planned start (a confirmation then lets
    it start by itself at that time)."""
    planned = delivery.planned_start_at
    return planned is not None and moment is not None and moment < planned


def confirmed_ahead(delivery: Delivery) -> bool:
    """Whether a person, still known, confirmed the start with a count before the planned
    start."""
    return (
        before_planned_start(delivery, delivery.confirmed_at)
        and delivery.confirmed_by_id is not None
        and delivery.confirmed_count is not None
    )


def needs_confirmation(delivery: Delivery) -> bool:
    """An online delivery waiting for a person to confirm its start."""
    return delivery.state is S.PENDING_CONFIRMATION and delivery.confirmed_at is None


def may_confirm(user: User, delivery: Delivery) -> bool:
    """The campaign's manager, an admin, or, for a campaign without a manager, anyone with
    the campaign manager role."""
    role = Role(user.role)
    if not user.active or not role.includes(Role.CAMPAIGN_MANAGER):
        return False
    manager_id = delivery.campaign.manager_id
    return role.includes(Role.ADMIN) or manager_id is None or user.id == manager_id


def confirm_start(
    session: Session, delivery: Delivery, user: User, now: datetime, count: int
) -> bool:
    """A person's confirmation of ``count`` recipients, noted with who and when. Before the
    planned start the delivery keeps waiting for it; otherwise it is claimed for starting
    (``start_pending``, a conditional update through its version). The caller records it in
    the audit log and commits, then calls ``start_delivery`` when this says it starts now."""
    if not may_confirm(user, delivery):
        raise ConfirmationError(
            stored(
                "{user} may not confirm the start of delivery '{delivery}': only the "
                "campaign's manager or an admin may",
                user=user.username,
                delivery=delivery.label,
            )
        )
    if delivery.state is not S.PENDING_CONFIRMATION:
        raise ConfirmationError(
            stored(
                "delivery '{delivery}' is {state}, not waiting for confirmation",
                delivery=delivery.label,
                state=DELIVERY_STATE_NAMES[delivery.state],
            )
        )
    if not is_approved(session, delivery.id, ApprovalStep.START):
        raise ConfirmationError(
            stored("the start of delivery '{delivery}' is not approved", delivery=delivery.label)
        )
    campaign = delivery.campaign
    if campaign.status in CLOSED_CAMPAIGN_STATES:
        raise ConfirmationError(
            stored(
                "campaign '{campaign}' is {status}; reopen it before starting",
                campaign=campaign.name,
                status=CAMPAIGN_STATUS_NAMES[campaign.status],
            )
        )
    delivery.confirmed_at = now
    delivery.confirmed_by_id = user.id
    delivery.confirmed_count = count
    starts_now = not confirmed_ahead(delivery)
    if starts_now:
        delivery.move_to(S.START_PENDING, now)
    session.flush()
    return starts_now


def forget_confirmation(delivery: Delivery) -> None:
    """A start confirmed is confirmed for the delivery as it was: a change, or a run that
    ended unconfirmed, asks for it again."""
    delivery.confirmed_at = delivery.confirmed_by_id = delivery.confirmed_count = None


@dataclass(frozen=True)
class DeliveryStart:
    """What ``start_delivery`` did: a run started or taken up, waiting, or why it cannot;
    neither for a delivery no longer waiting to start (someone else started it)."""

    started: StartedRun | None = None
    error: StoredText | None = None


def start_confirmation(session: Session, delivery: Delivery) -> tuple[str | None, int | None]:
    """What the delivery's run goes ahead on (``Run.confirmed_by``, and the count it holds
    for): the person who confirmed its start ahead of its planned start. None for a start a
    person confirmed to begin at once: that page counts the data source's records, not whom
    the run would reach (the reach rule, records added since), so the run is analysed and
    waits until a person confirms its ledger's count (``core.engine.runs.confirm_run``)."""
    if not starts_by_itself(session, delivery):
        return None, None
    person = session.get(User, delivery.confirmed_by_id)
    return person.username, delivery.confirmed_count


def start_delivery(runtime: Runtime, delivery_id: int, started_by: str) -> DeliveryStart:
    """Start the run of a delivery in ``start_pending`` and move it to ``in_progress``.

    The claim (``start_pending``) was committed before; a caller that died after starting
    the run finds it again here (``process_runs.start_once``) instead of starting a second
    one. A run that cannot start is returned with the engine's reason as ``error``; the caller
    fails the delivery and says why."""
    with runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.state is not S.START_PENDING:
            return DeliveryStart()
        campaign_id, since = delivery.campaign_id, delivery.state_changed_at
        confirmed_by, confirmed_up_to = start_confirmation(session, delivery)
    try:
        started = start_once(
            runtime,
            campaign_id,
            since,
            started_by,
            delivery_id=delivery_id,
            confirmed_by=confirmed_by,
            confirmed_up_to=confirmed_up_to,
        )
    except RunError as exc:
        return DeliveryStart(error=exc.text)
    if started.run_id is not None:
        with runtime.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.move_to(S.IN_PROGRESS, runtime.clock.now())
    return DeliveryStart(started)
