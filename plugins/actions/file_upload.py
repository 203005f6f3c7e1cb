"""Action "file_upload" ("File upload"): one file per run (or per group) to an upload target.

What is uploaded:

- ``extraction``: the provider's extraction file, a CSV of the recipients with chosen
  columns (query-builder field paths, header names, delimiter, encoding);
- ``collection_pdf``: the recipients' archived documents (a report's letters, a campaign's
  or a run's documents) merged page by page into one PDF;
- ``documents_zip``: the same documents as files in a ZIP, with an ``index.csv``.

The upload is an outside effect, so the action is group-scoped: the run's ledger has one
row for the file (one per group when the source is grouped), and the engine claims that
row before ``process`` runs and records its outcome after. Inside, ``core.uploads.deliver``
claims a file delivery record keyed by run and row before the transfer. A worker killed while
building or uploading leaves the row claimed; recovery reports it unclear and nothing is
uploaded again until a person retries the unclear rows (which is what ``resend`` means
here). A failed upload fails the row with the target's message and is retried with the
failed rows. docs/uploads.md explains the choice.

Files are built in the run's local work directory in constant memory: members are read a
page at a time (``context.member_ids``) and every row or document is written as it comes.
Once uploaded, the built file is kept as the run file ``uploads/NAME``
(``core.documents.run_files``), which the panel shows on every machine; it commits with the row's
outcome.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from core import Action, Channel, Outcome, Recipient, Scope, SettingsError, hookimpl
from core.documents.archive import ArchiveIntegrityError, open_store, read_document
from core.documents.csv_export import CsvDialect, open_csv
from core.documents.extraction import (
    ENCODINGS,
    ROWS_PER_QUERY,
    RecordColumns,
    cell,
    file_slug,
    write_csv,
    written_whole,
)
from core.documents.templating import LOCAL_TIME
from core.messages import ExplainedError, english_plural, stored_for
from core.models import (
    ArchivedDocument,
    Campaign,
    DocumentKind,
    FileDelivery,
    FileDeliveryStatus,
    ItemKind,
    ItemStatus,
    Report,
    Run,
    RunItem,
)
from core.plugin_base import DocumentStore
from core.plugins import UnknownPluginError
from core.query import ENTITIES, QueryDefinition, compile_query, get_entity
from core.uploads import (
    UploadError,
    UploadUnclear,
    deliver,
    fill_name_pattern,
    open_target,
)
from plugins.actions import TRANSLATIONS
from plugins.actions.pdf_collection import PdfCollection

Content = Literal["extraction", "collection_pdf", "documents_zip"]
Reach = Literal["postal", "email", "mobile", "none"]
"""The channel the provider reaches the file's recipients by (``core.Channel``)."""
EXTENSIONS = {"extraction": "csv", "collection_pdf": "pdf", "documents_zip": "zip"}
NAME_PLACEHOLDERS = ("campaign", "run", "run_id", "date", "time", "group", "ext")
PAGE = 500
"""Documents read at a time while a PDF or ZIP is built."""
UPLOADS = "uploads"
"""The run files of the built files (``uploads/NAME``)."""
COUNTED = {
    "rows": ("{0} row", "{0} rows"),
    "documents": ("{0} document", "{0} documents"),
    "pages": ("{0} page", "{0} pages"),
}
"""How a result says its counts (its manifest's keys), as the catalog has them."""
PREVIEWED = {
    "extraction": "CSV extraction",
    "collection_pdf": "collection PDF",
    "documents_zip": "ZIP of documents",
}
"""What a dry run says it would upload, as the catalog has it."""
INDEX_COLUMNS = ("entry", "document_id", "contact_id", "title", "filename", "size", "sha256")
INDEX_DIALECT = CsvDialect(",", "utf-8")
"""The ZIP's index.csv: UTF-8 and commas, titles and file names neutralised."""
stored = stored_for(__name__)


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        min_length=1,
        description="Field path of the query builder, e.g. last_name or partner.number; for "
        "imported rows the column name of the import.",
    )
    header: str = Field("", description="Column heading in the file; the field path if empty.")

    @property
    def heading(self) -> str:
        return self.header or self.field


class ExtractionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[Column] = Field(min_length=1, description="The file's columns, in order.")
    delimiter: str = Field(";", min_length=1, max_length=1)
    encoding: Literal[ENCODINGS] = "utf-8"  # type: ignore[valid-type]
    header: bool = Field(True, description="Write a first line with the column headings.")
    raw_values: bool = Field(
        False,
        description="Raw values for a machine: keep cells that begin with =, +, -, @ as they "
        "are instead of prefixing a quote (only if the receiver's format needs it).",
    )

    @property
    def dialect(self) -> CsvDialect:
        return CsvDialect(self.delimiter, self.encoding, raw_values=self.raw_values)

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, delimiter: str) -> str:
        if delimiter in '"\r\n' or delimiter.isalnum():
            raise ExplainedError(
                stored("'{delimiter}' cannot separate CSV columns", delimiter=delimiter)
            )
        return delimiter


class DocumentSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report: str | int | None = Field(None, description="Only documents of this report.")
    campaign: str | int | None = Field(None, description="Only documents of this campaign.")
    run: int | None = Field(None, description="Only documents of this run (its id).")
    kind: DocumentKind | None = Field(DocumentKind.LETTER, description="Only this kind.")
    latest_only: bool = Field(False, description="Only each recipient's newest match.")

    @model_validator(mode="after")
    def _narrowed(self) -> DocumentSelection:
        if self.report is None and self.campaign is None and self.run is None:
            raise ValueError(
                "name a report, campaign or run: every document a recipient ever got is "
                "rarely what a provider should receive"
            )
        return self


class FileUploadParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content = Field(
        "extraction",
        description="extraction: a CSV of the recipients; collection_pdf: their archived "
        "documents in one PDF; documents_zip: those documents in a ZIP.",
    )
    extraction: ExtractionSettings | None = None
    documents: DocumentSelection | None = None
    target: str = Field(
        min_length=1,
        description="Where the file is uploaded.",
        json_schema_extra={"x-options": "upload_targets"},
    )
    target_settings: dict[str, Any] = Field(
        default_factory=dict, description="Settings of the target, checked when uploading."
    )
    remote_name: str = Field(
        "{campaign}-{run}-{date}.{ext}",
        description="File name at the target; placeholders: " + ", ".join(NAME_PLACEHOLDERS),
    )
    manifest: bool = Field(
        True, description="Upload NAME.manifest.json (size, SHA-256, counts) beside the file."
    )
    reach: Reach = Field(
        "postal",
        description="How the provider reaches the recipients (a print service: postal); "
        "their blocks and opt-outs for it count. none: a file that reaches nobody.",
    )

    @field_validator("remote_name")
    @classmethod
    def _name_pattern(cls, pattern: str) -> str:
        fill_name_pattern(pattern, dict.fromkeys(NAME_PLACEHOLDERS, "x"))
        return pattern

    @model_validator(mode="after")
    def _content_settings(self) -> FileUploadParams:
        if self.content == "extraction" and self.extraction is None:
            raise ValueError("content 'extraction' needs extraction settings with columns")
        if self.content != "extraction" and self.documents is None:
            raise ExplainedError(
                stored("content '{content}' needs a documents selection", content=self.content)
            )
        return self


