"""Approvals of a delivery's steps: configure, submit, approve, reject, remind, ask.

The web panel and the delivery workflow call these functions inside their own unit of
work. Whether a user may answer is decided here, and the first answer to a submission wins:
the answer is a conditional update (``WHERE state = 'pending' AND round = n``), so of two
reviewers answering at the same moment exactly one succeeds, whatever each of them read
before. Every configuration, submission, answer and reminder is written to the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.messages import ExplainedError, StoredText, stored_for
from core.models import Role, User, UserGroup
from core.notifications import notify, users_for
from plugins.processes.consumption import analysis_run
from plugins.processes.models import (
    Approval,
    ApprovalEvent,
    ApprovalEventKind,
    ApprovalMode,
    ApprovalReviewer,
    ApprovalState,
    ApprovalStep,
    Delivery,
    DeliveryState,
)
from plugins.processes.models.approvals import DIRECT_MAIL_STEPS
from plugins.processes.texts import (
    APPROVAL_STATE_NAMES,
    CHANNEL_NAMES,
    DELIVERY_STATE_NAMES,
    STEP_NAMES,
)

stored = stored_for(__name__)
DEFAULT_DEADLINE = timedelta(days=3)
BEFORE_START = tuple(step for step in ApprovalStep if step not in DIRECT_MAIL_STEPS)
"""The steps "submit for approval" submits; extraction and proof come later, with the file."""
SUBMITTABLE_STATES = (DeliveryState.EDITING, DeliveryState.TO_VALIDATE)
"""A delivery in these states may be submitted for approval (again)."""
PERSON_STEPS = frozenset({ApprovalStep.EXTRACTION})
"""Steps a person always answers: a letter's file is what reaches its recipients, so nothing
goes to the provider unless someone approved it with its count of letters in front of them
(without reviewers of its own: the campaign's manager)."""


class ApprovalError(ExplainedError):
    """An approval cannot be configured, submitted or answered as asked; says why."""


class NotAReviewerError(ApprovalError):
    """The user may not answer this approval."""


class AlreadyAnsweredError(ApprovalError):
    """Someone else answered first (or the submission was withdrawn)."""


@dataclass(frozen=True)
class Reviewers:
    """Who may answer: users, roles (their holders and higher roles) and groups."""

    users: tuple[int, ...] = ()
    roles: tuple[Role, ...] = ()
    groups: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        users: Iterable[int | User] = (),
        roles: Iterable[Role | str] = (),
        groups: Iterable[int | UserGroup] = (),
    ) -> Reviewers:
        role_values = []
        for role in roles:
            try:
                role_values.append(Role(role))
            except ValueError:
                raise ApprovalError(
                    stored("reviewers.roles: '{role}' is not a role", role=str(role))
                ) from None
        return cls(
            users=tuple(user.id if isinstance(user, User) else user for user in users),
            roles=tuple(role_values),
            groups=tuple(group.id if isinstance(group, UserGroup) else group for group in groups),
        )


def approval_for(session: Session, delivery_id: int, step: ApprovalStep) -> Approval | None:
    return session.scalar(
        select(Approval).where(Approval.delivery_id == delivery_id, Approval.step == step)
    )


def _log(
    session: Session,
    approval: Approval,
    kind: ApprovalEventKind,
    now: datetime,
    user: User | None = None,
    comment: str = "",
) -> None:
    session.add(
        ApprovalEvent(
            approval_id=approval.id,
            round=approval.round,
            kind=kind,
            user_id=user.id if user is not None else None,
            at=now,
            comment=comment,
        )
    )


def _check_step(session: Session, delivery: Delivery, step: ApprovalStep, mode: ApprovalMode):
    if step in DIRECT_MAIL_STEPS and delivery.channel.online:
        raise ApprovalError(
            stored(
                "step '{step}': only direct-mail and print deliveries have it, "
                "'{delivery}' is sent by {channel}",
                step=STEP_NAMES[step],
                delivery=delivery.label,
                channel=CHANNEL_NAMES[delivery.channel],
            )
        )
    if step in PERSON_STEPS and mode is ApprovalMode.AUTOMATIC:
        raise ApprovalError(
            stored(
                "step '{step}': a person approves it with the number of letters in front of "
                "them; it cannot be automatic",
                step=STEP_NAMES[step],
            )
        )
    if step is ApprovalStep.BUDGET and mode is ApprovalMode.MANUAL:
        targeting = approval_for(session, delivery.id, ApprovalStep.TARGETING)
        if targeting is None or targeting.mode is not ApprovalMode.MANUAL:
            raise ApprovalError(
                stored("step 'budget': a manual budget approval needs a manual targeting approval")
            )
    if step is ApprovalStep.TARGETING and mode is ApprovalMode.AUTOMATIC:
        budget = approval_for(session, delivery.id, ApprovalStep.BUDGET)
        if budget is not None and budget.mode is ApprovalMode.MANUAL:
            raise ApprovalError(
                stored(
                    "step 'targeting': the budget approval is manual and needs the targeting "
                    "approval to be manual too; make the budget approval automatic first"
                )
            )


