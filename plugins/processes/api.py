"""Deliveries, approvals and campaign templates in the HTTP API (docs/api.md): list and read
them, submit a delivery for approval, answer an approval, confirm an online delivery's start
with its count, create, change and delete a template (pause it with ``"active": false``) and
approve, let start or skip its schedule lines.

The operations come from this bundle on a ``webapp.ApiBlueprint`` registered with its panel
screens, so ``CAMPAIGN_DISABLE_PLUGINS=plugins.processes`` leaves them out of the API and of
its OpenAPI document. They call the services the panel's screens call
(``plugins.processes.approvals``, ``plugins.processes.template_setup``) with the same role
rules: reading deliveries and templates needs a viewer, reading and answering approvals a
reviewer who is one of the approval's reviewers, submitting, setting up and deleting
templates a campaign manager. Every write is in the audit log under the action names the
panel uses, with the token's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from flask import Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
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
from plugins.processes.models import (
    Approval,
    ApprovalState,
    CampaignTemplate,
    Delivery,
    DeliveryState,
    Frequency,
    TemplateKind,
)
from plugins.processes.panel.deliveries.confirmation import recipient_count
from plugins.processes.template_setup import (
    DESCRIPTION_LENGTH,
    FIELDS,
    MAX_ADVANCE_DAYS,
    MAX_EVERY,
    NAME_LENGTH,
    SCHEDULE_END,
    LineAction,
    TemplateNotFoundError,
    decide_line,
    delete_if_unstarted,
    deletion_audit,
    find_line,
    find_template,
    line_audit,
    line_facts,
    planned_lines,
    template_details,
    template_facts,
    template_problems,
)
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
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_LENGTH)
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_LENGTH)
]
ScheduleDate = Annotated[
    AwareDatetime,
    Field(
        ge=datetime(1900, 1, 1, tzinfo=UTC),
        le=SCHEDULE_END,
        description="with its offset; from 1900 to 2999 as the panel's date inputs",
    ),
    AfterValidator(lambda at: at.astimezone(UTC)),  # stored in UTC, as the form stores it
]
Every = Annotated[int, Field(ge=1, le=MAX_EVERY, description="every n days, weeks or months")]
AdvanceDays = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_ADVANCE_DAYS,
        description="schedule lines are created this many days before their date",
    ),
]


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


# -- campaign templates ---------------------------------------------------------------------------


class TemplateLineOut(BaseModel):
    """A schedule line: the n-th date of a template, with its approval and what it started."""

    id: int
    number: int
    label: str
    planned_at: datetime
    state: str
    to_be_approved: bool
    approved_at: datetime | None
    approved_by: str | None
    to_be_started: bool
    run_id: int | None
    """Recurring: the run of the template's campaign for this date."""
    campaign_id: int | None
    """Periodic: the campaign created for this date."""


class TemplateOut(BaseModel):
    id: int
    name: str
    description: str
    kind: str
    campaign_id: int
    campaign: str
    program_id: int | None
    active: bool
    frequency: str | None
    every: int
    first_at: datetime | None
    until: datetime | None
    create_in_advance_days: int
    to_be_approved: bool
    to_be_started: bool
    next_line: TemplateLineOut | None
    """The next planned schedule line, as the panel's list shows it."""
    next_date: datetime | None
    """Without a planned line: the schedule's next date after its latest line (operationMgt
    creates its line within ``create_in_advance_days``); None when inactive or ended."""


class TemplateDetail(TemplateOut):
    planned_lines: list[TemplateLineOut]
    """Every line still planned, soonest first."""


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None


class TemplateQuery(ApiPageQuery):
    kind: TemplateKind | None = None
    active: bool | None = None