@dataclass
class Built:
    """The file made for one ledger row and what the manifest says about it."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    note: str = ""


class FileUpload(Action):
    name = "file_upload"
    title = "File upload"
    description = (
        "Uploads the run's extraction file (CSV with chosen columns), a collection PDF or a "
        "ZIP of the recipients' archived documents to a folder, SFTP server or HTTP endpoint, "
        "with a checksum and a manifest; one file per run, or per group."
    )
    Params = FileUploadParams
    params: FileUploadParams
    scope = Scope.GROUP
    external_effects = True
    chunk_size = 1

    def __init__(self, params: Any = None):
        super().__init__(params)
        self._stores: dict[str, DocumentStore] = {}
        self._refused: dict[int, Any] = {}
        """The members of the group in hand refused since targeting (entity id: reason)."""
        # the provider reaches the recipients (a print service posts the letters), so the
        # platform's reach rule for that channel holds: targeting and ``context.members``
        # leave out the blocked and opted out, whatever the campaign's filters say
        self.channel = Channel(self.params.reach)

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        key = delivery_key(context.run_id, recipient.key)
        earlier = context.session.scalar(select(FileDelivery).where(FileDelivery.key == key))
        if earlier is not None and earlier.status == FileDeliveryStatus.DONE:
            return _done(earlier.remote_name, earlier.file_location, earlier.id, "")
        try:
            remote_name = self.remote_name(context, recipient.group)
        except ValueError as exc:
            return Outcome.failed(str(exc))
        with context.claim_kept(recipient.key):
            # members refused since targeting are left out of the file, and their rows
            # skipped with the reason once the upload's own records are written
            self._refused = (
                {} if self.channel is Channel.NONE else context.refused_members(recipient.group)
            )
            try:
                built = self.build(context, recipient.group, remote_name)
            except (ValueError, LookupError, OSError, ArchiveIntegrityError) as exc:
                return Outcome.failed(f"cannot build: {remote_name}; {exc}")
            if not built.counts.get(self.counted):
                context.skip_members(recipient.group, self._refused)
                return Outcome.skipped(f"nothing to upload: {built.note}")
            manifest = None
            if self.params.manifest:
                manifest = {
                    "content": self.params.content,
                    "campaign": context.campaign_name,
                    "run_id": context.run_id,
                    "group": recipient.group,
                    **built.counts,
                }
            try:
                delivered = deliver(
                    context.runtime,
                    key=key,
                    target=self.params.target,
                    settings=self.params.target_settings,
                    path=built.path,
                    remote_name=remote_name,
                    manifest=manifest,
                    run_id=context.run_id,
                    resend=self._retried(context, recipient.key),
                )
            except UploadUnclear as exc:
                return Outcome(ItemStatus.UNCLEAR.value, str(exc), 0)
            except (UploadError, SettingsError, UnknownPluginError) as exc:
                return Outcome.failed(str(exc))
            context.save_run_file(f"{UPLOADS}/{remote_name}", built.path)
            built.path.unlink()
            context.skip_members(recipient.group, self._refused)
        counts = [english_plural(*COUNTED[what], count) for what, count in built.counts.items()]
        size = english_plural("{0} byte", "{0} bytes", delivered.size)
        summary = ", ".join([*counts, size, f"sha256 {delivered.sha256[:12]}"])
        if delivered.manifest_location:
            summary += ", with manifest"
        return _done(remote_name, delivered.location, delivered.id, summary, built.note)

    def preview(self, recipient: Recipient, context: Any) -> str:
        try:
            remote_name = self.remote_name(context, recipient.group)
            target = open_target(
                context.runtime.plugins, self.params.target, self.params.target_settings
            )
            if self.params.content == "extraction" and context.entity in ENTITIES:
                self._record_columns(context.entity)
            else:
                self._contact_ids(context, recipient.group)
        except (ValueError, LookupError) as exc:
            return f"cannot upload: {exc}"
        members = sum(len(page) for page in context.member_ids(recipient.group))
        parts = [
            f"would upload: {PREVIEWED[self.params.content]}",
            english_plural("{0} recipient", "{0} recipients", members),
            f"file: {remote_name}",
            f"target: {target.name}",
            f"location: {target.where()}",
            "with manifest" if self.params.manifest else "",
        ]
        return "; ".join(part for part in parts if part)

    @property
    def counted(self) -> str:
        return "rows" if self.params.content == "extraction" else "documents"

    # --- names ---------------------------------------------------------------------------

    def remote_name(self, context: Any, group: str | None) -> str:
        """The file's name at the target, the same for every retry of the run."""
        session = context.session
        run = session.get(Run, context.run_id)
        groups = session.scalar(
            select(func.count()).where(
                RunItem.run_id == context.run_id, RunItem.kind == ItemKind.GROUP
            )
        )
        if groups > 1 and "{group}" not in self.params.remote_name:
            raise ValueError(
                f"the run has {groups} groups but remote_name has no {{group}}: "
                "their files would replace each other"
            )
        started = run.created_at.astimezone(LOCAL_TIME)
        values = {
            "campaign": file_slug(context.campaign_name) or "campaign",
            "run": str(run.number),
            "run_id": str(run.id),
            "date": started.strftime("%Y%m%d"),
            "time": started.strftime("%H%M%S"),
            "group": file_slug(group or "") or "all",
            "ext": EXTENSIONS[self.params.content],
        }
        return fill_name_pattern(self.params.remote_name, values)

    def _retried(self, context: Any, key: str) -> bool:
        """A row put back to work by a person (retry of failed or unclear rows)."""
        attempts = context.session.scalar(
            select(RunItem.attempts).where(
                RunItem.run_id == context.run_id, RunItem.key == key, RunItem.action == self.name
            )
        )
        return bool(attempts)

    # --- building ------------------------------------------------------------------------

    def build(self, context: Any, group: str | None, remote_name: str) -> Built:
        path = context.work_dir / UPLOADS / remote_name
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.params.content == "extraction":
            return self._write_extraction(context, group, path)
        if self.params.content == "collection_pdf":
            return self._write_collection(context, group, path)
        return self._write_zip(context, group, path)

    def _write_extraction(self, context: Any, group: str | None, path: Path) -> Built:
        settings = self.params.extraction
        rows = write_csv(
            path,
            [column.heading for column in settings.columns],
            self._extraction_rows(context, group),
            settings.dialect,
            header=settings.header,
        )
        return Built(path, {"rows": rows}, "" if rows else "none of the records exists any more")

    def _extraction_rows(self, context: Any, group: str | None) -> Iterator[tuple[str, list[str]]]:
        """(recipient key, cells) per member in ledger order, a page of members per query."""
        entity = context.entity
        paths = [column.field for column in self.params.extraction.columns]
        if entity in ENTITIES:
            columns = self._record_columns(entity)
            for page in context.member_ids(group, ROWS_PER_QUERY):
                ids = [record_id for record_id in page if record_id not in self._refused]
                found = columns.cells(context.session, ids)
                for record_id in ids:
                    if record_id in found:
                        yield f"{entity}:{record_id}", found[record_id]
        else:
            for page, _refused in context.checked_members(group):
                for recipient in page:
                    if recipient.id not in self._refused:
                        yield recipient.key, [cell(recipient.data.get(path)) for path in paths]

    def _record_columns(self, entity: str) -> RecordColumns:
        paths = [column.field for column in self.params.extraction.columns]
        return RecordColumns(entity, paths, where="extraction.columns")

    def _write_collection(self, context: Any, group: str | None, path: Path) -> Built:
        documents = 0
        with PdfCollection(path) as collection:
            for _, data in self._documents(context, group):
                collection.append(data)
                documents += 1
        counts = {"documents": documents, "pages": collection.pages}
        if not documents:
            path.unlink(missing_ok=True)
        return Built(path, counts, self._coverage(context, group, documents))

    def _write_zip(self, context: Any, group: str | None, path: Path) -> Built:
        documents = 0
        index_path = path.with_name(f".{path.name}.index.csv")
        try:
            with (
                written_whole(path) as partial,
                zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive,
            ):
                with open_csv(index_path, INDEX_DIALECT) as index:
                    index.writerow(INDEX_COLUMNS)
                    for document, data in self._documents(context, group):
                        documents += 1
                        entry = f"{documents:06d}-{document.filename}"
                        archive.writestr(entry, data)
                        index.writerow(
                            [
                                entry,
                                document.id,
                                document.contact_id,
                                document.title,
                                document.filename,
                                document.size,
                                document.sha256,
                            ]
                        )
                archive.write(index_path, "index.csv")
        finally:
            index_path.unlink(missing_ok=True)
        return Built(path, {"documents": documents}, self._coverage(context, group, documents))

    def _documents(self, context: Any, group: str | None) -> Iterator[tuple[Any, bytes]]:
        """The matching archived documents of the group's recipients, in archive order, a page
        of rows at a time; each one's bytes are checked against its checksum."""
        query = self._document_query(context, group)
        last = 0
        while True:
            page = context.session.execute(
                query.where(ArchivedDocument.id > last).order_by(ArchivedDocument.id).limit(PAGE)
            ).all()
            if not page:
                return
            last = page[-1].id
            for document in page:
                yield document, read_document(self._store(context, document.store), document)

    def _document_query(self, context: Any, group: str | None) -> Select[Any]:
        wanted = self._document_conditions(context, ArchivedDocument)
        query = select(
            ArchivedDocument.id,
            ArchivedDocument.contact_id,
            ArchivedDocument.title,
            ArchivedDocument.filename,
            ArchivedDocument.size,
            ArchivedDocument.sha256,
            ArchivedDocument.store,
            ArchivedDocument.store_ref,
        ).where(ArchivedDocument.contact_id.in_(self._contact_ids(context, group)), *wanted)
        if self.params.documents.latest_only:
            newer = aliased(ArchivedDocument)
            newest = (
                select(func.max(newer.id))
                .where(
                    newer.contact_id == ArchivedDocument.contact_id,
                    *self._document_conditions(context, newer),
                )
                .scalar_subquery()
            )
            query = query.where(ArchivedDocument.id == newest)
        return query

    def _document_conditions(self, context: Any, table: Any) -> list[Any]:
        selection = self.params.documents
        conditions = []
        if selection.kind is not None:
            conditions.append(table.kind == selection.kind)
        if selection.report is not None:
            conditions.append(table.report_id == _find_id(context, Report, selection.report))
        if selection.campaign is not None:
            conditions.append(table.campaign_id == _find_id(context, Campaign, selection.campaign))
        if selection.run is not None:
            conditions.append(table.run_id == selection.run)
        return conditions

    def _contact_ids(self, context: Any, group: str | None) -> Select[Any]:
        """The contacts of the group's members, as a subquery."""
        members = select(RunItem.entity_id).where(
            RunItem.run_id == context.run_id,
            RunItem.kind == ItemKind.MEMBER,
            RunItem.group_key == group,
            RunItem.status.not_in([ItemStatus.HELD_OUT, ItemStatus.SKIPPED]),
        )
        if self._refused:
            members = members.where(RunItem.entity_id.not_in(list(self._refused)))
        entity = context.entity
        contact_path = ENTITIES[entity].contact_path if entity in ENTITIES else None
        if contact_path is None:
            raise ValueError(
                f"documents are filed with contacts, which these recipients have none of: {entity}"
            )
        if contact_path == "":
            return members
        root = get_entity(entity)
        return (
            compile_query(QueryDefinition(root=entity, output=[f"{contact_path}.id"]))
            .select_rows()
            .order_by(None)
            .where(root.id_column.in_(members))
        )

    def _coverage(self, context: Any, group: str | None, documents: int) -> str:
        members = context.session.scalar(
            select(func.count()).select_from(self._contact_ids(context, group).subquery())
        )
        covered = context.session.scalar(
            select(func.count(func.distinct(ArchivedDocument.contact_id))).where(
                ArchivedDocument.contact_id.in_(self._contact_ids(context, group)),
                *self._document_conditions(context, ArchivedDocument),
            )
        )
        if documents == 0:
            return english_plural(
                "no archived document matches the {0} recipient",
                "no archived document matches any of the {0} recipients",
                members,
            )
        if covered < members:
            return english_plural(
                "{0} recipient of {1} has no matching document",
                "{0} recipients of {1} have no matching document",
                members - covered,
                members,
            )
        return ""

    def _store(self, context: Any, name: str) -> DocumentStore:
        if name not in self._stores:
            self._stores[name] = open_store(context.runtime.plugins, context.settings, name)
        return self._stores[name]


