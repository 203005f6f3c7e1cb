"""Action "print_reports" ("Print reports", in German "Berichte drucken"): a personalised letter
per recipient, filed in the contact's document archive, and one collection file for the print
service.

Each letter is rendered from a report (``core.documents.rendering``) with the recipient's record,
the address block of the report's address pattern, the text blocks it names, the run's date, the
campaign's name and a running number: the recipient's position in the run's ledger, so the
numbers follow the order of the collection file (a skipped recipient leaves its number
unused; a dry run prints "test" letters without numbers).

The archive record and the stored file are the action's only effects, and both are inside
the engine's transaction or keyed by run and recipient: a retried chunk neither archives a
letter twice nor leaves a second file. ``finish`` appends every letter of the run, in ledger
order, page by page to one collection PDF with a CSV manifest beside it, in constant memory
(``PdfCollection``), keeps both as run files (``core.documents.run_files``: a document store every
machine reaches) and hands the collection to a CUPS printer if one is named and ``lp``
exists. Letters that are not archived wait for the collection as run files too, so the
finishing step may run on another machine than the one that rendered them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Row, select

from core import Action, Channel, Outcome, Recipient, hookimpl
from core.documents.archive import archive_document, open_store, read_document
from core.documents.csv_export import open_csv, spreadsheet_dialect
from core.documents.rendering import ReportError, ReportRenderer, contact_fields
from core.documents.templating import LOCAL_TIME
from core.messages import ExplainedError, english_plural, stored_for
from core.models import ArchivedDocument, DocumentKind, ItemStatus, RunItem
from core.plugin_base import DocumentStore
from core.query.entities import get_entity
from core.reach import SkipReason, has_complete_address
from plugins.actions import TRANSLATIONS, print_engine
from plugins.actions.pdf_collection import PdfCollection, count_pages

log = logging.getLogger(__name__)
stored = stored_for(__name__)

PRINTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,126}$")
MANIFEST_COLUMNS = (
    "number",
    "contact_number",
    "name",
    "postcode",
    "city",
    "pages",
    "document_id",
    "sha256",
)
COLLECTION = "collection.pdf"
MANIFEST = "manifest.csv"
MANIFEST_DIALECT = spreadsheet_dialect("de")
"""The print shop opens the manifest in a spreadsheet: German Excel's dialect."""
PRINT_NOTE = "printer.txt"
PRINT_JOB = "print-job.pdf"
"""The local file of the letters a finishing step hands the printer, when it holds fewer than
the collection."""
PRINTER_WAITS = "printer-waiting.json"
"""The ledger rows that had no letter when the printer was last handed the run's letters
(they had failed): a finishing step after a retry prints only those that have one now."""
SPOOL = "letters"
"""Run files of the letters that wait for the collection when they are not archived."""
PAGE = 200
"""Ledger rows read at a time while the collection file is built."""


class PrintParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: str | int = Field(
        description="The report, by name or id; usable for mass print.",
        json_schema_extra={"x-options": "reports"},
    )
    archive: bool = Field(default=True, description="File every letter with its contact.")
    archive_only: bool = Field(
        default=False, description="Only archive: no collection file, nothing printed."
    )
    route_email_preferring_to_email: bool = Field(
        default=False,
        description="Skip recipients who prefer e-mail, so that an e-mail campaign takes them.",
    )
    printer: str | None = Field(
        default=None,
        description="CUPS printer for the collection file (lp -d); ignored where lp is missing.",
    )
    store: str = Field(
        default="filesystem",
        description="Document store for the archive.",
        json_schema_extra={"x-options": "document_stores"},
    )

    @model_validator(mode="after")
    def _consistent(self) -> PrintParams:
        if self.archive_only and not self.archive:
            raise ValueError("archive_only needs archive")
        if self.printer is not None and not PRINTER_NAME.match(self.printer):
            raise ExplainedError(stored("'{printer}' is not a printer name", printer=self.printer))
        return self


@dataclass(frozen=True)
class _Filed:
    """A letter of the run as the collection and the manifest need it."""

    item_id: int
    meta: dict[str, Any]
    document_id: int | None
    sha256: str
    pdf: bytes


