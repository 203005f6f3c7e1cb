"""Deliveries and approvals in the HTTP API (docs/api.md): list and read them, submit a
delivery for approval, answer an approval, confirm an online delivery's start with its count.

The operations come from this bundle on a ``webapp.ApiBlueprint`` registered with its panel
screens, so ``CAMPAIGN_DISABLE_PLUGINS=plugins.processes`` leaves them out of the API and of
its OpenAPI document. They call the services the panel's screens call
(``plugins.processes.approvals``) with the same role rules: reading deliveries needs a
viewer, reading and answering approvals a reviewer who is one of the approval's reviewers,
submitting a campaign manager. Every write is in the audit log under the action names the
panel uses, with the token's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.models import Role, User
from plugins.processes.approvals import (
    SUBMITTABLE_STATES,
    ApprovalError,
    NotAReviewerError,
    approve,
    may_answer,
    reject,
    submit_for_approval,
)
from plugins.processes.delivery_start import (
    ConfirmationError,
    before_planned_start,
    confirm_start,
    needs_confirmation,
    start_delivery,
)
from plugins.processes.models import Approval, ApprovalState, Delivery, DeliveryState
from plugins.processes.panel.deliveries.confirmation import recipient_count
from webapp import (
    ApiBlueprint,
    ApiPageQuery,
    ApiProblem,
    api_audit,
    api_page,
    api_user,
    db_session,
    get_runtime,
    names_by_id,
)

bp = ApiBlueprint("processes_api", __name__)
COMMENT_LENGTH = 2000
"""As the panel's answer form."""


# -- models ---------------------------------------------------------------------------------------


class ApprovalOut(BaseModel):
    """One approval step of a delivery and its current round."""

    id: int
    delivery_id: int
    step: str
    mode: str
    state: str
    round: int
    submitted_at: datetime | None
    submitted_by: str | None
    deadline_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    comment: str
    may_answer: bool
    """Whether the token's user may answer it now (pending, and one of its reviewers)."""


class ApprovalPage(BaseModel):
    items: list[ApprovalOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    id: int
    campaign_id: int
    campaign: str
    label: str
    channel: str
    state: str
    state_changed_at: datetime | None
    planned_start_at: datetime | None
    confirmed_at: datetime | None
    """When a person confirmed its start (``POST .../confirm``), for ``confirmed_count``."""
    confirmed_by: str | None
    confirmed_count: int | None
    approvals: list[ApprovalOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryQuery(ApiPageQuery):
    campaign_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    state: DeliveryState | None = None


class ApprovalQuery(ApiPageQuery):
    state: ApprovalState | None = None
    delivery_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: AwareDatetime | None = Field(
        default=None, description="until when reviewers may answer; 3 days by default"
    )


class StartConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(
        ge=0,
        le=2**31 - 1,
        description="the records the caller was shown (GET .../confirmation); refused when the "
        "campaign selects another number now",
    )


class ConfirmationOut(BaseModel):
    """What confirming the start of a delivery would go ahead on."""

    delivery_id: int
    channel: str
    records: int | None
    """How many records the campaign selects now; None when they cannot be counted."""
    planned_start_at: datetime | None
    starts_by_itself: bool
    """Confirmed now, it starts at its planned start by itself for at most ``records``;
    otherwise at once, its run waiting for the confirmation of the count it would reach."""
    waiting: bool
    """Whether it waits for this confirmation at all."""


class ConfirmedStart(BaseModel):
    delivery: DeliveryOut
    run_id: int | None
    """The run started at once: confirm its count with ``POST /runs/{run_id}/start``; None
    when the delivery starts by itself later or its run waits to start."""
    waiting: str | None
    """Why its run waits to start (another run of the campaign is active), if it does."""
    refused: str | None
    """Why its run cannot start; deliveryMgt fails the delivery and tells the manager."""


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=COMMENT_LENGTH)
    """Required to reject: the submitter learns what to change."""
    seen_round: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="the round the caller looked at; a later resubmission is not answered",
    )


# -- conversions ----------------------------------------------------------------------------------


def _usernames(approvals: Iterable[Approval]) -> dict[int, str]:
    """The usernames of who submitted and who answered these approvals, and no others."""
    ids = {
        row for approval in approvals for row in (approval.submitted_by_id, approval.answered_by_id)
    }
    return names_by_id(User.username, ids)


def _approval(approval: Approval, names: dict[int, str], user: User) -> ApprovalOut:
    pending = approval.state is ApprovalState.PENDING
    return ApprovalOut(
        id=approval.id,
        delivery_id=approval.delivery_id,
        step=approval.step.value,
        mode=approval.mode.value,
        state=approval.state.value,
        round=approval.round,
        submitted_at=approval.submitted_at,
        submitted_by=names.get(approval.submitted_by_id),
        deadline_at=approval.deadline_at,
        answered_at=approval.answered_at,
        answered_by=names.get(approval.answered_by_id),
        comment=approval.comment or "",
        may_answer=pending and may_answer(db_session(), approval, user),
    )