def configure(
    session: Session,
    delivery: Delivery,
    step: ApprovalStep,
    mode: ApprovalMode,
    now: datetime,
    reviewers: Reviewers = Reviewers(),
    by: User | None = None,
) -> Approval:
    """Set a step's mode and reviewers (no reviewers: the campaign manager decides). A step
    before the start is set up while the delivery can still be submitted: once it is
    approved, a new one would never be asked."""
    step, mode = ApprovalStep(step), ApprovalMode(mode)
    _check_step(session, delivery, step, mode)
    if step in BEFORE_START and delivery.state not in SUBMITTABLE_STATES:
        raise ApprovalError(
            stored(
                "step '{step}': delivery '{delivery}' is in state '{state}'; the steps before "
                "the start are set up before it is approved",
                step=STEP_NAMES[step],
                delivery=delivery.label,
                state=DELIVERY_STATE_NAMES[delivery.state],
            )
        )
    approval = approval_for(session, delivery.id, step)
    if approval is None:
        approval = Approval(delivery_id=delivery.id, step=step, round=0)
        session.add(approval)
    elif approval.state is ApprovalState.PENDING:
        raise ApprovalError(
            stored(
                "the {approval} is waiting for an answer; answer it before changing who decides",
                approval=_about(approval),
            )
        )
    approval.mode = mode
    approval.reviewers = (
        [ApprovalReviewer(user_id=user_id) for user_id in reviewers.users]
        + [ApprovalReviewer(role=role) for role in reviewers.roles]
        + [ApprovalReviewer(group_id=group_id) for group_id in reviewers.groups]
    )
    session.flush()
    # each part is an entry of the bundle's catalogs: the panel shows the log in the
    # reader's language (ApprovalEvent.platform_comment); people and groups by their names
    # as they were then
    users = dict(
        session.execute(select(User.id, User.username).where(User.id.in_(reviewers.users))).all()
    )
    groups = dict(
        session.execute(
            select(UserGroup.id, UserGroup.name).where(UserGroup.id.in_(reviewers.groups))
        ).all()
    )
    described = ", ".join(
        [f"user '{users.get(user, user)}'" for user in reviewers.users]
        + [f"role {role.value}" for role in reviewers.roles]
        + [f"group '{groups.get(group, group)}'" for group in reviewers.groups]
    )
    _log(
        session,
        approval,
        ApprovalEventKind.CONFIGURED,
        now,
        by,
        f"{mode.value}; reviewers: {described or 'the campaign manager'}",
    )
    return approval


def reviewers_of(session: Session, approval: Approval) -> list[User]:
    """The active users who may answer: the configured reviewers, or else the campaign's
    manager, or else everyone with the campaign manager role (or higher)."""
    entries = approval.reviewers
    if entries:
        return users_for(
            session,
            users=[entry.user_id for entry in entries if entry.user_id is not None],
            roles=[entry.role for entry in entries if entry.role is not None],
            groups=[entry.group_id for entry in entries if entry.group_id is not None],
        )
    manager_id = approval.delivery.campaign.manager_id
    if manager_id is not None:
        manager = users_for(session, users=[manager_id])
        if manager:
            return manager
    return users_for(session, roles=[Role.CAMPAIGN_MANAGER])


def may_answer(session: Session, approval: Approval, user: User) -> bool:
    """A reviewer of the approval who holds at least the reviewer role."""
    if not user.active or not Role(user.role).includes(Role.REVIEWER):
        return False
    return any(reviewer.id == user.id for reviewer in reviewers_of(session, approval))


def _about(approval: Approval) -> StoredText:
    delivery = approval.delivery
    return stored(
        "{step} of delivery '{delivery}' ({campaign})",
        step=STEP_NAMES[approval.step],
        delivery=delivery.label,
        campaign=delivery.campaign.name,
    )