class PrintReports(Action):
    name = "print_reports"
    title = "Print reports"
    description = (
        "Prints a report as a personal letter for every recipient, archives it with the "
        "contact and builds one collection file with a manifest for the print service."
    )
    Params = PrintParams
    channel = Channel.POSTAL
    cost_unit = "pages"
    stock_items = ("paper_a4", "envelope_dl")
    external_effects = False
    chunk_size = 200

    def __init__(self, params: Any = None):
        super().__init__(params)
        self._renderer: ReportRenderer | None = None
        self._store: DocumentStore | None = None
        self._numbers: dict[str, int] = {}

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        contact = contact_fields(recipient.data, recipient.entity)
        reason = self._skip_reason(contact)
        if reason:
            return Outcome.skipped(reason)
        number = self._number(context, recipient.key)
        letter = self._letter(recipient, context, number)
        pages = count_pages(letter)
        meta = {
            "number": number,
            "contact_number": contact.get("number"),
            "name": _display_name(contact),
            "postcode": contact.get("postcode"),
            "city": contact.get("city"),
            "pages": pages,
        }
        detail = english_plural("{0} page", "{0} pages", pages)
        if self.params.archive:
            report = self._renderer
            filename = f"{_slug(report.name)}-{_slug(meta['contact_number'] or recipient.key)}.pdf"
            has_contact = get_entity(recipient.entity).contact_path is not None
            document = archive_document(
                context.session,
                self._archive(context),
                contact_id=contact.get("id") if has_contact else None,
                campaign_id=context.campaign_id,
                run_id=context.run_id,
                report_id=report.report_id,
                kind=DocumentKind.LETTER,
                title=report.name,
                filename=filename,
                data=letter,
                source_key=recipient.key,
                meta=meta,
                created_by=context.started_by,
            )
            reference = f"{document.store}:{document.store_ref}"
            return Outcome.done(detail, units=pages, reference=reference)
        spool = f"{SPOOL}/{_slug(recipient.key)}"
        context.save_run_file(f"{spool}.pdf", letter)
        sidecar = {"meta": meta, "sha256": hashlib.sha256(letter).hexdigest()}
        context.save_run_file(f"{spool}.json", json.dumps(sidecar).encode())
        return Outcome.done(detail, units=pages, reference=f"spool:{_slug(recipient.key)}")

    def warm_up(self, recipient: Recipient | None, context: Any) -> None:
        """Print a letter for nothing, so that the work horses inherit a renderer that knows
        the report's stylesheets, fonts, sub-reports and static drawings."""
        if recipient is None or self._skip_reason(contact_fields(recipient.data, recipient.entity)):
            self._renderer_for(context)
        else:
            self._letter(recipient, context, None)

    def preview(self, recipient: Recipient, context: Any) -> str:
        """Render the letter (without a running number) as the run file ``preview-KEY.pdf``
        and return that name; a recipient that would be skipped says why."""
        reason = self._skip_reason(contact_fields(recipient.data, recipient.entity))
        if reason:
            return f"skipped: {reason}"
        try:
            letter = self._letter(recipient, context, None)
        except (ReportError, ValueError, RuntimeError) as exc:
            return f"cannot print: {exc}"
        name = f"preview-{_slug(recipient.key)}.pdf"
        context.save_run_file(name, letter)
        return name

    def finish(self, context: Any) -> None:
        if self.params.archive_only:
            return
        work: Path = context.work_dir
        collection_path, manifest, job_path = work / COLLECTION, work / MANIFEST, work / PRINT_JOB
        waiting = self._waiting_for_printer(context) if self.params.printer else None
        try:
            with (
                PdfCollection(collection_path) as collection,
                PdfCollection(job_path) as job,
                open_csv(manifest, MANIFEST_DIALECT) as writer,
            ):
                writer.writerow(MANIFEST_COLUMNS)
                for filed in self._filed(context):
                    collection.append(filed.pdf)
                    if waiting is not None and filed.item_id in waiting:
                        job.append(filed.pdf)
                    row = filed.meta | {"document_id": filed.document_id, "sha256": filed.sha256}
                    writer.writerow(row.get(column) for column in MANIFEST_COLUMNS)
            context.save_run_file(COLLECTION, collection_path)
            context.save_run_file(MANIFEST, manifest)
            # a retry finishes the run again: the printer gets only the letters it never had
            printed, printed_path = (
                (collection, collection_path) if waiting is None else (job, job_path)
            )
            if self.params.printer and printed.pages:
                self._print(printed_path, context)
        finally:
            collection_path.unlink(missing_ok=True)
            manifest.unlink(missing_ok=True)
            job_path.unlink(missing_ok=True)

    # --- helpers ---------------------------------------------------------------------------

    def _skip_reason(self, contact: dict[str, Any]) -> str | None:
        if (
            self.params.route_email_preferring_to_email
            and contact.get("preferred_channel") == "email"
        ):
            return "prefers e-mail"
        if "name" in contact:  # a record without a contact (a sales partner): its own fields
            contact = {"last_name": contact.get("name"), **contact}
        if not has_complete_address(contact):
            return SkipReason.INCOMPLETE_ADDRESS.value
        return None

    def _renderer_for(self, context: Any) -> ReportRenderer:
        if self._renderer is None:
            cache = context.settings.data_dir / "cache" / "report-assets"
            renderer = print_engine.report_renderer(context.session, self.params.report, cache)
            if not renderer.usable_for_mass_print:
                raise ReportError(
                    stored(
                        "the report '{report}' is not usable for mass print", report=renderer.name
                    )
                )
            self._renderer = renderer
        return self._renderer

    def _letter(self, recipient: Recipient, context: Any, number: int | None) -> bytes:
        return self._renderer_for(context).render(
            recipient.data,
            recipient.entity,
            number=number,
            day=context.now.astimezone(LOCAL_TIME).date(),
            campaign={"id": context.campaign_id, "name": context.campaign_name},
        )

    def _number(self, context: Any, key: str) -> int:
        """The recipient's position in the ledger: earlier chunks are full by construction,
        so it is the chunk's start plus the position within the chunk (one query a chunk)."""
        if key not in self._numbers:
            of_run = (RunItem.run_id == context.run_id, RunItem.action == self.name)
            chunk = context.session.scalar(select(RunItem.chunk).where(*of_run, RunItem.key == key))
            keys = context.session.scalars(
                select(RunItem.key).where(*of_run, RunItem.chunk == chunk).order_by(RunItem.id)
            )
            start = chunk * self.chunk_size + 1
            self._numbers.update({item: start + index for index, item in enumerate(keys)})
        return self._numbers[key]

    def _archive(self, context: Any) -> DocumentStore:
        if self._store is None:
            self._store = open_store(context.runtime.plugins, context.settings, self.params.store)
        return self._store

    def _waiting_for_printer(self, context: Any) -> set[int] | None:
        """The ledger rows whose letters the printer has not had since it was last handed the
        run's letters; None if it never was (it gets every letter)."""
        try:
            data = context.run_files.read_bytes(context.session, context.run_id, PRINTER_WAITS)
        except FileNotFoundError:
            return None
        return set(json.loads(data)["rows"])

    def _filed(self, context: Any) -> Iterator[_Filed]:
        """The run's letters in ledger order, a page of rows at a time."""
        session, last = context.session, 0
        while True:
            items = session.execute(
                select(RunItem.id, RunItem.key, RunItem.reference)
                .where(
                    RunItem.run_id == context.run_id,
                    RunItem.status == ItemStatus.DONE,
                    RunItem.id > last,
                )
                .order_by(RunItem.id)
                .limit(PAGE)
            ).all()
            if not items:
                return
            last = items[-1].id
            if self.params.archive:
                yield from self._from_archive(context, items)
            else:
                files, run_id = context.run_files, context.run_id
                for item in items:
                    spool = f"{SPOOL}/{item.reference.removeprefix('spool:')}"
                    sidecar = json.loads(files.read_bytes(session, run_id, f"{spool}.json"))
                    pdf = files.read_bytes(session, run_id, f"{spool}.pdf")
                    yield _Filed(item.id, sidecar["meta"], None, sidecar["sha256"], pdf)

    def _from_archive(self, context: Any, items: Sequence[Row]) -> Iterator[_Filed]:
        documents = {
            row.source_key: row
            for row in context.session.execute(
                select(
                    ArchivedDocument.id,
                    ArchivedDocument.source_key,
                    ArchivedDocument.filename,
                    ArchivedDocument.store_ref,
                    ArchivedDocument.sha256,
                    ArchivedDocument.meta,
                ).where(
                    ArchivedDocument.run_id == context.run_id,
                    ArchivedDocument.source_key.in_([item.key for item in items]),
                )
            )
        }
        store = self._archive(context)
        for item in items:
            document = documents.get(item.key)
            if document is None:  # deleted from the archive before the run finished
                continue
            pdf = read_document(store, document)
            yield _Filed(item.id, document.meta, document.id, document.sha256, pdf)

    def _print(self, collection: Path, context: Any) -> None:
        lp = shutil.which("lp")
        if lp is None:
            note = f"printer {self.params.printer!r} ignored: lp (CUPS) is not installed"
            log.warning("run %s: %s", context.run_id, note)
        else:
            title = f"{context.campaign_name} (run {context.run_id})"
            command = [lp, "-d", self.params.printer, "-t", title, str(collection)]
            result = subprocess.run(command, capture_output=True, text=True, timeout=300)
            if result.returncode:
                raise RuntimeError(f"lp failed: {result.stderr.strip() or result.returncode}")
            note = result.stdout.strip() or f"sent to {self.params.printer}"
            failed = context.session.scalars(
                select(RunItem.id).where(
                    RunItem.run_id == context.run_id, RunItem.status == ItemStatus.FAILED
                )
            )
            waiting = json.dumps({"rows": list(failed)}).encode()
            context.save_run_file(PRINTER_WAITS, waiting)
        context.save_run_file(PRINT_NOTE, (note + "\n").encode())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "letter"


def _display_name(contact: dict[str, Any]) -> str:
    if contact.get("kind") == "company" and contact.get("company_name"):
        return contact["company_name"]
    parts = (contact.get("first_name"), contact.get("last_name") or contact.get("name"))
    return " ".join(part for part in parts if part)


@hookimpl
def register_actions(register):
    register(PrintReports)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