def _delivery(delivery: Delivery, user: User) -> DeliveryOut:
    approvals = (
        db_session()
        .scalars(select(Approval).where(Approval.delivery_id == delivery.id).order_by(Approval.id))
        .all()
    )
    names = _usernames(approvals)
    return DeliveryOut(
        id=delivery.id,
        campaign_id=delivery.campaign_id,
        campaign=delivery.campaign.name,
        label=delivery.label,
        channel=delivery.channel.value,
        state=delivery.state.value,
        state_changed_at=delivery.state_changed_at,
        planned_start_at=delivery.planned_start_at,
        confirmed_at=delivery.confirmed_at,
        confirmed_by=names_by_id(User.username, {delivery.confirmed_by_id}).get(
            delivery.confirmed_by_id
        ),
        confirmed_count=delivery.confirmed_count,
        approvals=[_approval(approval, names, user) for approval in approvals],
    )


def _load(model: type[Delivery] | type[Approval], row_id: int, what: str):
    row = db_session().get(model, row_id)
    if row is None:
        raise ApiProblem(404, f"{what} {row_id} does not exist")
    return row


# -- deliveries -----------------------------------------------------------------------------------


@bp.operation(
    "GET",
    "/deliveries",
    summary="List deliveries",
    tag="deliveries",
    role=Role.VIEWER,
    query=DeliveryQuery,
    response=DeliveryPage,
)
def list_deliveries(query: DeliveryQuery) -> DeliveryPage:
    """Each delivery with its state and its approval steps; ``campaign_id`` and ``state``
    narrow the list."""
    statement = select(Delivery).options(selectinload(Delivery.campaign))
    if query.campaign_id is not None:
        statement = statement.where(Delivery.campaign_id == query.campaign_id)
    if query.state is not None:
        statement = statement.where(Delivery.state == query.state)
    rows, cursor = api_page(db_session(), statement, Delivery.id, query)
    user = api_user()
    return DeliveryPage(items=[_delivery(row, user) for row in rows], next_cursor=cursor)


@bp.operation(
    "GET",
    "/deliveries/<int:delivery_id>",
    summary="Read a delivery",
    tag="deliveries",
    role=Role.VIEWER,
    response=DeliveryOut,
)
def get_delivery(delivery_id: int) -> DeliveryOut:
    return _delivery(_load(Delivery, delivery_id, "delivery"), api_user())


@bp.operation(
    "POST",
    "/deliveries/<int:delivery_id>/submit",
    summary="Submit a delivery for approval",
    tag="deliveries",
    role=Role.CAMPAIGN_MANAGER,
    body=Submission,
    response=DeliveryOut,
)
def submit_delivery(delivery_id: int, body: Submission) -> DeliveryOut:
    """As the delivery page's "submit for approval": every step before the start that is
    not approved or waiting opens a round; automatic steps are approved at once, manual ones
    wait for their reviewers (who are notified) until ``deadline``. The delivery is then
    ``to_validate``, or ``approved`` when nothing waits. 409 unless the delivery is being
    edited or waits for approval."""
    session = db_session()
    delivery = _load(Delivery, delivery_id, "delivery")
    if delivery.state not in SUBMITTABLE_STATES:
        raise ApiProblem(
            409,
            f"delivery {delivery_id} is {delivery.state.value}; only a delivery in "
            + " or ".join(state.value for state in SUBMITTABLE_STATES)
            + " can be submitted",
        )
    now = get_runtime().clock.now()
    try:
        deadline = body.deadline.astimezone(UTC) if body.deadline is not None else None
    except OverflowError:  # "0001-01-01T00:00+01:00" is before the first year in UTC
        raise ApiProblem.for_field("deadline", "out of range") from None
    if deadline is not None and deadline <= now:
        raise ApiProblem.for_field("deadline", "must be in the future")
    user = api_user()
    try:
        steps = submit_for_approval(session, delivery, now, user, deadline)
    except ApprovalError as exc:
        session.rollback()
        raise ApiProblem.from_message(str(exc), 409) from None
    api_audit(
        "delivery.submit",
        "delivery",
        delivery.id,
        f"{delivery.campaign.name}: {delivery.label}",
        {"steps": [step.value for step in steps], "state": delivery.state.value},
    )
    session.commit()
    return _delivery(delivery, user)


@bp.operation(
    "GET",
    "/deliveries/<int:delivery_id>/confirmation",
    summary="What confirming a delivery's start goes ahead on",
    tag="deliveries",
    role=Role.CAMPAIGN_MANAGER,
    response=ConfirmationOut,
)
def get_confirmation(delivery_id: int) -> ConfirmationOut:
    """The channel and the records the campaign selects now, as the panel's "Confirm the
    start" page shows them."""
    delivery = _load(Delivery, delivery_id, "delivery")
    waiting = needs_confirmation(delivery)
    return ConfirmationOut(
        delivery_id=delivery.id,
        channel=delivery.channel.value,
        records=recipient_count(delivery) if waiting else None,
        planned_start_at=delivery.planned_start_at,
        starts_by_itself=before_planned_start(delivery, get_runtime().clock.now()),
        waiting=waiting,
    )