def submit(
    session: Session,
    delivery: Delivery,
    step: ApprovalStep,
    now: datetime,
    by: User | None = None,
    deadline: datetime | None = None,
) -> Approval:
    """Open a new round for a step. Automatic steps are approved at once; manual ones wait
    for a reviewer until ``deadline`` (3 days by default) and the reviewers are notified. A
    step a person always answers (``PERSON_STEPS``) is manual even if it was set up
    automatic before that rule."""
    step = ApprovalStep(step)
    approval = approval_for(session, delivery.id, step)
    if approval is None:
        mode = ApprovalMode.MANUAL if step in PERSON_STEPS else ApprovalMode.AUTOMATIC
        approval = configure(session, delivery, step, mode, now, by=by)
    elif step in PERSON_STEPS and approval.mode is ApprovalMode.AUTOMATIC:
        approval = configure(session, delivery, step, ApprovalMode.MANUAL, now, by=by)
    else:
        _check_step(session, delivery, step, approval.mode)
    if approval.state is ApprovalState.PENDING:
        raise ApprovalError(
            stored(
                "the {approval} was submitted at {submitted} and is still waiting for an answer",
                approval=_about(approval),
                submitted=approval.submitted_at,
            )
        )
    if deadline is not None and deadline <= now:
        raise ApprovalError(stored("deadline: {deadline} is not in the future", deadline=deadline))
    approval.round += 1
    approval.submitted_at = now
    approval.submitted_by_id = by.id if by is not None else None
    approval.answered_at = approval.answered_by_id = None
    approval.comment = ""
    approval.last_reminder_at = None
    approval.reminders_sent = 0
    approval.overdue_at = None
    session.flush()
    _log(session, approval, ApprovalEventKind.SUBMITTED, now, by)
    if approval.mode is ApprovalMode.AUTOMATIC:
        approval.state = ApprovalState.APPROVED
        approval.answered_at = now
        approval.deadline_at = None
        _log(session, approval, ApprovalEventKind.APPROVED, now, comment="automatic")
        session.flush()
        return approval
    approval.state = ApprovalState.PENDING
    approval.deadline_at = deadline or now + DEFAULT_DEADLINE
    session.flush()
    notify(
        session,
        kind="approval_request",
        subject=stored("Approval needed: {approval}", approval=_about(approval)),
        body=stored(
            "Please approve or reject the {step} step before {deadline}.",
            step=STEP_NAMES[approval.step],
            deadline=approval.deadline_at,
        ),
        now=now,
        users=reviewers_of(session, approval),
        about=("approval", approval.id),  # the reviewer answers on its page
    )
    return approval


def approve(
    session: Session,
    approval_id: int,
    user: User,
    now: datetime,
    comment: str = "",
    seen_round: int | None = None,
) -> Approval:
    """Approve the submission; ``seen_round`` is the round the reviewer looked at (the
    panel passes it), so an approval never lands on a resubmission nobody has seen."""
    return _answer(session, approval_id, user, now, ApprovalState.APPROVED, comment, seen_round)


def reject(
    session: Session,
    approval_id: int,
    user: User,
    now: datetime,
    comment: str,
    seen_round: int | None = None,
) -> Approval:
    """Reject with a reason (required, so the submitter knows what to change)."""
    if not comment.strip():
        raise ApprovalError(stored("comment: say why the step is rejected"))
    return _answer(session, approval_id, user, now, ApprovalState.REJECTED, comment, seen_round)


