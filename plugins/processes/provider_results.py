"""The provider's result file: which letters it sent and which it could not, and what it
charges. ``import_result_file`` is what the supplier workflow calls for a file found in an
inbox and what the web panel calls for a file a person uploaded.

A result file is a CSV whose rows give each letter's reference (the extraction file's
``@reference`` column), its outcome and optionally a reason and a cost (the service's
``result_format``). It is read whole and checked before anything is written; a problem is
reported with its line, and a file with problems changes nothing. The import then marks the
letters sent or failed in the ledger, recounts the run, sets the delivery's real cost and
finishes the delivery, all in one transaction, recorded under the extraction run so that the
same file imported twice changes nothing and a different second file is refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.ledger import status_counts
from core.messages import ExplainedError, StoredText, stored_for
from core.models import ItemKind, ItemStatus, Run, RunItem, RunState
from core.notifications import notify_campaign_manager
from core.runtime import Runtime
from plugins.processes.models import (
    Delivery,
    DeliveryState,
    ProviderStep,
    ProviderStepKind,
    ProviderStepStatus,
    ServiceProcess,
)
from plugins.processes.process_runs import COMPLETED_RUN_STATES
from plugins.processes.provider_processes import ResultFormat, normalised, one_after_another
from plugins.processes.texts import DELIVERY_STATE_NAMES

stored = stored_for(__name__)
REFERENCE = re.compile(r"^(\d+)-(\d+)$")
SHOWN_PROBLEMS = 10
CENT = Decimal("0.01")
RESULT_STATES = (DeliveryState.FILE_SENT, DeliveryState.FINISHED)
"""A delivery's results are read once its file was sent."""


class ResultFileError(ExplainedError):
    """The file cannot be imported; ``problems`` names each one with its line (a stored text,
    or another module's message as it is), so the workflow's log reads in its reader's
    language."""

    def __init__(self, file_name: str, problems: list[StoredText | str]):
        self.file_name = file_name
        self.problems = problems
        shown = problems[:SHOWN_PROBLEMS]
        more = len(problems) - SHOWN_PROBLEMS
        if more > 0:
            shown = [*shown, stored("and {count} more", count=more)]
        super().__init__(
            stored("{file}: {problems}", file=file_name, problems=one_after_another(shown))
        )


@dataclass(frozen=True)
class ResultRow:
    line: int
    reference: str
    delivery_id: int
    item_id: int
    sent: bool
    outcome: str
    reason: str
    cost: Decimal | None


@dataclass(frozen=True)
class ResultImport:
    delivery_id: int
    file_name: str
    sent: int
    failed: int
    not_reported: int
    real_cost: Decimal | None
    repeated: bool = False
    """The same file had been imported before; nothing changed."""

    def summary(self) -> StoredText:
        if self.repeated:
            return stored("{file} was imported before; nothing changed", file=self.file_name)
        parts = [stored("{sent} sent, {failed} failed", sent=self.sent, failed=self.failed)]
        if self.not_reported:
            parts.append(
                stored.plural(
                    "{count} not reported (it counts as sent)",
                    "{count} not reported (they count as sent)",
                    count=self.not_reported,
                )
            )
        if self.real_cost is not None:
            parts.append(stored("real cost {cost}", cost=self.real_cost))
        return stored("{file}: {parts}", file=self.file_name, parts=parts)


