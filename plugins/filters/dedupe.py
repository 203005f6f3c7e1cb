"""Keep one recipient per e-mail, mobile number, name and address, or any field."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select

from core import Recipient, RecipientFilter, hookimpl
from core.messages import stored_for
from core.query import EntitySpec, FieldType, load_records
from core.query.compiler import ci_text
from core.reach import complete_address, has_complete_address
from plugins.filters import TRANSLATIONS
from plugins.filters._common import (
    BATCH_SIZE,
    Descending,
    RecordColumns,
    contact_field,
    entity_batches,
    query_root,
    restricted,
    single_value_field,
)

stored = stored_for(__name__)
NAME_AND_ADDRESS = ("first_name", "last_name", "company_name", "street", "postcode", "city")
PHONE_SEPARATORS = " -/()."
"""Left out of mobile numbers, so "0171 123-45" and "0171/12345" are the same number."""
KEY_SEPARATOR = "\x1f"
"""Joins the parts of a name-and-address key; never part of a name or an address."""


class DedupeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        "email",
        min_length=1,
        description=(
            "email, mobile, name_and_address (all of the contact), or a field path of the "
            "records such as number or contact.number"
        ),
    )
    keep: Literal["lowest_id", "newest", "oldest"] = Field(
        "lowest_id", description="Which record of duplicates stays (newest/oldest by created_at)"
    )


class Dedupe(RecipientFilter):
    name = "dedupe"
    title = "Deduplicate"
    description = (
        "Keeps one recipient per key, compared trimmed and case-insensitively; recipients "
        "with an empty key are never duplicates."
    )
    Params = DedupeParams
    params: DedupeParams

    # -- the key and the preference, as SQL -----------------------------------------------

    def _key(self, root: EntitySpec, columns: RecordColumns) -> ColumnElement[Any]:
        """The normalised key of a record, NULL when it is empty."""
        key = self.params.key
        if key == "name_and_address":
            contact = columns.contact(stored("deduplication by {key}", key=key))
            parts = [
                ci_text(func.trim(func.coalesce(getattr(contact, name), "")))
                for name in NAME_AND_ADDRESS
            ]
            joined = parts[0]
            for part in parts[1:]:
                joined = joined + literal(KEY_SEPARATOR) + part
            return case((complete_address(contact), joined), else_=None)
        if key in ("email", "mobile") and root.contact_path is not None:
            key = contact_field(root, key, stored("deduplication by {key}", key=key))
        column = columns.column(key, "key")
        if self.params.key == "mobile":
            for separator in PHONE_SEPARATORS:
                column = func.replace(column, separator, "")
            return func.nullif(column, "")
        if single_value_field(root, key, "key").type is FieldType.TEXT:
            return func.nullif(ci_text(func.trim(column)), "")
        return column

    def _preference(self, record: Any) -> list[ColumnElement[Any]]:
        """ORDER BY that puts the record to keep first."""
        if self.params.keep == "newest":
            return [record.created_at.desc(), record.id]
        if self.params.keep == "oldest":
            return [record.created_at.asc(), record.id]
        return [record.id]

    def _rank(self, created_at: Any, record_id: int) -> tuple:
        """``_preference`` in Python, for values the database returned."""
        if self.params.keep == "newest":
            return (Descending(created_at), record_id)
        if self.params.keep == "oldest":
            return (created_at, record_id)
        return (record_id,)

    def _ranked(self, root: EntitySpec, population: Any = None) -> Any:
        """Records (of the population, or the whole table) with key, position and group size."""
        columns = RecordColumns(root, population)
        key = self._key(root, columns)
        order = self._preference(columns.record)
        return (
            select(
                columns.id.label("id"),
                key.label("key"),
                func.row_number().over(partition_by=key, order_by=order).label("position"),
                func.count().over(partition_by=key).label("size"),
            )
            .select_from(columns.source)
            .subquery()
        )

    # -- SQL ------------------------------------------------------------------------------

    def narrow(self, query: Select, context: Any) -> Select | None:
        root = query_root(context.entity)
        if root is None:
            return None
        ranked = self._ranked(root, query.order_by(None).subquery())
        kept = select(ranked.c.id).where(or_(ranked.c.key.is_(None), ranked.c.position == 1))
        return restricted(query, root.id_column.in_(kept))

    # -- streaming ------------------------------------------------------------------------

    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        """Keep the preferred record of each key among the recipients streamed (see
        ``Duplicates``); imported rows keep their first row per key."""
        duplicates: dict[str, Duplicates] = {}
        first_seen: set[int] = set()
        for entity, batch in entity_batches(recipients):
            root = query_root(entity)
            if root is None:
                yield from self._first_of_each(batch, first_seen)
                continue
            if entity not in duplicates:
                duplicates[entity] = Duplicates(self._table_favourites(root, context))
            columns = RecordColumns(root)
            values = columns.values(
                context.session,
                [recipient.id for recipient in batch],
                self._key(root, columns),
                columns.record.created_at,
            )
            for recipient in batch:
                if recipient.id in values:
                    key, created_at = values[recipient.id]
                    digest = None if key is None else _digest(entity, key)
                    if duplicates[entity].admit(
                        recipient, digest, self._rank(created_at, recipient.id)
                    ):
                        yield recipient
        for held in duplicates.values():
            yield from held.release(context.session)

    def _table_favourites(self, root: EntitySpec, context: Any) -> dict[int, int]:
        """Key hash -> preferred id, over the whole table, for keys that several records share."""
        ranked = self._ranked(root)
        rows = context.session.execute(
            select(ranked.c.key, ranked.c.id)
            .where(ranked.c.key.is_not(None), ranked.c.position == 1, ranked.c.size > 1)
            .execution_options(yield_per=BATCH_SIZE)
        )
        return {_digest(root.name, key): record_id for key, record_id in rows}

    def _first_of_each(self, batch: list[Recipient], seen: set[int]) -> Iterator[Recipient]:
        """Imported rows: the first row of each key passes (rows come in file order)."""
        if self.params.keep != "lowest_id":
            raise ValueError(
                f"keep={self.params.keep!r} needs created_at, which {batch[0].entity!r} rows "
                "do not have; use keep='lowest_id' (the first row of each key stays)"
            )
        for recipient in batch:
            value = self._imported_key(recipient.data)
            if value is None:
                yield recipient
                continue
            digest = _digest(recipient.entity, value)
            if digest not in seen:
                seen.add(digest)
                yield recipient

    def _imported_key(self, data: Mapping[str, Any]) -> Any:
        """``_key`` for an imported row's data."""
        key = self.params.key
        if key == "name_and_address":
            if not has_complete_address(data):
                return None
            return KEY_SEPARATOR.join(_text(data.get(name)) or "" for name in NAME_AND_ADDRESS)
        value = data.get(key)
        if key == "mobile" and value is not None:
            value = str(value).translate({ord(c): None for c in PHONE_SEPARATORS})
        return _text(value) if isinstance(value, str) or value is None else value


