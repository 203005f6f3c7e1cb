"""Starting an online delivery: by itself at its planned start, or when a person confirmed it.

"Nothing reaches people unless a person confirmed it with the count in front of them": a
plan made before the start is such a confirmation, an approval that comes in late is not.
So a delivery starts by itself at its planned start only if its approvals were complete
before that time; one approved later, or without a planned start, waits in
``pending_confirmation`` until its campaign's manager (without one: a campaign manager) or
an admin confirms it in the panel, which shows the records and the channel first; its run
then counts whom it would reach and waits until a person confirms that count.

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
from plugins.processes.approvals import BEFORE_START, approval_for, is_approved
from plugins.processes.models import (
    Approval,
    ApprovalMode,
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
    """Whether the delivery was approved completely before its planned start."""
    if delivery.planned_start_at is None:
        return False
    completed = approvals_completed_at(session, delivery.id)
    return completed is not None and completed < delivery.planned_start_at


def needs_confirmation(session: Session, delivery: Delivery) -> bool:
    """An online delivery waiting for its start that a person has to confirm."""
    return (
        delivery.state is S.PENDING_CONFIRMATION
        and delivery.confirmed_at is None
        and not starts_by_itself(session, delivery)
    )


def may_confirm(user: User, delivery: Delivery) -> bool:
    """The campaign's manager, an admin, or, for a campaign without a manager, anyone with
    the campaign manager role."""
    role = Role(user.role)
    if not user.active or not role.includes(Role.CAMPAIGN_MANAGER):
        return False
    manager_id = delivery.campaign.manager_id
    return role.includes(Role.ADMIN) or manager_id is None or user.id == manager_id


def confirm_start(session: Session, delivery: Delivery, user: User, now: datetime) -> None:
    """A person's confirmation: the delivery is claimed for starting (``start_pending``,
    a conditional update through its version) and who confirmed it is noted. The caller
    records it in the audit log, commits, and then calls ``start_delivery``."""
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
    delivery.move_to(S.START_PENDING, now)
    session.flush()


@dataclass(frozen=True)
class DeliveryStart:
    """What ``start_delivery`` did: a run started or taken up, waiting, or why it cannot;
    neither for a delivery no longer waiting to start (someone else started it)."""

    started: StartedRun | None = None
    error: StoredText | None = None


def start_confirmation(session: Session, delivery: Delivery) -> str | None:
    """What the delivery's run goes ahead on (``Run.confirmed_by``): its approved start step
    (``approval:<id>``), or, with an automatic start, the delivery a person set up and had
    approved before its planned start. None for a start a person confirmed in the panel:
    that page counts the data source's records, not whom the run would reach (the reach
    rule, records added since), so the run is analysed and waits until a person confirms
    its ledger's count (``core.engine.runs.confirm_run``): the count confirmed is the count
    sent."""
    if delivery.confirmed_by_id is not None:
        return None
    approval = approval_for(session, delivery.id, ApprovalStep.START)
    if approval is not None and approval.mode is not ApprovalMode.AUTOMATIC:
        return f"approval:{approval.id}"
    return f"deliveryMgt:delivery {delivery.id}"


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
        confirmed_by = start_confirmation(session, delivery)
    try:
        started = start_once(
            runtime,
            campaign_id,
            since,
            started_by,
            delivery_id=delivery_id,
            confirmed_by=confirmed_by,
        )
    except RunError as exc:
        return DeliveryStart(error=exc.text)
    if started.run_id is not None:
        with runtime.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.move_to(S.IN_PROGRESS, runtime.clock.now())
    return DeliveryStart(started)