def read_result_file(data: bytes, result_format: ResultFormat, file_name: str) -> list[ResultRow]:
    """Every row of the file, or ResultFileError with every problem and its line."""
    try:
        text = data.decode(result_format.encoding)
    except UnicodeDecodeError as exc:
        problem = stored(
            "not {encoding} text (byte {byte} cannot be read)",
            encoding=result_format.encoding,
            byte=str(exc.start),
        )
        raise ResultFileError(file_name, [problem]) from None
    if "\0" in text:  # PostgreSQL stores no text holding one
        line = text.count("\n", 0, text.index("\0")) + 1
        problem = stored("line {line} holds a NUL character", line=str(line))
        raise ResultFileError(file_name, [problem])
    reader = _csv_lines(
        csv.reader(
            io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=result_format.delimiter
        ),
        file_name,
    )
    header = [cell.strip() for cell in next(reader, [])]
    wanted = {
        "key_column": result_format.key_column,
        "status_column": result_format.status_column,
        "reason_column": result_format.reason_column,
        "cost_column": result_format.cost_column,
    }
    missing = [name for name in wanted.values() if name is not None and name not in header]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        problem = stored(
            "line 1: no column {columns} (the file has {header})",
            columns=listed,
            header=", ".join(header) or stored("no header"),
        )
        raise ResultFileError(file_name, [problem])
    position = {key: header.index(name) for key, name in wanted.items() if name is not None}
    rows: list[ResultRow] = []
    problems: list[StoredText] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        row = _row(line, cells, position, result_format, problems)
        if row is None:
            continue
        if row.reference in seen:
            problems.append(
                stored(
                    "line {line}: reference {reference} was reported in line {first} already",
                    line=str(line),
                    reference=row.reference,
                    first=str(seen[row.reference]),
                )
            )
            continue
        seen[row.reference] = line
        rows.append(row)
    if not rows and not problems:
        problems.append(stored("the file reports no letter"))
    if problems:
        raise ResultFileError(file_name, problems)
    return rows


def _csv_lines(reader: Iterator[list[str]], file_name: str) -> Iterator[list[str]]:
    """The reader's lines; ResultFileError for a line the csv module refuses."""
    try:
        yield from reader
    except csv.Error:  # a field over the csv module's limit
        problem = stored(
            "line {line} cannot be read as CSV: it holds a field longer than 128 KB",
            line=str(reader.line_num),  # type: ignore[attr-defined]
        )
        raise ResultFileError(file_name, [problem]) from None


def _row(
    line: int,
    cells: list[str],
    position: dict[str, int],
    result_format: ResultFormat,
    problems: list[StoredText],
) -> ResultRow | None:
    key = cells[position["key_column"]].strip()
    found = REFERENCE.match(key)
    if found is None:
        problems.append(
            stored(
                "line {line}: {column} '{value}' is not a reference such as '12-3456' (the "
                "extraction file's reference column)",
                line=str(line),
                column=result_format.key_column,
                value=key,
            )
        )
        return None
    outcome = cells[position["status_column"]].strip()
    sent = normalised(outcome) in result_format.sent_values
    failed_values = result_format.failed_values
    if not sent and failed_values and normalised(outcome) not in failed_values:
        problems.append(
            stored(
                "line {line}: {column} '{value}' is neither sent ({sent}) nor failed ({failed})",
                line=str(line),
                column=result_format.status_column,
                value=outcome,
                sent=", ".join(result_format.sent_values),
                failed=", ".join(failed_values),
            )
        )
        return None
    cost = None
    if "cost_column" in position:
        raw = cells[position["cost_column"]].strip()
        try:
            cost = parse_amount(raw)
        except ValueError:
            problems.append(
                stored(
                    "line {line}: {column} '{value}' is not an amount",
                    line=str(line),
                    column=result_format.cost_column,
                    value=raw,
                )
            )
            return None
    reason = cells[position["reason_column"]].strip() if "reason_column" in position else ""
    return ResultRow(line, key, int(found[1]), int(found[2]), sent, outcome, reason, cost)


def parse_amount(text: str) -> Decimal | None:
    """``0,85``, ``1.234,50``, ``0.85`` or nothing."""
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not amount.is_finite():
        raise ValueError(text)
    return amount