@bp.operation(
    "POST",
    "/deliveries/<int:delivery_id>/confirm",
    summary="Confirm the start of an online delivery with its count",
    tag="deliveries",
    role=Role.CAMPAIGN_MANAGER,
    body=StartConfirmation,
    response=ConfirmedStart,
)
def confirm_delivery(delivery_id: int, body: StartConfirmation) -> ConfirmedStart:
    """As the panel's "Confirm the start", by the campaign's manager or an admin: before its
    planned start the delivery then starts by itself at that time for at most ``count``
    recipients; otherwise its run starts at once and waits for the confirmation of the count
    it would reach. 409 when it does not wait for a confirmation, when ``count`` is not the
    number of records now, or when the token's user may not confirm it."""
    session = db_session()
    delivery = _load(Delivery, delivery_id, "delivery")
    if not needs_confirmation(delivery):
        raise ApiProblem(
            409, f"delivery {delivery_id} is {delivery.state.value} and waits for no confirmation"
        )
    count = recipient_count(delivery)
    if count is None:
        raise ApiProblem(409, "the recipients cannot be counted now; without a count no start")
    if body.count != count:
        raise ApiProblem.for_field(
            "count", f"{body.count} shown, but the campaign selects {count} records now", 409
        )
    user = api_user()
    try:
        starts_now = confirm_start(session, delivery, user, get_runtime().clock.now(), count)
    except ConfirmationError as exc:
        session.rollback()
        raise ApiProblem(409, str(exc)) from None
    api_audit(
        "delivery.confirm",
        "delivery",
        delivery.id,
        f"{delivery.campaign.name}: {delivery.label}",
        {"recipients": count, "channel": delivery.channel.value, "starts_now": starts_now},
    )
    session.commit()
    run_id = waiting = refused = None
    if starts_now:  # with the queue down, deliveryMgt's next pass starts it
        with suppress(RedisError):
            outcome = start_delivery(get_runtime(), delivery.id, user.username)
            refused = outcome.error.english() if outcome.error is not None else None
            if outcome.started is not None:
                run_id, reason = outcome.started.run_id, outcome.started.waiting
                waiting = reason.english() if reason is not None else None
    session.refresh(delivery)
    return ConfirmedStart(
        delivery=_delivery(delivery, user), run_id=run_id, waiting=waiting, refused=refused
    )


# -- approvals ------------------------------------------------------------------------------------


@bp.operation(
    "GET",
    "/approvals",
    summary="List approvals",
    tag="approvals",
    role=Role.REVIEWER,
    query=ApprovalQuery,
    response=ApprovalPage,
)
def list_approvals(query: ApprovalQuery) -> ApprovalPage:
    """Every approval step, ``may_answer`` telling which wait for the token's user (the
    panel's inbox: ``?state=pending`` and ``may_answer``)."""
    statement = select(Approval)
    if query.state is not None:
        statement = statement.where(Approval.state == query.state)
    if query.delivery_id is not None:
        statement = statement.where(Approval.delivery_id == query.delivery_id)
    rows, cursor = api_page(db_session(), statement, Approval.id, query)
    names, user = _usernames(rows), api_user()
    return ApprovalPage(items=[_approval(row, names, user) for row in rows], next_cursor=cursor)


@bp.operation(
    "GET",
    "/approvals/<int:approval_id>",
    summary="Read an approval",
    tag="approvals",
    role=Role.REVIEWER,
    response=ApprovalOut,
)
def get_approval(approval_id: int) -> ApprovalOut:
    approval = _load(Approval, approval_id, "approval")
    return _approval(approval, _usernames([approval]), api_user())


@bp.operation(
    "POST",
    "/approvals/<int:approval_id>/answer",
    summary="Approve or reject an approval",
    tag="approvals",
    role=Role.REVIEWER,
    body=Answer,
    response=ApprovalOut,
)
def answer_approval(approval_id: int, body: Answer) -> ApprovalOut:
    """The first answer wins: 409 if the approval was answered already, is not submitted, or
    was submitted again after ``seen_round``; 403 unless the token's user is one of its
    reviewers. A rejection needs a ``comment``."""
    session = db_session()
    approval = _load(Approval, approval_id, "approval")
    comment = body.comment.strip()
    if body.answer == "reject" and not comment:
        raise ApiProblem.for_field("comment", "say why the step is rejected")
    user, now = api_user(), get_runtime().clock.now()
    seen_round = body.seen_round or approval.round
    answer = approve if body.answer == "approve" else reject
    try:
        answer(session, approval.id, user, now, comment, seen_round)
    except NotAReviewerError as exc:
        session.rollback()
        raise ApiProblem(403, str(exc)) from None
    except ApprovalError as exc:
        session.rollback()
        raise ApiProblem(409, str(exc)) from None
    delivery = approval.delivery
    api_audit(
        f"approval.{body.answer}",
        "delivery",
        delivery.id,
        f"{delivery.label}: {approval.step.value}",
        {"approval_id": approval.id, "round": seen_round, "comment": comment},
    )
    session.commit()
    return _approval(approval, _usernames([approval]), user)