def _answer(
    session: Session,
    approval_id: int,
    user: User,
    now: datetime,
    answer: ApprovalState,
    comment: str,
    seen_round: int | None,
) -> Approval:
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise ApprovalError(stored("no approval with id {id}", id=str(approval_id)))
    answered_round = approval.round if seen_round is None else seen_round
    if approval.state is not ApprovalState.PENDING or approval.round != answered_round:
        raise _not_pending(session, approval, answered_round)
    if not may_answer(session, approval, user):
        raise NotAReviewerError(
            stored(
                "{user} may not answer the {approval}",
                user=user.username,
                approval=_about(approval),
            )
        )
    result = session.execute(
        update(Approval)
        .where(
            Approval.id == approval.id,
            Approval.state == ApprovalState.PENDING,
            Approval.round == answered_round,
        )
        .values(
            state=answer,
            answered_at=now,
            answered_by_id=user.id,
            comment=comment,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(approval)
    if result.rowcount != 1:
        raise _not_pending(session, approval, answered_round)
    approved = answer is ApprovalState.APPROVED
    kind = ApprovalEventKind.APPROVED if approved else ApprovalEventKind.REJECTED
    _log(session, approval, kind, now, user, comment)
    informed = {approval.submitted_by_id, approval.delivery.campaign.manager_id} - {None, user.id}
    if informed:
        by = user.display_name or user.username
        notify(
            session,
            kind="approval_answer",
            subject=(
                stored("Approved by {user}: {approval}", user=by, approval=_about(approval))
                if approved
                else stored("Rejected by {user}: {approval}", user=by, approval=_about(approval))
            ),
            body=stored("Comment: {comment}", comment=comment) if comment else None,
            now=now,
            users=sorted(informed),
            about=("delivery", approval.delivery_id),
        )
    return approval


def _not_pending(session: Session, approval: Approval, seen_round: int) -> ApprovalError:
    about = _about(approval)
    if approval.state is ApprovalState.NOT_SUBMITTED:
        return ApprovalError(stored("the {approval} has not been submitted", approval=about))
    if approval.round != seen_round:
        return AlreadyAnsweredError(
            stored(
                "the {approval} was submitted again (round {round}) after round {seen} was "
                "shown; look at the new submission",
                approval=about,
                round=approval.round,
                seen=seen_round,
            )
        )
    who = session.get(User, approval.answered_by_id) if approval.answered_by_id else None
    state, at = APPROVAL_STATE_NAMES[approval.state], approval.answered_at
    if who is None:  # answered automatically
        return AlreadyAnsweredError(
            stored("the {approval} was already {state} at {at}", approval=about, state=state, at=at)
        )
    return AlreadyAnsweredError(
        stored(
            "the {approval} was already {state} by {user} at {at}",
            approval=about,
            state=state,
            user=who.username,
            at=at,
        )
    )


def submit_for_approval(
    session: Session,
    delivery: Delivery,
    now: datetime,
    by: User | None = None,
    deadline: datetime | None = None,
) -> list[ApprovalStep]:
    """Submit every step before the start that is configured (and always the start) and not
    approved or waiting yet; the delivery then shows "to validate" while an answer is
    missing, else "approved". A manual budget step is asked only once the targeting is
    analysed (``budget_waits_for_analysis``); until then operationMgt submits it. Returns
    the steps submitted."""
    submitted = []
    deferred = False
    for step in BEFORE_START:
        approval = approval_for(session, delivery.id, step)
        if approval is None and step is not ApprovalStep.START:
            continue
        if approval is not None and approval.state in (
            ApprovalState.PENDING,
            ApprovalState.APPROVED,
        ):
            continue
        if step is ApprovalStep.BUDGET and budget_waits_for_analysis(session, delivery.id):
            approval.state = ApprovalState.NOT_SUBMITTED  # a rejection of an earlier round
            deferred = True
            continue
        submit(session, delivery, step, now, by=by, deadline=deadline)
        submitted.append(step)
    waiting = deferred or session.scalar(
        select(Approval.id)
        .where(
            Approval.delivery_id == delivery.id,
            Approval.step.in_(BEFORE_START),
            Approval.state == ApprovalState.PENDING,
        )
        .limit(1)
    )
    target = DeliveryState.TO_VALIDATE if waiting is not None else DeliveryState.APPROVED
    if delivery.state is not target:
        delivery.move_to(target, now)
    return submitted


def budget_waits_for_analysis(session: Session, delivery_id: int) -> bool:
    """Whether a manual budget step must wait: it is asked after the targeting of its
    current round is analysed, so that reviewers approve the cost the provider's structures
    give for the analysed count (``consumption.analysed_cost``), not an estimate."""
    budget = approval_for(session, delivery_id, ApprovalStep.BUDGET)
    if budget is None or budget.mode is ApprovalMode.AUTOMATIC:
        return False
    targeting = approval_for(session, delivery_id, ApprovalStep.TARGETING)
    since = targeting.submitted_at if targeting is not None else None
    return analysis_run(session, delivery_id, since) is None


def is_approved(session: Session, delivery_id: int, step: ApprovalStep) -> bool:
    """Whether the step lets the delivery go on: automatic (the default) or approved."""
    approval = approval_for(session, delivery_id, ApprovalStep(step))
    if approval is None or approval.mode is ApprovalMode.AUTOMATIC:
        return True
    return approval.state is ApprovalState.APPROVED


def record_reminder(session: Session, approval: Approval, now: datetime) -> None:
    """Remind the reviewers of a pending approval (the delivery workflow decides when)."""
    if approval.state is not ApprovalState.PENDING:
        raise ApprovalError(
            stored(
                "the {approval} is {state}, not waiting for an answer",
                approval=_about(approval),
                state=APPROVAL_STATE_NAMES[approval.state],
            )
        )
    approval.reminders_sent += 1
    approval.last_reminder_at = now
    _log(session, approval, ApprovalEventKind.REMINDED, now)
    notify(
        session,
        kind="approval_reminder",
        subject=stored("Reminder: approval needed for the {approval}", approval=_about(approval)),
        body=stored("The deadline is {deadline}.", deadline=approval.deadline_at),
        now=now,
        users=reviewers_of(session, approval),
        about=("approval", approval.id),
    )
    session.flush()


def pending_for(session: Session, user: User) -> list[Approval]:
    """The approvals waiting for this user's answer ("to validate"), oldest deadline first."""
    pending = session.scalars(
        select(Approval)
        .where(Approval.state == ApprovalState.PENDING)
        .order_by(Approval.deadline_at, Approval.id)
    )
    return [approval for approval in pending if may_answer(session, approval, user)]
