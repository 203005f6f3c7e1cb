"""supplierMgt, "Jobs on service providers": hands an approved letter's file to its provider
and follows up.

For a direct-mail or print delivery whose extraction file is approved (and, if it needs one,
whose proof is approved), one pass:

1. writes the extraction file from the provider's export template (``export_columns``,
   ``file_name_pattern``) with the letters of the extraction run;
2. delivers it to the provider's upload target (``core.uploads.deliver``);
3. e-mails the provider ("router") the notification with the file attached;
4. moves the delivery to ``file_sent``, and on to ``finished`` when letters count as sent on
   confirmation; otherwise the provider's result file finishes it (read from the service's
   inbox folder, or uploaded in the panel: ``plugins.processes.provider_results``).

A delivery that needs a proof gets the router e-mail sent to its proof's reviewers first, and
its proof step submitted. Every step is recorded under the extraction run
(``provider_steps``) before and after it happens, so a second pass skips what is done, and a
step the pass died in the middle of (the e-mail may have gone out) is unclear and waits for a
person's decision (``plugins.processes.provider_steps``) instead of being repeated.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import Workflow, hookimpl
from core.documents.archive import ArchiveIntegrityError, open_store
from core.documents.csv_export import CsvDialect
from core.documents.extraction import ROWS_PER_QUERY, RecordColumns, cell, write_csv
from core.documents.templating import LOCAL_TIME
from core.engine.campaigns import CampaignConfig, build_plugins
from core.engine.context import RunContext
from core.messages import DetailText, ExplainedError, StoredText, english_plural, stored_for
from core.messaging.mail import Attachment, build_message, mailbox, message_id, valid_email
from core.messaging.sending import MaybeSentError, NotSentError
from core.messaging.smtp import Mailer, open_mailer
from core.models import ItemKind, ItemStatus, Run, RunItem
from core.notifications import notify_campaign_manager
from core.plugin_base import SettingsError
from core.plugins import UnknownPluginError
from core.query.entities import ENTITIES
from core.reach import refusals
from core.uploads import UploadError, UploadUnclear, deliver, file_digest
from plugins.processes.approvals import approval_for, configure, is_approved, reviewers_of, submit
from plugins.processes.models import (
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ProviderStep,
    ProviderStepKind,
    ProviderStepStatus,
    SentCounting,
    ServiceProcess,
)
from plugins.processes.process_runs import COMPLETED_RUN_STATES
from plugins.processes.provider_processes import (
    REFERENCE_FIELD,
    ExportColumn,
    ResultFormat,
    check_reference_column,
    export_columns,
    file_name,
    name_values,
    recipients,
    reference,
    router_message,
)
from plugins.processes.provider_results import ResultFileError, import_result_file
from plugins.processes.run_voiding import void_delivery_runs
from plugins.processes.texts import STEP_KIND_NAMES
from plugins.workflows import TRANSLATIONS
from plugins.workflows._passes import Pass

stored = stored_for(__name__)

REQUIRES = ("plugins.processes",)
"""The bundle of the campaign processes whose tables and services this workflow uses."""

S = DeliveryState
KIND = ProviderStepKind
STATUS = ProviderStepStatus
ONLINE = (DeliveryChannel.EMAIL, DeliveryChannel.SMS)
FOLLOWED = (S.FILE_TO_APPROVE, S.PROOF_TO_SUBMIT, S.PROOF_TO_VALIDATE, S.FILE_SENT)
DELIMITER, ENCODING = ";", "utf-8"
PROOF_PREFIX = "[Proof] "

TO_PROVIDER = (KIND.UPLOAD, KIND.ROUTER_EMAIL)
"""The steps that hand a file to its provider: after one, its letters are on their way."""
HANDED_ON = (*TO_PROVIDER, KIND.PROOF_EMAIL)
"""The steps after which the file in hand is the one that left: a lost file is not made again."""
MOVES_PER_PASS = 4
"""A delivery goes through at most this many states in one pass (proof, send, finish)."""
PROVIDER_FILES = "provider"
"""The run files of a delivery's extraction files (``provider/NAME``)."""
LABELS = {
    "extracted": ("{0} extraction file written", "{0} extraction files written"),
    "uploaded": "uploaded",
    "emailed": ("{0} router e-mail sent", "{0} router e-mails sent"),
    "proofs": ("{0} proof submitted", "{0} proofs submitted"),
    "sent": ("{0} file sent", "{0} files sent"),
    "released": "released without a provider",
    "finished": "finished",
    "extracted_again": "extracted again (refused since the extraction)",
    "results": ("{0} result file imported", "{0} result files imported"),
    "rejected": ("{0} result file refused", "{0} result files refused"),
    "unclear": ("{0} unclear step", "{0} unclear steps"),
}


