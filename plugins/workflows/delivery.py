"""deliveryMgt, "Jobs on deliveries in campaigns": moves deliveries on after their approvals
are answered, starts the ones whose start time has come, follows their runs to the end, hands
external deliveries to the supplier workflow, reminds reviewers before a deadline, marks
overdue approvals, and sends the notification outbox by e-mail.

Each delivery is handled in a unit of work of its own. A state change is conditional (the
delivery's version column: ``UPDATE … WHERE version = n``), so a delivery someone else
changed meanwhile is left for the next pass. An online delivery starts by itself only if its
approvals were complete before its planned start; otherwise a person confirms it in the
panel (``plugins.processes.delivery_start``). It is started in two commits: first
``pending_confirmation`` → ``start_pending``, then the run and ``in_progress`` with it
(``plugins.processes.delivery_start.start_delivery``); a pass that dies in between finds the run it
started instead of starting another. docs/processes.md has the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import Workflow, hookimpl
from core.documents.archive import open_store
from core.engine.runs import cancel_run
from core.messages import DetailText, StoredText, stored_for
from core.models import ACTIVE_RUN_STATES, Notification, Run, RunState
from core.notifications import RUN_TO_CONFIRM, notify, notify_campaign_manager
from plugins.processes.approvals import approval_for, is_approved, record_reminder
from plugins.processes.delivery_start import (
    forget_confirmation,
    needs_confirmation,
    start_delivery,
    starts_by_itself,
)
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Delivery,
    DeliveryChannel,
    DeliveryState,
)
from plugins.processes.models.approvals import DIRECT_MAIL_STEPS
from plugins.processes.notification_mail import send_notifications
from plugins.processes.process_runs import COMPLETED_RUN_STATES
from plugins.processes.run_voiding import void_delivery_runs
from plugins.processes.texts import DELIVERY_STATE_NAMES, STEP_NAMES
from plugins.workflows import TRANSLATIONS
from plugins.workflows._passes import Pass, describe

stored = stored_for(__name__)

REQUIRES = ("plugins.processes",)
"""The bundle of the campaign processes whose tables and services this workflow uses."""

S = DeliveryState
ONLINE = (DeliveryChannel.EMAIL, DeliveryChannel.SMS)
STARTED_BY = "deliveryMgt"
LABELS = {
    "approved": "approved",
    "editing": "back to editing",
    "extraction": "to extraction",
    "started": "started",
    "finished": "finished",
    "paused": "paused",
    "failed": "failed",
    "to_proof": "to proof",
    "cancelled": (
        "{0} run of stopped deliveries cancelled",
        "{0} runs of stopped deliveries cancelled",
    ),
    "reminded": ("{0} reminder", "{0} reminders"),
    "overdue": ("{0} overdue approval", "{0} overdue approvals"),
    "to_confirm": "waiting for a person's confirmation",
}


class DeliveryManagement(Workflow):
    name = "deliveryMgt"
    title = "Jobs on deliveries in campaigns"
    description = (
        "Moves deliveries on after their approvals, starts approved deliveries when their "
        "start time comes, follows their runs to the end, hands letters to the supplier "
        "workflow, reminds reviewers, marks overdue approvals and e-mails the notifications."
    )
    default_interval = timedelta(minutes=15)

    def run(self, context) -> str:
        return DeliveryPass(context).run()


class DeliveryPass:
    def __init__(self, context):
        self.context = context
        self.runtime = context.runtime
        self.now = context.now
        self.result = Pass(context, LABELS)

    def run(self) -> str:
        self.apply_answers()
        self.leave_approved()
        self.confirm_due()
        self.start_pending()
        self.follow_runs()
        self.cancel_runs_of_stopped()
        self.remind()
        self.mark_overdue()
        outbox = send_notifications(self.runtime, self.now)
        for problem in outbox.problems:
            self.result.problem(problem)
        return self.result.summary(outbox.summary())

    # --- deliveries ------------------------------------------------------------------------

    def deliveries(self, *states: DeliveryState, online: bool | None = None) -> list[int]:
        query = select(Delivery.id).where(Delivery.state.in_(states)).order_by(Delivery.id)
        if online is not None:
            channels = Delivery.channel.in_(ONLINE)
            query = query.where(channels if online else ~channels)
        with self.runtime.database.session() as session:
            return list(session.scalars(query))

    def each(self, ids: list[int], handle: Callable[[Session, Delivery], None]) -> None:
        for delivery_id in ids:
            with (
                self.result.handling(stored("delivery {id}", id=str(delivery_id))),
                self.runtime.database.session() as session,
            ):
                delivery = session.get(Delivery, delivery_id)
                if delivery is not None:
                    handle(session, delivery)

    def move(self, delivery: Delivery, state: DeliveryState, counter: str | None = None) -> None:
        """The state change is noted at the moment it is made, not when the pass began: a
        run is taken up as the delivery's only if it was created after that moment."""
        before = delivery.state
        delivery.move_to(state, self.runtime.clock.now())
        if counter:
            self.result.count(
                counter,
                stored(
                    "{delivery}: {before} → {state}",
                    delivery=describe(delivery),
                    before=DELIVERY_STATE_NAMES[before],
                    state=DELIVERY_STATE_NAMES[state],
                ),
            )

    def due(self, delivery: Delivery) -> bool:
        return delivery.planned_start_at is None or delivery.planned_start_at <= self.now

    def apply_answers(self) -> None:
        """Answers move deliveries on: every step before the start approved, a rejected
        step back to editing; a rejected file to a new extraction, an approved one to its
        proof when it needs one; a rejected proof back to submission."""
        ids = self.deliveries(S.TO_VALIDATE, S.FILE_TO_APPROVE, S.PROOF_TO_VALIDATE)
        self.each(ids, self._apply_answers)

    def _apply_answers(self, session: Session, delivery: Delivery) -> None:
        if delivery.state is S.TO_VALIDATE:
            verdict = before_start_verdict(session, delivery.id)
            if verdict is ApprovalState.APPROVED:
                self.move(delivery, S.APPROVED, "approved")
            elif verdict is ApprovalState.REJECTED:
                self.move(delivery, S.EDITING, "editing")
        elif delivery.state is S.FILE_TO_APPROVE:
            extraction = approval_for(session, delivery.id, ApprovalStep.EXTRACTION)
            if extraction is not None and extraction.state is ApprovalState.REJECTED:
                self.void_rejected_file(session, delivery, extraction)
                self.move(delivery, S.EXTRACTION_PENDING, "extraction")
            elif delivery.proof_required and is_approved(
                session, delivery.id, ApprovalStep.EXTRACTION
            ):
                self.move(delivery, S.PROOF_TO_SUBMIT, "to_proof")
        else:
            proof = approval_for(session, delivery.id, ApprovalStep.PROOF)
            if proof is not None and proof.state is ApprovalState.REJECTED:
                self.move(delivery, S.PROOF_TO_SUBMIT, "to_proof")

    def void_rejected_file(self, session: Session, delivery: Delivery, answer) -> None:
        """The rejected file's run is voided with the move back to extraction: its letters
        leave the archive and its counts the books, so the next extraction is counted
        alone."""
        reason = f"extraction file rejected (round {answer.round})"
        if answer.comment:
            reason += f": {answer.comment}"
        stores = partial(open_store, self.runtime.plugins, self.runtime.settings)
        for number in void_delivery_runs(
            session,
            stores,
            delivery.id,
            now=self.now,
            by=STARTED_BY,
            reason=reason,
            plugins=self.runtime.plugins,
        ):
            voided = {"delivery": describe(delivery), "number": str(number)}
            self.result.log(
                stored(
                    "{delivery}: run #{number} voided (extraction file rejected in round "
                    "{round}: {comment})",
                    round=str(answer.round),
                    comment=answer.comment,
                    **voided,
                )
                if answer.comment
                else stored(
                    "{delivery}: run #{number} voided (extraction file rejected in round {round})",
                    round=str(answer.round),
                    **voided,
                )
            )

    def leave_approved(self) -> None:
        """Approved online deliveries wait for their start as pending confirmation; approved
        letters go to extraction (the campaign-jobs workflow) when their start time comes."""
        self.each(self.deliveries(S.APPROVED), self._leave_approved)

    def _leave_approved(self, session: Session, delivery: Delivery) -> None:
        if delivery.channel.online:
            self.move(delivery, S.PENDING_CONFIRMATION)
            if needs_confirmation(delivery):
                self.ask_for_confirmation(session, delivery)
        elif self.due(delivery):
            self.move(delivery, S.EXTRACTION_PENDING, "extraction")

    def ask_for_confirmation(self, session: Session, delivery: Delivery) -> None:
        """Approved: it waits for its campaign's manager to confirm its start with the
        recipients in front of them, and they are told."""
        notify_campaign_manager(
            session,
            delivery.campaign,
            kind="delivery_to_confirm",
            subject=stored(
                "Confirm the start: {delivery} ({campaign})",
                delivery=delivery.label,
                campaign=delivery.campaign.name,
            ),
            body=stored(
                "The delivery is approved. It starts only when a person confirms its start in "
                "the panel with the number of its recipients in front of them: confirmed "
                "before its planned start, it starts by itself at that time; otherwise at once."
            ),
            now=self.now,
            about=("delivery", delivery.id),
        )
        self.result.count(
            "to_confirm", stored("{delivery} waits for confirmation", delivery=describe(delivery))
        )

    def confirm_due(self) -> None:
        """An online delivery whose start time has come, whose start is approved and whose
        approvals were complete before that time is claimed for starting (a conditional
        update, committed before the run starts). Any other waits for a person."""
        self.each(self.deliveries(S.PENDING_CONFIRMATION), self._confirm_due)

    def _confirm_due(self, session: Session, delivery: Delivery) -> None:
        if (
            self.due(delivery)
            and starts_by_itself(session, delivery)
            and is_approved(session, delivery.id, ApprovalStep.START)
        ):
            self.move(delivery, S.START_PENDING)

    def start_pending(self) -> None:
        """Deliveries claimed for starting, by this pass or by a person's confirmation whose
        own start did not finish."""
        for delivery_id in self.deliveries(S.START_PENDING):
            with self.result.handling(stored("delivery {id}", id=str(delivery_id))):
                self._start(delivery_id)

    def _start(self, delivery_id: int) -> None:
        outcome = start_delivery(self.runtime, delivery_id, STARTED_BY)
        if outcome.error is not None:
            self.result.fail_delivery(
                delivery_id, stored("its run cannot start: {error}", error=outcome.error)
            )
            return
        started = outcome.started
        if started is None:
            return
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            if started.run_id is None:
                self.result.log(
                    stored(
                        "{delivery} waits: {reason}",
                        delivery=describe(delivery),
                        reason=started.waiting,
                    )
                )
                return
            text = (
                "{delivery}: started run #{number}"
                if started.new
                else "{delivery}: took up run #{number}"
            )
            self.result.count(
                "started", stored(text, delivery=describe(delivery), number=str(started.number))
            )

    def follow_runs(self) -> None:
        """Online deliveries follow their latest run: finished or failed with it, paused
        while it is cancelled, in progress again when it is resumed."""
        ids = self.deliveries(S.IN_PROGRESS, S.PAUSED, online=True)
        for delivery_id in ids:
            with self.result.handling(stored("delivery {id}", id=str(delivery_id))):
                self._follow(delivery_id)

    def _follow(self, delivery_id: int) -> None:
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            run = session.scalar(
                select(Run)
                .where(Run.delivery_id == delivery_id, Run.dry_run.is_(False))
                .order_by(Run.id.desc())
                .limit(1)
            )
            if run is None:
                self.result.log(
                    stored(
                        "{delivery} is {state} but has no run",
                        delivery=describe(delivery),
                        state=DELIVERY_STATE_NAMES[delivery.state],
                    )
                )
                return
            if run.targeted_at is not None and delivery.analysed_at is None:
                delivery.analysed_at = run.targeted_at
            if run.state in COMPLETED_RUN_STATES:
                if delivery.state is S.PAUSED:
                    self.move(delivery, S.IN_PROGRESS)
                self.move(delivery, S.FINISHED, "finished")
            elif run.state is RunState.CANCELLED and run.confirmed_at is None:
                self._confirm_again(session, delivery)
            elif run.state is RunState.AWAITING_CONFIRMATION and run.started_by == STARTED_BY:
                self._confirm_run(session, delivery, run)
            elif run.state is RunState.CANCELLED and delivery.state is S.IN_PROGRESS:
                self.move(delivery, S.PAUSED, "paused")
            elif run.state in ACTIVE_RUN_STATES and delivery.state is S.PAUSED:
                self.move(delivery, S.IN_PROGRESS)
            failed = run.state is RunState.FAILED
        if failed:
            self.result.fail_delivery(
                delivery_id,
                stored(
                    "run #{number} failed: {error}",
                    number=str(run.number),
                    error=DetailText(run.error or ""),
                ),
            )

    def _confirm_again(self, session: Session, delivery: Delivery) -> None:
        """A run discarded or cancelled before anyone confirmed its count sent nothing: the
        delivery waits for a person's confirmation again, which starts a new analysis."""
        forget_confirmation(delivery)
        delivery.started_at = None
        self.move(delivery, S.PENDING_CONFIRMATION)
        self.ask_for_confirmation(session, delivery)

    def _confirm_run(self, session: Session, delivery: Delivery, run: Run) -> None:
        """A run this workflow started waits for a person's confirmation of its count (it
        would reach more than the count confirmed ahead, or its start was confirmed at once
        and the queue took it up only here): the manager is told once."""
        told = session.scalar(
            select(Notification.id)
            .where(
                Notification.kind == RUN_TO_CONFIRM,
                Notification.object_type == "run",
                Notification.object_id == run.id,
            )
            .limit(1)
        )
        if told is not None:
            return
        reached = run.targeted - run.held_out - run.skipped
        confirmed = run.config.get("confirmed_up_to")
        body = (
            stored(
                "The run would reach {reached} recipients, more than the {confirmed} confirmed "
                "before the start. It sends nothing until a person confirms the new number on "
                "the run's page.",
                reached=reached,
                confirmed=confirmed,
            )
            if confirmed is not None
            else stored(
                "The run would reach {reached} recipients. It sends nothing until a person "
                "confirms that number on the run's page.",
                reached=reached,
            )
        )
        notify_campaign_manager(
            session,
            delivery.campaign,
            kind=RUN_TO_CONFIRM,
            subject=stored(
                "Confirm the send: {delivery} ({campaign}), run #{number}",
                delivery=delivery.label,
                campaign=delivery.campaign.name,
                number=str(run.number),
            ),
            body=body,
            now=self.now,
            about=("run", run.id),
        )
        self.result.count(
            "to_confirm",
            stored(
                "{delivery}: run #{number} would reach {reached} recipients; waits for "
                "confirmation",
                delivery=describe(delivery),
                number=str(run.number),
                reached=reached,
            ),
        )

    def cancel_runs_of_stopped(self) -> None:
        """A delivery stopped by a person takes its run with it."""
        with self.runtime.database.session() as session:
            runs = session.execute(
                select(Run.id, Run.number, Delivery.id.label("delivery_id"))
                .join(Delivery, Run.delivery_id == Delivery.id)
                .where(
                    Delivery.state == S.STOPPED,
                    Run.state.in_(
                        [
                            RunState.QUEUED,
                            RunState.TARGETING,
                            RunState.AWAITING_CONFIRMATION,
                            RunState.RUNNING,
                        ]
                    ),
                )
                .order_by(Run.id)
            ).all()
        for run in runs:
            with self.result.handling(stored("run {id}", id=str(run.id))):
                cancel_run(self.runtime, run.id)
                self.result.count(
                    "cancelled",
                    stored(
                        "delivery {id} is stopped: run #{number} cancelled",
                        id=str(run.delivery_id),
                        number=str(run.number),
                    ),
                )

    # --- approvals -------------------------------------------------------------------------

    def pending_approvals(self, *conditions) -> list[int]:
        with self.runtime.database.session() as session:
            return list(
                session.scalars(
                    select(Approval.id)
                    .where(
                        Approval.state == ApprovalState.PENDING,
                        Approval.deadline_at.is_not(None),
                        *conditions,
                    )
                    .order_by(Approval.id)
                )
            )

    def remind(self) -> None:
        """Once per round, ``approval_reminder`` (one day) before the deadline, unless the
        round was submitted later than that."""
        lead = self.runtime.settings.approval_reminder
        ids = self.pending_approvals(
            Approval.reminders_sent == 0,
            Approval.deadline_at > self.now,
            Approval.deadline_at <= self.now + lead,
        )
        for approval_id in ids:
            with (
                self.result.handling(stored("approval {id}", id=str(approval_id))),
                self.runtime.database.session() as session,
            ):
                approval = session.get(Approval, approval_id)
                if approval.submitted_at >= approval.deadline_at - lead:
                    continue
                record_reminder(session, approval, self.now)
                self.result.count(
                    "reminded", stored("reminded: {approval}", approval=about(approval))
                )

    def mark_overdue(self) -> None:
        """A round past its deadline without an answer is marked once, and its submitter and
        the campaign's manager are told; reviewers may still answer."""
        ids = self.pending_approvals(
            Approval.overdue_at.is_(None), Approval.deadline_at <= self.now
        )
        for approval_id in ids:
            with (
                self.result.handling(stored("approval {id}", id=str(approval_id))),
                self.runtime.database.session() as session,
            ):
                self._mark_overdue(session, session.get(Approval, approval_id))

    def _mark_overdue(self, session: Session, approval: Approval) -> None:
        approval.overdue_at = self.now
        campaign = approval.delivery.campaign
        message = {
            "kind": "approval_overdue",
            "subject": stored("Overdue: approval of the {approval}", approval=about(approval)),
            "body": stored("The deadline was {deadline}.", deadline=approval.deadline_at),
            "now": self.now,
            "about": ("delivery", approval.delivery_id),
        }
        informed = {approval.submitted_by_id, campaign.manager_id} - {None}
        if informed:
            notify(session, users=sorted(informed), **message)
        else:
            notify_campaign_manager(session, campaign, **message)
        self.result.count("overdue", stored("overdue: {approval}", approval=about(approval)))


def about(approval: Approval) -> StoredText:
    return stored(
        "{step} step of {delivery}",
        step=STEP_NAMES[approval.step],
        delivery=describe(approval.delivery),
    )


def before_start_verdict(session: Session, delivery_id: int) -> ApprovalState:
    """Rejected when a step before the start was rejected, approved when every such step is
    approved or automatic, else pending."""
    approvals = session.scalars(
        select(Approval).where(
            Approval.delivery_id == delivery_id, Approval.step.not_in(DIRECT_MAIL_STEPS)
        )
    ).all()
    if any(approval.state is ApprovalState.REJECTED for approval in approvals):
        return ApprovalState.REJECTED
    if all(
        approval.mode is ApprovalMode.AUTOMATIC or approval.state is ApprovalState.APPROVED
        for approval in approvals
    ):
        return ApprovalState.APPROVED
    return ApprovalState.PENDING


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(DeliveryManagement)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