class NewTemplate(BaseModel):
    """A template as the panel's form sets it up; a recurring or periodic one needs
    ``frequency`` and ``first_at``, only a periodic one a ``program_id``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = ""
    kind: TemplateKind
    campaign_id: RowId = Field(description="the model campaign, of no other template")
    program_id: RowId | None = Field(
        default=None, description="periodic: where its campaigns are created"
    )
    frequency: Frequency | None = None
    every: Every = 1
    first_at: ScheduleDate | None = None
    until: ScheduleDate | None = None
    create_in_advance_days: AdvanceDays = 0
    to_be_approved: bool = False
    to_be_started: bool = True
    active: bool = True


class TemplateChange(BaseModel):
    """The fields to change; the others stay. ``null`` clears ``program_id``, ``frequency``,
    ``first_at`` and ``until``; ``"active": false`` pauses the template (no new lines)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = None  # type: ignore[assignment]  # left out: unchanged; null: refused
    description: Description = None  # type: ignore[assignment]
    kind: TemplateKind = None  # type: ignore[assignment]
    campaign_id: RowId = None  # type: ignore[assignment]
    program_id: RowId | None = None
    frequency: Frequency | None = None
    every: Every = None  # type: ignore[assignment]
    first_at: ScheduleDate | None = None
    until: ScheduleDate | None = None
    create_in_advance_days: AdvanceDays = None  # type: ignore[assignment]
    to_be_approved: bool = None  # type: ignore[assignment]
    to_be_started: bool = None  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]


def _template_detail(template: CampaignTemplate) -> TemplateDetail:
    session = db_session()
    (facts,) = template_facts(session, [template], get_runtime().clock.now())
    return TemplateDetail(**facts, planned_lines=planned_lines(session, template))


def _load_template(template_id: int) -> CampaignTemplate:
    try:
        return find_template(db_session(), str(template_id))
    except TemplateNotFoundError as exc:
        raise ApiProblem(404, str(exc)) from None


def _decide(line_id: int, action: LineAction) -> TemplateLineOut:
    """As the buttons of a template's page: a line that changed meanwhile is a 409 saying
    why, as the panel says it."""
    session = db_session()
    try:
        line = find_line(session, line_id)
    except TemplateNotFoundError as exc:
        raise ApiProblem(404, str(exc)) from None
    refused = decide_line(session, line, action, api_user(), get_runtime().clock.now())
    if refused is not None:
        raise ApiProblem(409, refused)
    api_audit(*line_audit(line, action))
    session.commit()
    approvers = names_by_id(User.username, {line.approved_by_id})
    return TemplateLineOut(**line_facts(line, approvers))


def _store_template(template: CampaignTemplate | None, values: dict[str, Any]) -> CampaignTemplate:
    """``values`` checked by the panel form's rules, stored with the panel's audit entry."""
    session = db_session()
    problems = template_problems(session, values, template)
    if problems:  # every field's problem, as the form shows them all
        each = [ApiProblem.for_field(name, problem) for name, problem in problems.items()]
        raise ApiProblem(
            422, "; ".join(one.detail for one in each), [one.errors[0] for one in each]
        )
    created = template is None
    if template is None:
        template = CampaignTemplate(**values)
        session.add(template)
    else:
        for name, value in values.items():
            setattr(template, name, value)
    session.flush()
    api_audit(
        f"campaign_template.{'create' if created else 'update'}",
        "campaign_template",
        template.id,
        template.name,
        template_details(template),
    )
    session.commit()
    return template


@bp.operation(
    "GET",
    "/templates",
    summary="List campaign templates",
    tag="templates",
    role=Role.VIEWER,
    query=TemplateQuery,
    response=TemplatePage,
)
def list_templates(query: TemplateQuery) -> TemplatePage:
    """Each template with its schedule and its next line or date; ``kind`` and ``active``
    narrow the list."""
    statement = select(CampaignTemplate)
    if query.kind is not None:
        statement = statement.where(CampaignTemplate.kind == query.kind)
    if query.active is not None:
        statement = statement.where(CampaignTemplate.active.is_(query.active))
    rows, cursor = api_page(db_session(), statement, CampaignTemplate.id, query)
    facts = template_facts(db_session(), rows, get_runtime().clock.now())
    return TemplatePage(items=[TemplateOut(**row) for row in facts], next_cursor=cursor)


