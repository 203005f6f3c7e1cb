"""Where a campaign is in its life: being edited, to validate, in progress, finished or
cancelled (``CampaignStatus``); and its tasks by their dates.

The state is stored so that lists can filter by it, and moved by what happened: operationMgt
calls ``update_campaign_states`` and ``update_task_states`` on every pass. Cancelling and
reopening are a person's decisions (``cancel_campaign``, ``reopen_campaign``). A campaign is

- *in progress* once it did something: a real run, a delivery past its approvals and
  confirmation, or a task started; it never goes back to editing by itself;
- *finished* when, in progress, every delivery, run and task has ended and its end date has
  passed (a campaign without an end date, such as a mass-print campaign started again and
  again, finishes only when a person cancels it);
- *to validate* while a delivery was submitted and none has started;
- *being edited* otherwise.

A finished or cancelled campaign does not start (``core.engine.runs.start_run`` refuses)
until it is reopened.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.engine.runs import CAMPAIGN_STATUS_NAMES
from core.messages import ExplainedError, stored_for
from core.models import ACTIVE_RUN_STATES, Campaign, CampaignStatus, Run
from core.models.campaigns import CLOSED_CAMPAIGN_STATES
from plugins.processes.models import Delivery, DeliveryState, Task, TaskState
from plugins.processes.models.deliveries import FINAL_DELIVERY_STATES
from plugins.processes.models.transitions import check_transition

stored = stored_for(__name__)
C = CampaignStatus
_REOPENED = frozenset({C.EDITING, C.TO_VALIDATE, C.IN_PROGRESS})
CAMPAIGN_TRANSITIONS: dict[CampaignStatus | None, frozenset[CampaignStatus]] = {
    C.EDITING: frozenset({C.TO_VALIDATE, C.IN_PROGRESS, C.CANCELLED}),
    C.TO_VALIDATE: frozenset({C.EDITING, C.IN_PROGRESS, C.CANCELLED}),
    C.IN_PROGRESS: frozenset({C.FINISHED, C.CANCELLED}),
    C.FINISHED: _REOPENED,
    C.CANCELLED: _REOPENED,
}
"""Editing ⇄ to validate → in progress → finished; cancelled from anywhere before the end;
finished and cancelled only back by reopening."""

SUBMITTED_STATES = frozenset(
    {DeliveryState.TO_VALIDATE, DeliveryState.APPROVED, DeliveryState.PENDING_CONFIRMATION}
)
"""A delivery submitted that has not started."""
UNSTARTED_STATES = SUBMITTED_STATES | {DeliveryState.EDITING, DeliveryState.STOPPED}
STARTED_TASK_STATES = frozenset(set(TaskState) - {TaskState.SCHEDULED, TaskState.CANCELLED})
OPEN_TASK_STATES = frozenset(set(TaskState) - {TaskState.FINISHED, TaskState.CANCELLED})


class CampaignStateError(ExplainedError):
    """A person's change of a campaign's state that is not allowed; the text says why."""


def move_campaign(campaign: Campaign, state: CampaignStatus) -> None:
    """Change the state, checked against ``CAMPAIGN_TRANSITIONS``."""
    check_transition(
        f"campaign {campaign.name!r}", CAMPAIGN_TRANSITIONS, CampaignStatus(campaign.status), state
    )
    campaign.status = state


def observed_states(session: Session, today: date, campaign_ids: list[int] | None = None):
    """What each campaign's deliveries, runs and tasks say its state is (ignoring whether a
    person cancelled it), by campaign id: five queries, whatever the number of campaigns."""

    def ids(query) -> set[int]:
        if campaign_ids is not None:
            query = query.where(query.selected_columns[0].in_(campaign_ids))
        return set(session.scalars(query.distinct()))

    started = (
        ids(select(Run.campaign_id).where(Run.dry_run.is_(False)))
        | ids(select(Delivery.campaign_id).where(Delivery.state.not_in(UNSTARTED_STATES)))
        | ids(select(Task.campaign_id).where(Task.state.in_(STARTED_TASK_STATES)))
    )
    submitted = ids(select(Delivery.campaign_id).where(Delivery.state.in_(SUBMITTED_STATES)))
    open_work = (
        ids(select(Delivery.campaign_id).where(Delivery.state.not_in(FINAL_DELIVERY_STATES)))
        | ids(select(Run.campaign_id).where(Run.state.in_(ACTIVE_RUN_STATES)))
        | ids(select(Task.campaign_id).where(Task.state.in_(OPEN_TASK_STATES)))
    )
    query = select(Campaign.id, Campaign.end_date)
    if campaign_ids is not None:
        query = query.where(Campaign.id.in_(campaign_ids))
    observed = {}
    for campaign_id, end_date in session.execute(query):
        if campaign_id in started:
            ended = end_date is not None and end_date < today and campaign_id not in open_work
            observed[campaign_id] = C.FINISHED if ended else C.IN_PROGRESS
        elif campaign_id in submitted:
            observed[campaign_id] = C.TO_VALIDATE
        else:
            observed[campaign_id] = C.EDITING
    return observed


def _follows(current: CampaignStatus, observed: CampaignStatus) -> CampaignStatus:
    """The state a campaign moves to by itself: none out of finished or cancelled (a
    person reopens), none back from in progress."""
    if current in CLOSED_CAMPAIGN_STATES or observed == current:
        return current
    if current is C.IN_PROGRESS and observed is not C.FINISHED:
        return current
    if observed is C.FINISHED and current is not C.IN_PROGRESS:
        return C.IN_PROGRESS
    return observed


def update_campaign_states(session: Session, today: date) -> list[tuple[Campaign, str]]:
    """Move every campaign to the state its deliveries, runs and tasks say; returns the
    campaigns moved with their previous state."""
    observed = observed_states(session, today)
    moved = []
    for campaign in session.scalars(
        select(Campaign).where(Campaign.status.not_in(CLOSED_CAMPAIGN_STATES)).order_by(Campaign.id)
    ):
        current = CampaignStatus(campaign.status)
        target = _follows(current, observed[campaign.id])
        if target != current:
            move_campaign(campaign, target)
            moved.append((campaign, current.value))
    session.flush()
    return moved


def cancel_campaign(campaign: Campaign) -> None:
    """A person calls the campaign off; it does not start again until it is reopened."""
    if campaign.status in CLOSED_CAMPAIGN_STATES:
        raise CampaignStateError(
            stored(
                "campaign '{campaign}' is already {status}",
                campaign=campaign.name,
                status=CAMPAIGN_STATUS_NAMES[campaign.status],
            )
        )
    move_campaign(campaign, C.CANCELLED)


def reopen_campaign(
    session: Session, campaign: Campaign, today: date, end_date: date | None
) -> CampaignStatus:
    """A finished or cancelled campaign goes back to the state its deliveries say, with an
    end date that has not passed (or none), so that it does not finish again at once."""
    if campaign.status not in CLOSED_CAMPAIGN_STATES:
        raise CampaignStateError(
            stored(
                "campaign '{campaign}' is {status}, not closed",
                campaign=campaign.name,
                status=CAMPAIGN_STATUS_NAMES[campaign.status],
            )
        )
    if end_date is not None and end_date < today:
        raise CampaignStateError(
            stored("end date: {end} has passed; give a later one or none", end=end_date)
        )
    if campaign.start_date is not None and end_date is not None and end_date < campaign.start_date:
        raise CampaignStateError(
            stored(
                "end date: {end} is before the start {start}",
                end=end_date,
                start=campaign.start_date,
            )
        )
    campaign.end_date = end_date
    observed = observed_states(session, today, [campaign.id])[campaign.id]
    move_campaign(campaign, observed)
    return observed


def update_task_states(session: Session, today: date, now: datetime) -> list[tuple[Task, str]]:
    """Tasks by their dates: scheduled → in progress on the start date, in progress →
    finished after the end date. A task waiting for approval, rejected or without dates, or
    of a cancelled campaign, is left to a person."""
    moved = []
    tasks = session.scalars(
        select(Task)
        .join(Campaign, Task.campaign_id == Campaign.id)
        .where(
            Campaign.status != C.CANCELLED,
            Task.state.in_([TaskState.SCHEDULED, TaskState.IN_PROGRESS]),
            Task.start_date.is_not(None),
            Task.start_date <= today,
        )
        .order_by(Task.id)
    )
    for task in tasks:
        before = TaskState(task.state)
        if task.state is TaskState.SCHEDULED:
            task.move_to(TaskState.IN_PROGRESS, now)
        if task.end_date is not None and task.end_date < today:
            task.move_to(TaskState.FINISHED, now)
        if task.state is not before:
            moved.append((task, before.value))
    session.flush()
    return moved