@dataclass
class Duplicates:
    """Streaming deduplication of one root's records with memory per duplicated key only.

    The database says which record the whole table prefers for each key that several
    records share (``favourites``). That record passes at once and settles its key. Until
    it comes, the best recipient seen so far is held back; whatever is still held at the
    end is the population's preferred record and passes then. A held recipient is kept
    without its data, which ``release`` reloads with ``load_records``.
    """

    favourites: dict[int, int]
    settled: set[int] = field(default_factory=set)
    held: dict[int, tuple[tuple, Recipient]] = field(default_factory=dict)

    def admit(self, recipient: Recipient, digest: int | None, rank: tuple) -> bool:
        """Whether the recipient passes now; it may instead be held back or dropped."""
        favourite = self.favourites.get(digest)
        if favourite is None:
            return True  # an empty key, or the only record with its key
        if favourite == recipient.id:
            self.settled.add(digest)
            self.held.pop(digest, None)
            return True
        if digest not in self.settled and (digest not in self.held or rank < self.held[digest][0]):
            self.held[digest] = (rank, replace(recipient, data={}))
        return False

    def release(self, session: Any) -> Iterator[Recipient]:
        """The held recipients, with their data loaded again."""
        waiting = [recipient for _, recipient in self.held.values()]
        for start in range(0, len(waiting), BATCH_SIZE):
            batch = waiting[start : start + BATCH_SIZE]
            records = load_records(session, batch[0].entity, [r.id for r in batch])
            for recipient in batch:
                if recipient.id in records:
                    yield replace(recipient, data=records[recipient.id])
        self.held.clear()


def _text(value: str | None) -> str | None:
    """Trimmed and lower-cased; None when nothing is left."""
    return (value or "").strip().lower() or None


def _digest(entity: str, value: Any) -> int:
    """A 64-bit hash of a key: what is kept in memory per key instead of the key."""
    digest = hashlib.blake2b(f"{entity}{KEY_SEPARATOR}{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@hookimpl
def register_recipient_filters(register):
    register(Dedupe)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
