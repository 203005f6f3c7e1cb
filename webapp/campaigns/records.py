"""A campaign's own records: references added by hand or frozen from a query ("static data"),
and rows imported from a CSV file ("file import").

Every function works in the caller's session and transaction, so what it changes commits or
rolls back together with the rest of the caller's unit of work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from core.messages import ExplainedError, StoredText, stored
from core.models import IMPORT_ENTITY, IMPORT_FIELDS, Campaign, CampaignRecord
from core.query import (
    ENTITIES,
    EntitySpec,
    QueryDefinition,
    compile_query,
    compile_saved_query,
    load_records,
)
from webapp.csv_import import (
    ADDRESS_ALIASES,
    CsvFormat,
    ParsedCsv,
    RowError,
    check_address,
    read_csv,
    refuse_row_errors,
)
from webapp.csv_import import CsvImportError as CsvImportError  # raised here, caught by callers
from webapp.csv_import import RowsRefused as RowsRefused

BATCH = 500
"""Ids per IN list and rows per INSERT: well below every driver's parameter limit."""

MANUAL, FROZEN, IMPORTED = "manual", "frozen", "import"


class CampaignDataError(ExplainedError):
    """Records cannot be added as asked; the text says which and why in the reader's
    language, ``str()`` in English."""


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _require_campaign(session: Session, campaign_id: int) -> None:
    if session.get(Campaign, campaign_id) is None:
        raise CampaignDataError(stored("no campaign with id {id}", id=str(campaign_id)))


def _entity(entity: str) -> EntitySpec:
    if entity not in ENTITIES:
        raise CampaignDataError(
            stored("unknown entity '{entity}'; known: {known}", entity=entity, known=list(ENTITIES))
        )
    return ENTITIES[entity]


def _listing(ids: Sequence[int], shown: int = 5) -> StoredText | str:
    listed = ", ".join(str(record_id) for record_id in ids[:shown])
    if len(ids) <= shown:
        return listed
    return stored("{ids} and {count} more", ids=listed, count=len(ids) - shown)


# ---------------------------------------------------------------------------------------------
# Static data: references to records


def add_records(session: Session, campaign_id: int, entity: str, ids: Iterable[int]) -> int:
    """Add records by hand ("add to campaign"); return how many were new.

    Records already in the campaign are left as they are. If any id does not exist, nothing
    is added and the error lists some of them.
    """
    spec = _entity(entity)
    _require_campaign(session, campaign_id)
    wanted = list(dict.fromkeys(ids))
    existing: set[int] = set()
    present: set[int] = set()
    for batch in _batches(wanted):
        existing.update(session.scalars(select(spec.id_column).where(spec.id_column.in_(batch))))
        present.update(
            session.scalars(
                select(CampaignRecord.entity_id).where(
                    CampaignRecord.campaign_id == campaign_id,
                    CampaignRecord.entity == entity,
                    CampaignRecord.entity_id.in_(batch),
                )
            )
        )
    missing = [record_id for record_id in wanted if record_id not in existing]
    if missing:
        raise CampaignDataError(
            stored.plural(
                "{count} record of {entity} does not exist: id {ids}",
                "{count} records of {entity} do not exist: ids {ids}",
                count=len(missing),
                entity=entity,
                ids=_listing(missing),
            )
        )
    new = [record_id for record_id in wanted if record_id not in present]
    for batch in _batches(new):
        session.execute(
            insert(CampaignRecord),
            [
                {
                    "campaign_id": campaign_id,
                    "entity": entity,
                    "entity_id": record_id,
                    "source": MANUAL,
                }
                for record_id in batch
            ],
        )
    return len(new)


def remove_records(session: Session, campaign_id: int, entity: str, ids: Iterable[int]) -> int:
    """Remove records from the campaign's static data; return how many were there."""
    removed = 0
    for batch in _batches(list(dict.fromkeys(ids))):
        removed += session.execute(
            delete(CampaignRecord).where(
                CampaignRecord.campaign_id == campaign_id,
                CampaignRecord.entity == entity,
                CampaignRecord.entity_id.in_(batch),
            )
        ).rowcount
    return removed


def freeze_query(
    session: Session,
    campaign_id: int,
    query: QueryDefinition | Mapping[str, Any] | int,
) -> int:
    """Store the current list: the query's result now, as the campaign's frozen records.

    ``query`` is a definition or a saved query's id. Earlier frozen records are replaced;
    records added by hand stay. One INSERT ... SELECT, so the result never passes through
    Python however large it is. Returns how many records were stored.
    """
    compiled = (
        compile_saved_query(session, query) if isinstance(query, int) else compile_query(query)
    )
    _require_campaign(session, campaign_id)
    session.execute(
        delete(CampaignRecord).where(
            CampaignRecord.campaign_id == campaign_id, CampaignRecord.source == FROZEN
        )
    )
    root = compiled.root
    added_by_hand = select(CampaignRecord.entity_id).where(
        CampaignRecord.campaign_id == campaign_id, CampaignRecord.entity == root.name
    )
    result = select(
        literal(campaign_id), literal(root.name), root.id_column, literal(FROZEN)
    ).where(compiled.where, root.id_column.not_in(added_by_hand))
    statement = insert(CampaignRecord).from_select(
        ["campaign_id", "entity", "entity_id", "source"], result
    )
    # SQLAlchemy keeps the row count of UPDATE and DELETE only, unless asked
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount


