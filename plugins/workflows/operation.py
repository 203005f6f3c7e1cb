"""operationMgt, "Campaign jobs": the runs behind the campaign processes.

- **File extraction**: a letter pending extraction gets its run (targeting and the
  delivery's action into the ledger); when the run ends the file waits for its approval
  (``file_to_approve``, extraction step submitted), or the delivery fails with the reason.
- **Targeting and content**: a delivery waiting for a manual targeting or content approval
  gets a dry run once per round, so its reviewers approve counts and the content rendered
  for sample recipients, not a guess; a manual budget step is asked once that analysis is
  done, with the cost it gives.
- **Recurring templates**: a schedule line "Name #n" per schedule date up to the template's
  create-in-advance horizon, and at its date (approved if it has to be) a run of the
  template's campaign.
- **Periodic templates**: at a line's date a whole new campaign copied from the template,
  its deliveries submitted for approval: from there on it is handled like any other.
- **States**: tasks move by their dates, campaigns by what their deliveries, runs and tasks
  did (``plugins.processes.campaign_states``).

At most ``CAMPAIGN_CONCURRENT_JOBS`` of the runs this workflow started are active at once;
the others wait for a later pass. Every run is started through
``plugins.processes.process_runs``, so a pass that dies after starting one finds it again
instead of starting a second.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import Workflow, hookimpl
from core.engine.campaigns import copy_campaign
from core.engine.runs import CAMPAIGN_STATUS_NAMES, CampaignClosedError, RunError
from core.messages import DetailText, StoredText, english_plural, stored_for
from core.models import CampaignStatus, Run, RunState
from core.notifications import RUN_TO_CONFIRM, notify_campaign_manager
from plugins.processes.approvals import (
    Reviewers,
    approval_for,
    budget_waits_for_analysis,
    configure,
    submit,
    submit_for_approval,
)
from plugins.processes.campaign_states import update_campaign_states, update_task_states
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    CampaignTemplate,
    Delivery,
    DeliveryState,
    OccurrenceState,
    Task,
    TemplateKind,
    TemplateOccurrence,
)
from plugins.processes.process_runs import COMPLETED_RUN_STATES, active_runs_started_by, start_once
from plugins.processes.texts import TASK_STATE_NAMES
from plugins.workflows import TRANSLATIONS
from plugins.workflows._passes import Pass, describe

stored = stored_for(__name__)

REQUIRES = ("plugins.processes",)
"""The bundle of the campaign processes whose tables and services this workflow uses."""

STARTED_BY = "operationMgt"
LATE = timedelta(days=1)
"""A schedule date more than this far in the past gets no new line, and a line that needed
an approval and has none this long after its date is skipped."""
LABELS = {
    "extracting": ("{0} extraction run started", "{0} extraction runs started"),
    "extracted": ("{0} file to approve", "{0} files to approve"),
    "analysing": ("{0} targeting dry run started", "{0} targeting dry runs started"),
    "budgets": ("{0} budget approval asked", "{0} budget approvals asked"),
    "lines": ("{0} schedule line created", "{0} schedule lines created"),
    "runs": ("{0} recurring run started", "{0} recurring runs started"),
    "campaigns": ("{0} periodic campaign created", "{0} periodic campaigns created"),
    "skipped": ("{0} line skipped", "{0} lines skipped"),
    "failed": "failed",
    "tasks": ("{0} task moved", "{0} tasks moved"),
    "campaign_states": ("{0} campaign moved", "{0} campaigns moved"),
}


class OperationManagement(Workflow):
    name = "operationMgt"
    title = "Campaign jobs"
    description = (
        "Runs campaign jobs (the extraction of letters, targeting for approval) and creates "
        "the runs of recurring campaign templates and the campaigns of periodic ones."
    )
    default_interval = timedelta(minutes=15)

    def run(self, context) -> str:
        return OperationPass(context).run()


class OperationPass:
    def __init__(self, context):
        self.runtime = context.runtime
        self.now = context.now
        self.result = Pass(context, LABELS)
        self.limit = self.runtime.settings.concurrent_jobs
        with self.runtime.database.session() as session:
            self.active = active_runs_started_by(session, STARTED_BY)

    def run(self) -> str:
        self.extract()
        self.analyse()
        self.create_lines()
        self.start_lines()
        self.close_unsent_lines()
        self.update_states()
        return self.result.summary(
            english_plural(
                "{0} job running, at most {1}",
                "{0} jobs running, at most {1}",
                self.active,
                self.limit,
            )
        )

    # --- runs ------------------------------------------------------------------------------

    def full(self) -> StoredText | None:
        """Why no further run may start now, if none may."""
        if self.active < self.limit:
            return None
        return stored.plural(
            "{count} campaign job is running, at most {limit} at once (CAMPAIGN_CONCURRENT_JOBS)",
            "{count} campaign jobs are running, at most {limit} at once (CAMPAIGN_CONCURRENT_JOBS)",
            count=self.active,
            limit=self.limit,
        )

    def start(
        self,
        what: StoredText,
        campaign_id: int,
        since: datetime | None,
        counter: str,
        *,
        started_by: str = STARTED_BY,
        match_started_by: bool = False,
        delivery_id: int | None = None,
        dry_run: bool = False,
        allow_parallel: bool = False,
        confirmed_by: str | None = None,
    ) -> Run | None:
        """The owner's run since ``since``, started when there is none and a job may start;
        None while it waits. A campaign that cannot start raises ``RunError``."""
        started = start_once(
            self.runtime,
            campaign_id,
            since,
            started_by,
            delivery_id=delivery_id,
            dry_run=dry_run,
            allow_parallel=allow_parallel,
            match_started_by=match_started_by,
            wait_reason=self.full,
            confirmed_by=confirmed_by,
        )
        if started.run_id is None:
            self.result.log(stored("{what} waits: {reason}", what=what, reason=started.waiting))
            return None
        if started.new:
            self.active += 1
            self.result.count(
                counter,
                stored("{what}: run #{number} started", what=what, number=str(started.number)),
            )
        with self.runtime.database.session() as session:
            return session.get(Run, started.run_id)

    def extract(self) -> None:
        with self.runtime.database.session() as session:
            ids = list(
                session.scalars(
                    select(Delivery.id)
                    .where(Delivery.state == DeliveryState.EXTRACTION_PENDING)
                    .order_by(Delivery.id)
                )
            )
        for delivery_id in ids:
            with self.result.handling(stored("delivery {id}", id=str(delivery_id))):
                self._extract(delivery_id)

    def _extract(self, delivery_id: int) -> None:
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            what, campaign_id = describe(delivery), delivery.campaign_id
            since = delivery.state_changed_at
        try:
            run = self.start(
                what,
                campaign_id,
                since,
                "extracting",
                delivery_id=delivery_id,
                confirmed_by=f"{STARTED_BY}:approved delivery {delivery_id}",
            )
        except RunError as exc:
            self.result.fail_delivery(
                delivery_id, stored("its extraction cannot start: {error}", error=exc.text)
            )
            return
        if run is None:
            return
        if run.state is RunState.CANCELLED:
            self.result.log(
                stored(
                    "{what} waits: its extraction run #{number} was cancelled",
                    what=what,
                    number=str(run.number),
                )
            )
        elif run.state is RunState.FAILED:
            self.result.fail_delivery(
                delivery_id,
                stored(
                    "its extraction run #{number} failed: {error}",
                    number=str(run.number),
                    error=DetailText(run.error or ""),
                ),
            )
        elif run.state in COMPLETED_RUN_STATES and run.done == 0:
            self.result.fail_delivery(
                delivery_id,
                stored(
                    "its extraction run #{number} found nobody to write to",
                    number=str(run.number),
                ),
            )
        elif run.state in COMPLETED_RUN_STATES:
            with self.runtime.database.session() as session:
                delivery = session.get(Delivery, delivery_id)
                delivery.analysed_at = delivery.analysed_at or run.targeted_at
                delivery.move_to(DeliveryState.FILE_TO_APPROVE, self.now)
                submit(session, delivery, ApprovalStep.EXTRACTION, self.now)
                self.result.count(
                    "extracted",
                    stored.plural(
                        "{what}: {count} letter extracted by run #{number}",
                        "{what}: {count} letters extracted by run #{number}",
                        what=what,
                        count=run.done,
                        number=str(run.number),
                    ),
                )

    def analyse(self) -> None:
        """A dry run per round of a manual targeting or content approval, started after
        submission (one for both when they wait together)."""
        with self.runtime.database.session() as session:
            waiting = session.execute(
                select(Delivery.id, Delivery.campaign_id, Approval.submitted_at)
                .join(Approval, Approval.delivery_id == Delivery.id)
                .where(
                    Delivery.state == DeliveryState.TO_VALIDATE,
                    Approval.step.in_([ApprovalStep.TARGETING, ApprovalStep.CONTENT]),
                    Approval.mode == ApprovalMode.MANUAL,
                    Approval.state == ApprovalState.PENDING,
                )
                .order_by(Delivery.id)
            ).all()
        for row in waiting:
            with self.result.handling(stored("delivery {id}", id=str(row.id))):
                self.start(
                    stored("targeting of delivery {id}", id=str(row.id)),
                    row.campaign_id,
                    row.submitted_at,
                    "analysing",
                    delivery_id=row.id,
                    dry_run=True,
                    allow_parallel=True,
                )
        self.ask_budgets()

    def ask_budgets(self) -> None:
        """A manual budget step is submitted once its delivery's targeting is analysed, so
        its reviewers see the cost the provider's structures give for the analysed count."""
        with self.runtime.database.session() as session:
            ids = list(
                session.scalars(
                    select(Delivery.id)
                    .join(Approval, Approval.delivery_id == Delivery.id)
                    .where(
                        Delivery.state == DeliveryState.TO_VALIDATE,
                        Approval.step == ApprovalStep.BUDGET,
                        Approval.mode == ApprovalMode.MANUAL,
                        Approval.state == ApprovalState.NOT_SUBMITTED,
                    )
                    .order_by(Delivery.id)
                )
            )
        for delivery_id in ids:
            with (
                self.result.handling(stored("delivery {id}", id=str(delivery_id))),
                self.runtime.database.session() as session,
            ):
                if budget_waits_for_analysis(session, delivery_id):
                    continue
                delivery = session.get(Delivery, delivery_id)
                submit(session, delivery, ApprovalStep.BUDGET, self.now)
                self.result.count(
                    "budgets",
                    stored("{delivery}: budget asked after analysis", delivery=describe(delivery)),
                )

    def update_states(self) -> None:
        """Tasks by their dates, then campaigns by their deliveries, runs and tasks."""
        with (
            self.result.handling(stored("states")),
            self.runtime.database.session() as session,
        ):
            today = self.now.date()
            for task, before in update_task_states(session, today, self.now):
                self.result.count(
                    "tasks",
                    stored(
                        "task {id} '{name}': {before} → {state}",
                        id=str(task.id),
                        name=task.name,
                        before=TASK_STATE_NAMES[before],
                        state=TASK_STATE_NAMES[task.state],
                    ),
                )
            for campaign, before in update_campaign_states(session, today):
                self.result.count(
                    "campaign_states",
                    stored(
                        "campaign '{name}': {before} → {state}",
                        name=campaign.name,
                        before=CAMPAIGN_STATUS_NAMES[before],
                        state=CAMPAIGN_STATUS_NAMES[campaign.status],
                    ),
                )

    # --- campaign templates ----------------------------------------------------------------

    def create_lines(self) -> None:
        with self.runtime.database.session() as session:
            ids = list(
                session.scalars(
                    select(CampaignTemplate.id)
                    .where(
                        CampaignTemplate.active,
                        CampaignTemplate.kind != TemplateKind.UNIQUE,
                    )
                    .order_by(CampaignTemplate.id)
                )
            )
        for template_id in ids:
            with (
                self.result.handling(stored("template {id}", id=str(template_id))),
                self.runtime.database.session() as session,
            ):
                self._create_lines(session, session.get(CampaignTemplate, template_id))

    def _create_lines(self, session: Session, template: CampaignTemplate) -> None:
        """A line per schedule date up to the horizon, after the latest line, never for a
        date more than ``LATE`` in the past; numbered on."""
        lines = template.occurrences
        latest = max((line.planned_at for line in lines), default=None)
        number = max((line.number for line in lines), default=0)
        since = self.now - LATE if latest is None else max(latest, self.now - LATE)
        for planned in template.planned_dates(template.horizon(self.now), since=since):
            if planned == latest:
                continue
            number += 1
            line = TemplateOccurrence.for_template(template, number, planned)
            session.add(line)
            self.result.count(
                "lines", stored("{line}: planned for {planned}", line=line.label, planned=planned)
            )
        session.flush()

    def start_lines(self) -> None:
        with self.runtime.database.session() as session:
            lines = session.execute(
                select(TemplateOccurrence.id, TemplateOccurrence.label, CampaignTemplate.kind)
                .join(CampaignTemplate, TemplateOccurrence.template_id == CampaignTemplate.id)
                .where(
                    CampaignTemplate.active,
                    TemplateOccurrence.planned_at <= self.now,
                    (TemplateOccurrence.state == OccurrenceState.PLANNED)
                    | (
                        (TemplateOccurrence.state == OccurrenceState.STARTED)
                        & (CampaignTemplate.kind == TemplateKind.RECURRING)
                        & TemplateOccurrence.run_id.is_(None)
                    ),
                )
                .order_by(TemplateOccurrence.planned_at, TemplateOccurrence.id)
            ).all()
        for line_id, label, kind in lines:  # a problem names the line as people know it
            with self.result.handling(stored("schedule line {line}", line=label)):
                if kind is TemplateKind.RECURRING:
                    self._start_recurring(line_id)
                else:
                    self._create_periodic(line_id)

    def _may_start(self, line: TemplateOccurrence) -> bool:
        """Planned, due, approved if it has to be (else skipped once ``LATE``), and to be
        started by the workflow (else an operator decides)."""
        if line.to_be_approved and line.approved_at is None:
            if line.planned_at + LATE <= self.now:
                line.state = OccurrenceState.SKIPPED
                self.result.count(
                    "skipped", stored("{line}: skipped, it was never approved", line=line.label)
                )
            return False
        return line.to_be_started

    def _start_recurring(self, line_id: int) -> None:
        with self.runtime.database.session() as session:
            line = session.get(TemplateOccurrence, line_id)
            if line.state is OccurrenceState.PLANNED:
                if not self._may_start(line):
                    return
                since = self.runtime.clock.now()
                claimed = session.execute(
                    update(TemplateOccurrence)
                    .where(
                        TemplateOccurrence.id == line.id,
                        TemplateOccurrence.state == OccurrenceState.PLANNED,
                    )
                    .values(state=OccurrenceState.STARTED, started_at=since)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if not claimed:
                    return
            else:
                since = line.started_at
            label, number = line.label, line.number
            campaign_id = line.template.campaign_id
        # no confirmation: a line is planned (and approved) days ahead, when nobody knows
        # whom its run will reach; the run is analysed now and waits for a person's "send"
        try:
            run = self.start(
                stored("schedule line {line}", line=label),
                campaign_id,
                since,
                "runs",
                started_by=f"{STARTED_BY} #{number}",
                match_started_by=True,
            )
        except CampaignClosedError as exc:  # its date passes without a run, once
            with self.runtime.database.session() as session:
                session.get(TemplateOccurrence, line_id).state = OccurrenceState.SKIPPED
            self.result.count(
                "skipped", stored("{line}: skipped: {reason}", line=label, reason=exc.text)
            )
            return
        if run is not None:
            with self.runtime.database.session() as session:
                line = session.get(TemplateOccurrence, line_id)
                if line.run_id is None and run.confirmed_by is None:
                    notify_campaign_manager(
                        session,
                        line.template.campaign,
                        kind=RUN_TO_CONFIRM,
                        subject=stored(
                            "Confirm the send: {line}, run #{number}",
                            line=label,
                            number=str(run.number),
                        ),
                        body=stored(
                            "The run of the schedule line is being analysed and sends nothing "
                            "until a person confirms the number of recipients it would reach. "
                            "Confirm it on the run's page."
                        ),
                        now=self.now,
                        about=("run", run.id),
                    )
                line.run_id = run.id

    def close_unsent_lines(self) -> None:
        """A recurring line whose run ended before anyone confirmed its count (discarded
        after a day, or by a person) sent nothing: the line is skipped and the campaign's
        manager told, once, so a date that passed without a send does not go unnoticed."""
        with self.runtime.database.session() as session:
            unsent = session.execute(
                select(TemplateOccurrence, Run.number)
                .join(Run, Run.id == TemplateOccurrence.run_id)
                .where(
                    TemplateOccurrence.state == OccurrenceState.STARTED,
                    Run.state == RunState.CANCELLED,
                    Run.confirmed_at.is_(None),
                )
                .order_by(TemplateOccurrence.planned_at, TemplateOccurrence.id)
            ).all()
            for line, number in unsent:
                line.state = OccurrenceState.SKIPPED
                reason = stored(
                    "{line}: not sent, run #{number} ended before anyone confirmed its count",
                    line=line.label,
                    number=str(number),
                )
                notify_campaign_manager(
                    session,
                    line.template.campaign,
                    kind="line_not_sent",
                    subject=reason,
                    body=stored(
                        "Nothing was sent for this date: the run of the schedule line waited "
                        "for a person to confirm the number of recipients and was discarded. "
                        "The next line's run waits for its own confirmation."
                    ),
                    now=self.now,
                    about=("run", line.run_id),
                )
                self.result.count("skipped", reason)

    def _create_periodic(self, line_id: int) -> None:
        """The campaign, its deliveries, tasks and approval settings, and the line's state
        commit together: a pass that dies before creates nothing."""
        with self.runtime.database.session() as session:
            line = session.get(TemplateOccurrence, line_id)
            if not self._may_start(line):
                return
            campaign = copy_periodic_campaign(session, line, self.now)
            claimed = session.execute(  # a person may have skipped it meanwhile (the panel)
                update(TemplateOccurrence)
                .where(
                    TemplateOccurrence.id == line.id,
                    TemplateOccurrence.state == OccurrenceState.PLANNED,
                )
                .values(state=OccurrenceState.STARTED, started_at=self.now, campaign_id=campaign.id)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not claimed:
                session.rollback()
                return
            self.result.count(
                "campaigns",
                stored.plural(
                    "{line}: campaign '{name}' created with {count} delivery",
                    "{line}: campaign '{name}' created with {count} deliveries",
                    line=line.label,
                    name=campaign.name,
                    count=len(campaign.deliveries),
                ),
            )


def copy_periodic_campaign(session: Session, line: TemplateOccurrence, now: datetime):
    """A new campaign named after the line, copied from the template's campaign
    (``copy_campaign``: settings, static records, provider service, manager, estimate) with
    its deliveries (cost types, approval settings, budget) and tasks, their dates moved by
    the line's distance from the template's first date; its deliveries are submitted for
    approval. Without deliveries it has nothing to approve and is created "being edited"."""
    template = line.template
    model = template.campaign
    shift = line.planned_at - template.first_at
    campaign = copy_campaign(session, model, name=line.label)
    campaign.program_id = template.program_id or model.program_id
    campaign.status = CampaignStatus.TO_VALIDATE if model.deliveries else CampaignStatus.EDITING
    campaign.budget_status = model.budget_status
    campaign.commitment_level = model.commitment_level
    campaign.start_date = model.start_date + shift if model.start_date else line.planned_at.date()
    campaign.end_date = model.end_date + shift if model.end_date else None
    for task in model.tasks:
        session.add(
            Task(
                campaign_id=campaign.id,
                name=task.name,
                description=task.description,
                start_date=task.start_date + shift if task.start_date else None,
                end_date=task.end_date + shift if task.end_date else None,
                provider_service_id=task.provider_service_id,
                budget_id=task.budget_id,
                estimated_cost=task.estimated_cost,
                commitment_level=task.commitment_level,
            )
        )
    for original in model.deliveries:
        delivery = Delivery(
            campaign_id=campaign.id,
            label=original.label,
            channel=original.channel,
            action=original.action,
            action_settings=original.action_settings,
            provider_service_id=original.provider_service_id,
            budget_id=original.budget_id,
            planned_start_at=(
                original.planned_start_at + shift if original.planned_start_at else None
            ),
            estimated_cost=original.estimated_cost,
            surcharge=original.surcharge,
            sent_counting=original.sent_counting,
            proof_required=original.proof_required,
            cost_types=list(original.cost_types),
        )
        session.add(delivery)
        session.flush()
        copy_approval_settings(session, original, delivery, now)
        submit_for_approval(session, delivery, now)
    session.flush()
    session.refresh(campaign)
    return campaign


def copy_approval_settings(
    session: Session, original: Delivery, delivery: Delivery, now: datetime
) -> None:
    """The modes and reviewers of the original's steps, in an order the rules accept (the
    targeting step before the budget step that depends on it)."""
    for step in ApprovalStep:
        approval = approval_for(session, original.id, step)
        if approval is None:
            continue
        reviewers = Reviewers.of(
            users=[r.user_id for r in approval.reviewers if r.user_id is not None],
            roles=[r.role for r in approval.reviewers if r.role is not None],
            groups=[r.group_id for r in approval.reviewers if r.group_id is not None],
        )
        configure(session, delivery, step, approval.mode, now, reviewers)


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(OperationManagement)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