def delivery_key(run_id: int, item_key: str) -> str:
    """The file delivery record's key of one ledger row: fits the column whatever the group."""
    key = f"run-{run_id}/{item_key}"
    if len(key) <= 200:
        return key
    return f"run-{run_id}/sha1-{hashlib.sha1(item_key.encode()).hexdigest()}"


def _find_id(context: Any, model: Any, wanted: str | int) -> int:
    """The id of a report or campaign named by id or by name (LookupError if none)."""
    if isinstance(wanted, int) or wanted.isdigit():
        found = context.session.scalar(select(model.id).where(model.id == int(wanted)))
    else:
        found = context.session.scalar(select(model.id).where(model.name == wanted))
    if found is None:
        raise LookupError(f"unknown {model.__tablename__[:-1]}: {wanted}")
    return found


def _done(
    remote_name: str, location: str | None, delivery_id: int, summary: str, note: str = ""
) -> Outcome:
    """``label: value`` parts between ``"; "``, which the panel translates one by one."""
    parts = [f"uploaded: {remote_name}", f"location: {location}" if location else "", summary, note]
    detail = "; ".join(part for part in parts if part)
    return Outcome.done(detail, units=1, reference=f"file-delivery:{delivery_id}")


@hookimpl
def register_actions(register: Callable[[type[Action]], None]) -> None:
    register(FileUpload)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