def import_result_file(
    runtime: Runtime,
    data: bytes,
    file_name: str,
    *,
    delivery_id: int | None = None,
    service_id: int | None = None,
    by: str | None = None,
) -> ResultImport:
    """Import a result file for ``delivery_id`` (the panel) or for the delivery its references
    name among the deliveries of ``service_id`` (an inbox); see the module."""
    if (delivery_id is None) == (service_id is None):
        raise ValueError("give the delivery or the service the file belongs to")
    with runtime.database.session() as session:
        process = _process(session, delivery_id, service_id, file_name)
        try:
            result_format = ResultFormat.of(process.result_format)
        except ExplainedError as exc:
            raise ResultFileError(file_name, [exc.text]) from None
    rows = read_result_file(data, result_format, file_name)
    named = sorted({row.delivery_id for row in rows})
    if len(named) > 1:
        problem = stored(
            "the references name deliveries {ids}; a result file reports one delivery",
            ids=", ".join(map(str, named)),
        )
        raise ResultFileError(file_name, [problem])
    if delivery_id is not None and named != [delivery_id]:
        problem = stored(
            "the references are of delivery {named}, not of delivery {id}",
            named=str(named[0]),
            id=str(delivery_id),
        )
        raise ResultFileError(file_name, [problem])
    try:
        with runtime.database.session() as session:
            return _import(
                session, runtime, process, named[0], rows, data, file_name, result_format, by
            )
    except IntegrityError:
        problem = stored("another result file of this delivery was imported at the same moment")
        raise ResultFileError(file_name, [problem]) from None


def takes_result_file(session: Session, delivery: Delivery) -> bool:
    """Whether a person may upload the delivery's result file in the panel: a letter whose
    file went to the provider, with no result imported yet, from a service that reports
    results."""
    if delivery.channel.online or delivery.state not in RESULT_STATES:
        return False
    result_format = session.scalar(
        select(ServiceProcess.result_format).where(
            ServiceProcess.service_id == delivery.provider_service_id
        )
    )
    imported = session.scalar(
        select(ProviderStep.id).where(
            ProviderStep.delivery_id == delivery.id,
            ProviderStep.kind == ProviderStepKind.RESULT_FILE,
        )
    )
    return bool(result_format) and imported is None


def _process(
    session: Session, delivery_id: int | None, service_id: int | None, file_name: str
) -> ServiceProcess:
    if delivery_id is not None:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            problem = stored("there is no delivery {id}", id=str(delivery_id))
            raise ResultFileError(file_name, [problem])
        service_id = delivery.provider_service_id
    process = session.scalar(select(ServiceProcess).where(ServiceProcess.service_id == service_id))
    if process is None:
        problem = stored("the delivery's provider service has no process")
        raise ResultFileError(file_name, [problem])
    return process