@bp.operation(
    "GET",
    "/templates/<int:template_id>",
    summary="Read a campaign template",
    tag="templates",
    role=Role.VIEWER,
    response=TemplateDetail,
)
def get_template(template_id: int) -> TemplateDetail:
    """The template with its schedule, its next line or date, and its planned lines."""
    return _template_detail(_load_template(template_id))


@bp.operation(
    "POST",
    "/templates",
    summary="Create a campaign template",
    tag="templates",
    role=Role.CAMPAIGN_MANAGER,
    body=NewTemplate,
    response=TemplateDetail,
    status=201,
)
def create_template(body: NewTemplate) -> TemplateDetail:
    """Checked as the panel's template form checks it: a name and a model campaign no other
    template has, a frequency and a first date unless ``unique``, a program only for a
    ``periodic`` one, ``until`` not before ``first_at``; each problem is a 422 naming its
    field."""
    return _template_detail(_store_template(None, body.model_dump()))


@bp.operation(
    "PATCH",
    "/templates/<int:template_id>",
    summary="Change a campaign template",
    tag="templates",
    role=Role.CAMPAIGN_MANAGER,
    body=TemplateChange,
    response=TemplateDetail,
)
def change_template(template_id: int, body: TemplateChange) -> TemplateDetail:
    """The fields given change, checked with the others as the panel's form checks them
    (its kind stays once it has schedule lines); ``{"active": false}`` pauses it:
    operationMgt creates no new lines, and its lines let start wait. Lines created before
    keep their dates."""
    template = _load_template(template_id)
    values = {name: getattr(template, name) for name in FIELDS}
    values.update(body.model_dump(exclude_unset=True))
    return _template_detail(_store_template(template, values))


@bp.operation(
    "DELETE",
    "/templates/<int:template_id>",
    summary="Delete a campaign template",
    tag="templates",
    role=Role.CAMPAIGN_MANAGER,
    status=204,
)
def delete_template(template_id: int) -> Response:
    """As the panel's button: the template goes with its planned and skipped lines, its
    model campaign stays; 409 once one of its lines started (pause it with ``"active":
    false`` instead)."""
    session = db_session()
    template = _load_template(template_id)
    audit = deletion_audit(template)
    refused = delete_if_unstarted(session, template)
    if refused is not None:
        raise ApiProblem(409, refused)
    api_audit(*audit)
    session.commit()
    return Response(status=204)


@bp.operation(
    "POST",
    "/templates/lines/<int:line_id>/approve",
    summary="Approve a schedule line",
    tag="templates",
    role=Role.CAMPAIGN_MANAGER,
    response=TemplateLineOut,
)
def approve_line(line_id: int) -> TemplateLineOut:
    """A planned line that needs an approval gets the token user's; 409 when it needs none,
    has one already or is no longer planned."""
    return _decide(line_id, "approve")


@bp.operation(
    "POST",
    "/templates/lines/<int:line_id>/start",
    summary="Let a schedule line start",
    tag="templates",
    role=Role.CAMPAIGN_MANAGER,
    response=TemplateLineOut,
)
def start_line(line_id: int) -> TemplateLineOut:
    """A planned line that does not start by itself is let start: operationMgt's next pass
    after its date starts it (once approved, if it needs that), and a recurring line's run
    still waits for the confirmation of its count. 409 when its template is paused, or the
    line starts by itself already or is no longer planned."""
    return _decide(line_id, "start")


@bp.operation(
    "POST",
    "/templates/lines/<int:line_id>/skip",
    summary="Skip a schedule line",
    tag="templates",
    role=Role.CAMPAIGN_MANAGER,
    response=TemplateLineOut,
)
def skip_line(line_id: int) -> TemplateLineOut:
    """A planned line is skipped: it never starts; 409 when it is no longer planned."""
    return _decide(line_id, "skip")