@dataclass(frozen=True)
class ListedRecord:
    """One of a campaign's records; ``data`` is the imported row or the referenced record's
    fields (None when that record no longer exists)."""

    id: int
    entity: str
    entity_id: int | None
    source: str
    line_number: int | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class RecordPage:
    total: int
    records: list[ListedRecord]


def list_records(
    session: Session, campaign_id: int, offset: int = 0, limit: int = 50
) -> RecordPage:
    """One page of the campaign's records in the order they were added, with their fields."""
    if offset < 0 or limit < 1:
        raise CampaignDataError(stored("offset must be at least 0 and limit at least 1"))
    of_campaign = CampaignRecord.campaign_id == campaign_id
    total = session.scalar(select(func.count()).select_from(CampaignRecord).where(of_campaign))
    page = session.scalars(
        select(CampaignRecord)
        .where(of_campaign)
        .order_by(CampaignRecord.id)
        .offset(offset)
        .limit(limit)
    ).all()
    referenced: dict[str, list[int]] = {}
    for record in page:
        if record.entity_id is not None:
            referenced.setdefault(record.entity, []).append(record.entity_id)
    loaded = {
        entity: load_records(session, entity, ids)
        for entity, ids in referenced.items()
        if entity in ENTITIES
    }
    records = [
        ListedRecord(
            id=record.id,
            entity=record.entity,
            entity_id=record.entity_id,
            source=record.source,
            line_number=record.line_number,
            data=(
                record.data
                if record.entity_id is None
                else loaded.get(record.entity, {}).get(record.entity_id)
            ),
        )
        for record in page
    ]
    return RecordPage(total, records)


# ---------------------------------------------------------------------------------------------
# File import

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

FILE_FORMAT = CsvFormat(IMPORT_FIELDS, ADDRESS_ALIASES, check_address)


@dataclass(frozen=True)
class ImportReport:
    imported: int
    errors: list[RowError]
    encoding: str
    delimiter: str
    mapping: dict[str, str]
    ignored_columns: list[str]
    replaced: int
    """Rows of earlier imports the import dropped (0 when it added to them)."""


def count_imported(session: Session, campaign_id: int) -> int:
    """How many rows earlier imports stored for the campaign: what a replacing import drops."""
    return session.scalar(
        select(func.count())
        .select_from(CampaignRecord)
        .where(CampaignRecord.campaign_id == campaign_id, CampaignRecord.entity == IMPORT_ENTITY)
    )


def parse_csv(
    raw: bytes | BinaryIO,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ParsedCsv:
    """Read and check a whole file without storing it; CsvImportError if it is unusable."""
    return read_csv(
        raw,
        FILE_FORMAT,
        encoding=encoding,
        delimiter=delimiter,
        mapping=mapping,
        max_bytes=MAX_BYTES,
        max_rows=MAX_ROWS,
    )


def preview_csv(
    raw: bytes | BinaryIO,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    rows: int = 20,
) -> ParsedCsv:
    """What an import would do, for the upload form: the first ``rows`` rows, every error."""
    parsed = parse_csv(raw, encoding, delimiter, mapping)
    return dataclasses.replace(parsed, rows=parsed.rows[:rows])


def import_csv(
    session: Session,
    campaign_id: int,
    raw: bytes | BinaryIO,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: Mapping[str, str] | None = None,
    replace: bool = True,
    only_valid_rows: bool = False,
) -> ImportReport:
    """Import a CSV upload as the campaign's imported rows: every row or none.

    The whole file is read and checked before anything is written, so a fatal problem
    (CsvImportError) leaves earlier imports untouched, and so do rows with problems
    (``RowsRefused``) unless the user chose ``only_valid_rows``: then those rows are left out
    and listed in the report. ``replace`` drops the rows of earlier imports first.
    """
    parsed = parse_csv(raw, encoding, delimiter, mapping)
    refuse_row_errors(parsed.errors, only_valid_rows)
    _require_campaign(session, campaign_id)
    replaced = 0
    if replace:
        replaced = session.execute(
            delete(CampaignRecord).where(
                CampaignRecord.campaign_id == campaign_id,
                CampaignRecord.entity == IMPORT_ENTITY,
            )
        ).rowcount
    for batch in _batches(parsed.rows):
        session.execute(
            insert(CampaignRecord),
            [
                {
                    "campaign_id": campaign_id,
                    "entity": IMPORT_ENTITY,
                    "data": row.data,
                    "source": IMPORTED,
                    "line_number": row.line,
                }
                for row in batch
            ],
        )
    return ImportReport(
        imported=len(parsed.rows),
        errors=parsed.errors,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        mapping=parsed.mapping,
        ignored_columns=parsed.ignored_columns,
        replaced=replaced,
    )