def _import(
    session: Session,
    runtime: Runtime,
    process: ServiceProcess,
    delivery_id: int,
    rows: list[ResultRow],
    data: bytes,
    file_name: str,
    result_format: ResultFormat,
    by: str | None,
) -> ResultImport:
    now = runtime.clock.now()
    sha256 = hashlib.sha256(data).hexdigest()
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.provider_service_id != process.service_id:
        problem = stored(
            "delivery {id} is not a delivery of this provider service", id=str(delivery_id)
        )
        raise ResultFileError(file_name, [problem])
    if delivery.state not in RESULT_STATES:
        problem = stored(
            "delivery {id} '{label}' is {state}; results are read once its file was sent",
            id=str(delivery_id),
            label=delivery.label,
            state=DELIVERY_STATE_NAMES[delivery.state],
        )
        raise ResultFileError(file_name, [problem])
    extraction = session.scalar(
        select(ProviderStep)
        .where(
            ProviderStep.delivery_id == delivery_id,
            ProviderStep.kind == ProviderStepKind.EXTRACTION,
            ProviderStep.status == ProviderStepStatus.DONE,
        )
        .order_by(ProviderStep.id.desc())
        .limit(1)
    )
    if extraction is None or extraction.run_id is None:
        problem = stored("delivery {id} has no extraction file", id=str(delivery_id))
        raise ResultFileError(file_name, [problem])
    run_id = extraction.run_id
    key = f"run-{run_id}/{ProviderStepKind.RESULT_FILE}"
    earlier = session.scalar(select(ProviderStep).where(ProviderStep.key == key))
    if earlier is not None:
        if earlier.sha256 == sha256:
            return ResultImport(delivery_id, file_name, 0, 0, 0, None, repeated=True)
        problem = stored(
            "delivery {id} has its result already: {file}, imported {at} UTC; a second result "
            "file is refused",
            id=str(delivery_id),
            file=earlier.file_name or "",
            at=f"{earlier.finished_at:%Y-%m-%d %H:%M}",
        )
        raise ResultFileError(file_name, [problem])
    statuses = dict(
        session.execute(
            select(RunItem.id, RunItem.status).where(
                RunItem.run_id == run_id, RunItem.kind != ItemKind.GROUP
            )
        ).all()
    )
    problems: list[StoredText | str] = [
        stored(
            "line {line}: reference {reference} is not a letter of {file}",
            line=str(row.line),
            reference=row.reference,
            file=file_name_of(extraction),
        )
        for row in rows
        if statuses.get(row.item_id) not in (ItemStatus.DONE, ItemStatus.FAILED)
    ]
    if problems:
        raise ResultFileError(file_name, problems)
    changes = []
    for row in rows:
        if row.sent and statuses[row.item_id] is ItemStatus.FAILED:
            changes.append(
                {"id": row.item_id, "status": ItemStatus.DONE, "detail": "provider: sent"}
            )
        elif not row.sent:
            detail = f"provider: {row.outcome}" + (f": {row.reason}" if row.reason else "")
            changes.append({"id": row.item_id, "status": ItemStatus.FAILED, "detail": detail})
    if changes:
        session.execute(update(RunItem), changes)
    _recount(session, run_id)
    sent = sum(1 for row in rows if row.sent)
    failed = len(rows) - sent
    costs = [row.cost for row in rows if row.cost is not None]
    real_cost = sum(costs, Decimal(0)).quantize(CENT) if costs else None
    if real_cost is not None:
        delivery.real_cost = real_cost
    if delivery.state is DeliveryState.FILE_SENT:
        delivery.move_to(DeliveryState.FINISHED, now)
    result = ResultImport(
        delivery_id,
        file_name,
        sent,
        failed,
        max((extraction.rows or 0) - len(rows), 0),
        real_cost,
    )
    step = ProviderStep(
        key=key,
        delivery_id=delivery_id,
        run_id=run_id,
        kind=ProviderStepKind.RESULT_FILE,
        status=ProviderStepStatus.DONE,
        file_name=file_name[:300],
        sha256=sha256,
        rows=len(rows),
        facts={
            "sent": sent,
            "failed": failed,
            "not_reported": result.not_reported,
            "real_cost": str(real_cost) if real_cost is not None else None,
            "imported_by": by,
        },
        attempts=1,
        started_at=now,
        finished_at=now,
    )
    step.describe(result.summary())
    session.add(step)
    session.flush()
    campaign = delivery.campaign
    notify_campaign_manager(
        session,
        campaign,
        kind="provider_result",
        subject=stored(
            "Result of {delivery} ({campaign}): {sent} sent, {failed} failed",
            delivery=delivery.label,
            campaign=campaign.name,
            sent=sent,
            failed=failed,
        ),
        body=result.summary(),
        now=now,
        about=("delivery", delivery_id),
    )
    return result


def file_name_of(step: ProviderStep) -> StoredText | str:
    return step.file_name or stored("the extraction file of run {id}", id=str(step.run_id))


def _recount(session: Session, run_id: int) -> None:
    """The run's done and failed counts from its ledger, and its state from them."""
    counts = status_counts(session, run_id)
    run = session.get(Run, run_id)
    run.done = counts.get(ItemStatus.DONE.value, 0)
    run.failed = counts.get(ItemStatus.FAILED.value, 0)
    if run.state in COMPLETED_RUN_STATES:
        run.state = (
            RunState.COMPLETED_WITH_ERRORS if run.failed or run.unclear else RunState.COMPLETED
        )


__all__ = [
    "ResultFileError",
    "ResultImport",
    "ResultRow",
    "import_result_file",
    "parse_amount",
    "read_result_file",
]