class SupplierManagement(Workflow):
    name = "supplierMgt"
    title = "Jobs on service providers"
    description = (
        "After a letter's file is approved: writes the provider's extraction file, uploads "
        "it, e-mails the provider with the file attached, and reads the provider's result "
        "file into the ledger and the real cost."
    )
    default_interval = timedelta(minutes=15)

    def run(self, context) -> str:
        return SupplierPass(context).run()


@dataclass(frozen=True)
class Job:
    """What one delivery's follow-up needs, read once per step."""

    delivery_id: int
    label: str
    state: DeliveryState
    campaign_id: int
    campaign_name: str
    sent_counting: SentCounting
    proof_required: bool
    planned_start_at: datetime | None
    run: Run | None
    process: ServiceProcess | None
    provider: str
    provider_email: str | None
    service: str

    @property
    def what(self) -> StoredText:
        return stored(
            "delivery {id} '{label}' of '{campaign}'",
            id=str(self.delivery_id),
            label=self.label,
            campaign=self.campaign_name,
        )

    def key(self, kind: ProviderStepKind, suffix: str = "") -> str:
        return f"run-{self.run.id}/{kind}{suffix}"


@dataclass(frozen=True)
class Extracted:
    path: Path
    name: str
    rows: int


class SupplierPass:
    def __init__(self, context):
        self.runtime = context.runtime
        self.now = context.now
        self.result = Pass(context, LABELS)
        self._mailer: Mailer | None = None

    def run(self) -> str:
        try:
            with self.runtime.database.session() as session:
                ids = list(
                    session.scalars(
                        select(Delivery.id)
                        .where(
                            Delivery.state.in_(FOLLOWED),
                            Delivery.channel.not_in(ONLINE),
                        )
                        .order_by(Delivery.id)
                    )
                )
            for delivery_id in ids:
                with self.result.handling(stored("delivery {id}", id=str(delivery_id))):
                    for _ in range(MOVES_PER_PASS):
                        if not self.step(self.job(delivery_id)):
                            break
            self.read_inboxes()
        finally:
            if self._mailer is not None:
                self._mailer.close()
        return self.result.summary()

    @property
    def mailer(self) -> Mailer:
        if self._mailer is None:
            self._mailer = open_mailer(self.runtime.settings)
        return self._mailer

    def job(self, delivery_id: int) -> Job:
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            service = delivery.provider_service
            run = session.scalar(
                select(Run)
                .where(
                    Run.delivery_id == delivery_id,
                    Run.dry_run.is_(False),
                    Run.superseded_at.is_(None),
                    Run.state.in_(COMPLETED_RUN_STATES),
                )
                .order_by(Run.id.desc())
                .limit(1)
            )
            return Job(
                delivery_id=delivery.id,
                label=delivery.label,
                state=delivery.state,
                campaign_id=delivery.campaign_id,
                campaign_name=delivery.campaign.name,
                sent_counting=delivery.sent_counting,
                proof_required=delivery.proof_required,
                planned_start_at=delivery.planned_start_at,
                run=run,
                process=service.process if service is not None else None,
                provider=service.provider.name if service is not None else "",
                provider_email=service.provider.email if service is not None else None,
                service=service.name if service is not None else "",
            )

    def step(self, job: Job) -> bool:
        """Take the delivery one state further if it may go; whether it moved."""
        with self.runtime.database.session() as session:
            extraction_approved = is_approved(session, job.delivery_id, ApprovalStep.EXTRACTION)
            proof_approved = is_approved(session, job.delivery_id, ApprovalStep.PROOF)
        if job.state is S.FILE_TO_APPROVE and extraction_approved and not job.proof_required:
            return self.send(job)
        if job.state is S.PROOF_TO_VALIDATE and proof_approved:
            return self.send(job)
        if job.state is S.PROOF_TO_SUBMIT:
            return self.submit_proof(job)
        if job.state is S.FILE_SENT:
            return self.confirm(job)
        return False

    def move(self, job: Job, *states: DeliveryState, counter: str, what: StoredText) -> None:
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, job.delivery_id)
            for state in states:
                delivery.move_to(state, self.now)
        self.result.count(counter, stored("{delivery}: {what}", delivery=job.what, what=what))

    # --- sending ---------------------------------------------------------------------------

    def send(self, job: Job) -> bool:
        if job.process is None:
            states = [S.FILE_SENT] + ([S.FINISHED] if self.on_confirmation(job) else [])
            self.move(
                job, *states, counter="released", what=stored("no provider process: released")
            )
            return False
        to = recipients(job.process, job.provider_email)
        if not job.process.upload_target and not to:
            raise ExplainedError(
                stored(
                    "service '{service}' has neither an upload target nor an address to "
                    "e-mail: the file cannot reach the provider",
                    service=job.service,
                )
            )
        if not self.handed_on(job, TO_PROVIDER) and self.extract_again_without_refusals(job):
            return False
        extracted = self.extraction(job)
        location = None
        if job.process.upload_target:
            location = self.upload(job, extracted)
            if location is None:
                return False
        if to and not self.email(job, extracted, KIND.ROUTER_EMAIL, to, location=location):
            return False
        self.move(
            job,
            S.FILE_SENT,
            counter="sent",
            what=stored("{file} sent to {provider}", file=extracted.name, provider=job.provider),
        )
        return True

    def handed_on(self, job: Job, kinds: tuple[ProviderStepKind, ...] = HANDED_ON) -> bool:
        """Whether any of the run's file already left (by default for the provider or its
        reviewers)."""
        with self.runtime.database.session() as session:
            return (
                session.scalar(
                    select(ProviderStep.id)
                    .where(
                        ProviderStep.run_id == job.run.id,
                        ProviderStep.kind.in_(kinds),
                    )
                    .limit(1)
                )
                is not None
            )

    def extract_again_without_refusals(self, job: Job) -> bool:
        """A letter's contact who was blocked or opted out since the file was extracted must
        not get it: before anything reaches the provider, such a file's run is voided and the
        delivery goes back to extraction, whose new file (without them) a person approves
        again. Whether it went back."""
        if job.run is None:
            return False
        refused = self.refused_letters(job)
        if not refused:
            return False
        reason = english_plural(
            "{0} recipient refused letters since the extraction",
            "{0} recipients refused letters since the extraction",
            refused,
        )
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, job.delivery_id)
            stores = partial(open_store, self.runtime.plugins, self.runtime.settings)
            void_delivery_runs(
                session,
                stores,
                job.delivery_id,
                now=self.now,
                by=SupplierManagement.name,
                reason=reason,
                plugins=self.runtime.plugins,
            )
            delivery.move_to(S.EXTRACTION_PENDING, self.now)
            notify_campaign_manager(
                session,
                delivery.campaign,
                kind="extraction_repeated",
                subject=stored(
                    "Extracted again: {delivery} ({campaign})",
                    delivery=job.label,
                    campaign=job.campaign_name,
                ),
                body=stored.plural(
                    "{count} recipient of the approved file was blocked or opted out since it "
                    "was extracted. The file was not sent; the letter is extracted again "
                    "without them, and its new file waits for approval.",
                    "{count} recipients of the approved file were blocked or opted out since "
                    "it was extracted. The file was not sent; the letter is extracted again "
                    "without them, and its new file waits for approval.",
                    count=refused,
                ),
                now=self.now,
                about=("delivery", job.delivery_id),
            )
        self.result.count(
            "extracted_again",
            stored.plural(
                "{delivery}: run #{number} voided, {count} recipient refused letters since "
                "the extraction; extracted again",
                "{delivery}: run #{number} voided, {count} recipients refused letters since "
                "the extraction; extracted again",
                delivery=job.what,
                number=str(job.run.number),
                count=refused,
            ),
        )
        return True

    def refused_letters(self, job: Job) -> int:
        """How many of the run's letters go to a contact who refuses them now."""
        built = build_plugins(self.runtime.plugins, CampaignConfig.from_snapshot(job.run.config))
        service = bool(job.run.config.get("service_communication", False))
        refused = 0
        with self.runtime.database.session() as session:
            context = self.run_context(session, job, built)
            for page in self.letter_pages(session, job):
                loaded = built.datasource.load(context, [item.entity_id for item in page])
                refused += len(
                    refusals(session, loaded.values(), built.action.channel, service=service)
                )
        return refused

    def run_context(self, session: Session, job: Job, built: Any) -> RunContext:
        """The extraction run's context, to load its records as its action did."""
        return RunContext(
            runtime=self.runtime,
            session=session,
            campaign_id=job.campaign_id,
            campaign_name=job.campaign_name,
            run_id=job.run.id,
            channel=built.action.channel,
            entity=built.datasource.entity(),
            started_by=job.run.started_by,
        )

    def letter_pages(self, session: Session, job: Job) -> Iterator[list[Any]]:
        """The letters the run did (id, key, entity id), in ledger order, a page at a time."""
        last = 0
        while True:
            page = session.execute(
                select(RunItem.id, RunItem.key, RunItem.entity_id)
                .where(
                    RunItem.run_id == job.run.id,
                    RunItem.kind != ItemKind.GROUP,
                    RunItem.status == ItemStatus.DONE,
                    RunItem.id > last,
                )
                .order_by(RunItem.id)
                .limit(ROWS_PER_QUERY)
            ).all()
            if not page:
                return
            last = page[-1].id
            yield page

    def on_confirmation(self, job: Job) -> bool:
        return SentCounting(job.sent_counting) is SentCounting.ON_CONFIRMATION

    def confirm(self, job: Job) -> bool:
        if self.on_confirmation(job):
            self.move(job, S.FINISHED, counter="finished", what=stored("letters count as sent"))
            return False
        if job.process is None or job.process.result_format is None:
            raise ExplainedError(
                stored(
                    "its letters count by the provider's result file, but its service has no "
                    "result_format"
                )
            )
        return False

    def extraction(self, job: Job) -> Extracted:
        """The extraction file, written once per extraction run and reused after."""
        if job.run is None:
            raise ExplainedError(stored("it has no finished extraction run"))
        key = job.key(KIND.EXTRACTION)
        with self.runtime.database.session() as session:
            step = session.scalar(select(ProviderStep).where(ProviderStep.key == key))
        files = self.runtime.run_files
        if step is not None and step.status is STATUS.DONE:
            name = f"{PROVIDER_FILES}/{step.file_name}"
            path = self.work_path(job, step.file_name)
            with self.runtime.database.session() as session:
                try:
                    files.copy_to(session, job.run.id, name, path)
                    kept = file_digest(path)[1] == step.sha256
                except (OSError, ArchiveIntegrityError):
                    kept = False
            if kept:
                return Extracted(path, step.file_name, step.rows or 0)
            if self.handed_on(job):
                raise ExplainedError(
                    stored(
                        "the extraction file {file} of run {run} is gone or changed since it "
                        "was made and handed on; restore it or extract the delivery again",
                        file=name,
                        run=str(job.run.id),
                    )
                )
        columns = export_columns(job.process)
        if not self.on_confirmation(job):
            check_reference_column(job.process)
        run = job.run
        values = name_values(
            job.campaign_name, job.label, job.delivery_id, run.number, run.id, run.created_at
        )
        name = file_name(job.process.file_name_pattern, values)
        path = self.work_path(job, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = write_csv(
            path,
            [column.header for column in columns],
            self.rows(job, columns),
            CsvDialect(DELIMITER, ENCODING, raw_values=job.process.raw_values),
        )
        sha256 = file_digest(path)[1]
        with self.runtime.database.session() as session:
            files.save_path(session, run.id, f"{PROVIDER_FILES}/{name}", path)
            record = session.scalar(select(ProviderStep).where(ProviderStep.key == key))
            if record is None:
                record = ProviderStep(
                    key=key, delivery_id=job.delivery_id, run_id=run.id, kind=KIND.EXTRACTION
                )
                session.add(record)
            record.status = STATUS.DONE
            record.file_name, record.sha256, record.rows = name, sha256, rows
            record.attempts = (record.attempts or 0) + 1
            record.started_at = record.finished_at = self.now
            record.describe(
                stored.plural(
                    "{count} letter from run #{number}",
                    "{count} letters from run #{number}",
                    count=rows,
                    number=str(run.number),
                )
            )
        self.result.count(
            "extracted",
            stored.plural(
                "{delivery}: {file} with {count} letter",
                "{delivery}: {file} with {count} letters",
                delivery=job.what,
                file=name,
                count=rows,
            ),
        )
        return Extracted(path, name, rows)

    def work_path(self, job: Job, name: str) -> Path:
        """Where this process renders (or fetches) an extraction file to hand it on; the
        file every machine reads is the run file ``provider/NAME``."""
        return self.runtime.settings.data_dir / "work" / f"run-{job.run.id}" / "provider" / name

    def rows(self, job: Job, columns: list[ExportColumn]) -> Iterator[tuple[str, list[str]]]:
        """Each letter the run did (ledger order), its cells in the template's order."""
        wanted = [
            (index, column.field)
            for index, column in enumerate(columns)
            if column.field != REFERENCE_FIELD
        ]
        built = build_plugins(self.runtime.plugins, CampaignConfig.from_snapshot(job.run.config))
        entity = built.datasource.entity()
        with self.runtime.database.session() as session:
            record_columns = None
            if entity in ENTITIES and wanted:
                record_columns = RecordColumns(
                    entity,
                    [field for _, field in wanted],
                    where="export_columns",
                    numbers=[index for index, _ in wanted],
                )
            context = self.run_context(session, job, built)
            for page in self.letter_pages(session, job):
                found = self.cells(context, built, record_columns, wanted, page)
                for item in page:
                    cells = found.get(item.entity_id)
                    if cells is None:
                        continue
                    by_field = iter(cells)
                    yield (
                        item.key,
                        [
                            reference(job.delivery_id, item.id)
                            if column.field == REFERENCE_FIELD
                            else next(by_field)
                            for column in columns
                        ],
                    )

    def cells(
        self,
        context: RunContext,
        built: Any,
        record_columns: RecordColumns | None,
        wanted: list[tuple[int, str]],
        page: list[Any],
    ) -> dict[int, list[str]]:
        ids = [item.entity_id for item in page]
        if record_columns is not None:
            return record_columns.cells(context.session, ids)
        if not wanted:
            return {entity_id: [] for entity_id in ids}
        loaded = built.datasource.load(context, ids)
        return {
            entity_id: [cell(recipient.data.get(field)) for _, field in wanted]
            for entity_id, recipient in loaded.items()
        }

    # --- steps with an effect outside ------------------------------------------------------

    def claim(self, job: Job, key: str, kind: ProviderStepKind) -> ProviderStep | None:
        """The step's record, claimed for doing it now; None when it is done, or unclear and
        waiting for a person. A claim left by an earlier pass makes the step unclear."""
        with self.runtime.database.session() as session:
            step = session.scalar(select(ProviderStep).where(ProviderStep.key == key))
            if step is None:
                step = ProviderStep(
                    key=key, delivery_id=job.delivery_id, run_id=job.run.id, kind=kind
                )
                session.add(step)
            elif step.status is STATUS.DONE:
                return None
            elif step.status is STATUS.CLAIMED:
                step.status = STATUS.UNCLEAR
                step.describe(
                    stored(
                        "the pass stopped while doing this step; whether it reached the "
                        "provider is unknown"
                    )
                )
                self.unclear(session, step)
                return None
            elif step.status is STATUS.UNCLEAR:
                self.result.log(
                    stored(
                        "{delivery} waits: {step} is unclear: {detail}",
                        delivery=job.what,
                        step=step.key,
                        detail=step.detail_text,
                    )
                )
                return None
            step.status = STATUS.CLAIMED
            step.attempts = (step.attempts or 0) + 1
            step.started_at = self.now
            session.flush()
            return step

    def settle(
        self, step: ProviderStep, status: ProviderStepStatus, detail: StoredText | str, **facts
    ) -> None:
        """``detail``: what happened in the workflow's words, or the error another module
        raised as it is."""
        with self.runtime.database.session() as session:
            record = session.get(ProviderStep, step.id)
            record.status = status
            record.facts = {**(record.facts or {}), **facts}
            record.describe(detail)
            record.finished_at = self.now
            if status is STATUS.UNCLEAR:
                self.unclear(session, record)

    def unclear(self, session: Session, step: ProviderStep) -> None:
        delivery = session.get(Delivery, step.delivery_id)
        notify_campaign_manager(
            session,
            delivery.campaign,
            kind="provider_step_unclear",
            subject=stored(
                "Unclear: {step} of {delivery} ({campaign})",
                step=STEP_KIND_NAMES[step.kind],
                delivery=delivery.label,
                campaign=delivery.campaign.name,
            ),
            body=stored(
                "{detail}. Check with the provider, then say whether it arrived.",
                detail=step.detail_text,
            ),
            now=self.now,
            about=("delivery", delivery.id),
        )
        self.result.count(
            "unclear",
            stored(
                "delivery {id}: {step} unclear: {detail}",
                id=str(delivery.id),
                step=step.key,
                detail=step.detail_text,
            ),
        )

    def upload(self, job: Job, extracted: Extracted) -> str | None:
        """Where the file landed, or None while it has not (tried again next pass)."""
        key = job.key(KIND.UPLOAD)
        with self.runtime.database.session() as session:
            earlier = session.scalar(select(ProviderStep).where(ProviderStep.key == key))
        if earlier is not None and earlier.status is STATUS.DONE:
            return (earlier.facts or {}).get("location", "")
        resend = earlier is not None and earlier.resend
        step = self.claim_upload(job, key, earlier)
        if step is None:
            return None
        try:
            delivered = deliver(
                self.runtime,
                key=f"delivery-{job.delivery_id}/run-{job.run.id}",
                target=job.process.upload_target,
                settings=job.process.upload_settings or {},
                path=extracted.path,
                remote_name=extracted.name,
                manifest={
                    "campaign": job.campaign_name,
                    "delivery": job.label,
                    "rows": extracted.rows,
                },
                run_id=job.run.id,
                resend=resend,
            )
        except UploadUnclear as exc:
            self.settle(step, STATUS.UNCLEAR, str(exc))
            return None
        except (UploadError, SettingsError, UnknownPluginError) as exc:
            self.settle(step, STATUS.FAILED, str(exc))
            self.result.problem(
                stored("{delivery}: upload: {error}", delivery=job.what, error=DetailText(str(exc)))
            )
            return None
        self.settle(
            step,
            STATUS.DONE,
            stored(
                "{file} delivered to {location}",
                file=extracted.name,
                location=delivered.location,
            ),
            location=delivered.location,
            manifest_location=delivered.manifest_location,
            file_delivery_id=delivered.id,
        )
        self.result.count(
            "uploaded",
            stored(
                "{delivery}: {file} to {location}",
                delivery=job.what,
                file=extracted.name,
                location=delivered.location,
            ),
        )
        return delivered.location

    def claim_upload(self, job: Job, key: str, earlier: ProviderStep | None):
        """An upload left claimed is asked again: ``deliver`` keeps its own record of the
        transfer and says whether it is done, under way or unclear."""
        if earlier is not None and earlier.status is STATUS.CLAIMED:
            with self.runtime.database.session() as session:
                record = session.get(ProviderStep, earlier.id)
                record.status = STATUS.FAILED
                record.describe(stored("the pass stopped during the upload"))
        return self.claim(job, key, KIND.UPLOAD)

    def email(
        self,
        job: Job,
        extracted: Extracted,
        kind: ProviderStepKind,
        to: list[str],
        location: str | None = None,
        suffix: str = "",
    ) -> bool:
        """The router e-mail with the file attached, sent once; whether it is sent."""
        values = {
            "campaign": job.campaign_name,
            "delivery": job.label,
            "count": extracted.rows,
            "file": extracted.name,
            "planned_start": local_text(job.planned_start_at),
            "provider": job.provider,
            "service": job.service,
            "date": f"{self.now.astimezone(LOCAL_TIME):%d.%m.%Y}",
            "location": location or "",
        }
        subject, text = router_message(job.process, values)
        if kind is KIND.PROOF_EMAIL:
            subject = PROOF_PREFIX + subject
        step = self.claim(job, job.key(kind, suffix), kind)
        if step is None:
            return self.step_done(job.key(kind, suffix))
        sender = mailbox(self.runtime.settings.mail_from)
        identifier = message_id(
            f"delivery-{job.delivery_id}-{job.key(kind, suffix)}", sender.domain
        )
        message = build_message(
            sender=sender,
            to=to,
            subject=subject,
            message_id=identifier,
            date=self.runtime.clock.now(),
            text=text,
            attachments=[Attachment(extracted.name, extracted.path.read_bytes())],
        )
        try:
            refused = self.mailer.send(message)
        except MaybeSentError as exc:
            self.settle(step, STATUS.UNCLEAR, str(exc), message_id=identifier)
            return False
        except NotSentError as exc:
            self.settle(step, STATUS.FAILED, str(exc), message_id=identifier)
            self.result.problem(
                stored(
                    "{delivery}: {step}: {error}",
                    delivery=job.what,
                    step=STEP_KIND_NAMES[kind],
                    error=DetailText(str(exc)),
                )
            )
            return False
        self.settle(
            step,
            STATUS.DONE,
            stored("sent to {to}", to=", ".join(to)),
            message_id=identifier,
            refused=refused,
        )
        if kind is KIND.ROUTER_EMAIL:
            self.result.count(
                "emailed", stored("{delivery}: e-mail to {to}", delivery=job.what, to=", ".join(to))
            )
        return True

    def step_done(self, key: str) -> bool:
        with self.runtime.database.session() as session:
            status = session.scalar(select(ProviderStep.status).where(ProviderStep.key == key))
        return status is STATUS.DONE

    # --- proof -----------------------------------------------------------------------------

    def submit_proof(self, job: Job) -> bool:
        """The router e-mail to the proof's reviewers, then the proof step submitted. After a
        rejection a new proof waits until the provider's notification was changed."""
        if job.process is None:
            raise ExplainedError(
                stored("a proof is of the e-mail to the provider, and its service has none")
            )
        with self.runtime.database.session() as session:
            approval = approval_for(session, job.delivery_id, ApprovalStep.PROOF)
            if (
                approval is not None
                and approval.state is ApprovalState.REJECTED
                and job.process.updated_at <= approval.answered_at
            ):
                self.result.log(
                    stored(
                        "{delivery} waits: its proof was rejected ({comment}); change the "
                        "provider's notification for a new proof",
                        delivery=job.what,
                        comment=approval.comment or "",
                    )
                )
                return False
            if approval is not None and approval.state is ApprovalState.PENDING:
                delivery = session.get(Delivery, job.delivery_id)
                delivery.move_to(S.PROOF_TO_VALIDATE, self.now)
                return True
            round_ = (approval.round if approval is not None else 0) + 1
        if self.extract_again_without_refusals(job):
            return False
        extracted = self.extraction(job)
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, job.delivery_id)
            approval = approval_for(session, job.delivery_id, ApprovalStep.PROOF) or configure(
                session, delivery, ApprovalStep.PROOF, ApprovalMode.AUTOMATIC, self.now
            )
            to = [
                user.email.strip()
                for user in reviewers_of(session, approval)
                if user.email and valid_email(user.email)
            ]
            decided_by_person = approval.mode is ApprovalMode.MANUAL
        if to:
            if not self.email(job, extracted, KIND.PROOF_EMAIL, to, suffix=f"-{round_}"):
                return False
        elif decided_by_person:  # nobody would approve a proof they never received
            self.result.log(
                stored(
                    "{delivery} waits: no reviewer of its proof has an e-mail address to "
                    "receive it",
                    delivery=job.what,
                )
            )
            return False
        else:
            self.result.log(
                stored(
                    "{delivery}: no reviewer of its proof has an e-mail address", delivery=job.what
                )
            )
        with self.runtime.database.session() as session:
            delivery = session.get(Delivery, job.delivery_id)
            submit(session, delivery, ApprovalStep.PROOF, self.now)
            delivery.move_to(S.PROOF_TO_VALIDATE, self.now)
        self.result.count(
            "proofs",
            stored(
                "{delivery}: proof {round} sent to {to}",
                delivery=job.what,
                round=str(round_),
                to=", ".join(to),
            ),
        )
        return True

    # --- result files ----------------------------------------------------------------------

    def read_inboxes(self) -> None:
        with self.runtime.database.session() as session:
            processes = [
                (process.service_id, process.result_format)
                for process in session.scalars(select(ServiceProcess).order_by(ServiceProcess.id))
                if process.result_format
            ]
        for service_id, raw in processes:
            with self.result.handling(stored("result files of service {id}", id=str(service_id))):
                inbox = self.inbox(service_id, ResultFormat.of(raw))
                for path in sorted(inbox.iterdir()):
                    if is_result_file(path):
                        self.read_result(service_id, path)

    def inbox(self, service_id: int, result_format: ResultFormat) -> Path:
        if result_format.inbox:
            inbox = Path(result_format.inbox)
            if not inbox.is_dir():
                raise ExplainedError(
                    stored("result_format.inbox: {inbox} is not a directory", inbox=str(inbox))
                )
            return inbox
        inbox = self.runtime.settings.data_dir / "provider-results" / f"service-{service_id}"
        inbox.mkdir(parents=True, exist_ok=True)
        return inbox

    def read_result(self, service_id: int, path: Path) -> None:
        try:
            imported = import_result_file(
                self.runtime, path.read_bytes(), path.name, service_id=service_id, by="supplierMgt"
            )
        except ResultFileError as exc:
            moved = move_into(path, path.parent / "rejected")
            moved.with_name(moved.name + ".error.txt").write_text(str(exc) + "\n", "utf-8")
            self.result.count("rejected")
            self.result.problem(
                stored(
                    "result file refused, moved to {path}: {error}", path=str(moved), error=exc.text
                )
            )
            return
        move_into(path, path.parent / "imported")
        if imported.repeated:
            self.result.log(imported.summary())
        else:
            self.result.count(
                "results",
                stored(
                    "delivery {id}: {summary}",
                    id=str(imported.delivery_id),
                    summary=imported.summary(),
                ),
            )


def is_result_file(path: Path) -> bool:
    """A CSV file; hidden files are still being written by whoever delivers them."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() == ".csv"


def move_into(path: Path, directory: Path) -> Path:
    """``path`` moved into ``directory``, under a new name if the name is taken there."""
    directory.mkdir(exist_ok=True)
    target, number = directory / path.name, 1
    while target.exists():
        number += 1
        target = directory / f"{path.stem}-{number}{path.suffix}"
    os.replace(path, target)
    return target


def local_text(moment: datetime | None) -> str:
    return f"{moment.astimezone(LOCAL_TIME):%d.%m.%Y %H:%M}" if moment else ""


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(SupplierManagement)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
