"""Extraction files: CSV files of recipients with chosen columns, for providers and uploads
(the ``file_upload`` action and the supplier workflow), with the same field paths, values
and errors for both."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from core.documents.csv_export import CsvDialect, CsvWriter, open_csv
from core.documents.templating import LOCAL_TIME
from core.query import QueryDefinition, QueryError, compile_query, get_entity
from core.query.entities import ENTITIES

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "iso-8859-15")
ROWS_PER_QUERY = 500
GERMAN_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
GERMAN_LETTERS[ord("ß")] = "ss"


def file_slug(text: str) -> str:
    """Text as a file-name part: umlauts spelt out, anything unusual a dash."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(GERMAN_LETTERS))
        .encode("ascii", "ignore")
        .decode()
    )
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text).strip("-.")


def cell(value: Any) -> str:
    """A value as CSV text: dates ISO, date-times in local time, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class RecordColumns:
    """Field paths of the query builder (``partner.number``) read for pages of records of
    one entity. An unknown field is named with its position in ``numbers`` (or in
    ``paths``): ``extraction.columns[1].field: unknown field 'nickname' on partners``."""

    def __init__(
        self,
        entity: str,
        paths: Sequence[str],
        where: str = "columns",
        numbers: Sequence[int] | None = None,
    ):
        if entity not in ENTITIES:
            raise ValueError(f"{entity!r} records have no fields to extract")
        for index, path in zip(numbers or range(len(paths)), paths, strict=True):
            try:
                compile_query(QueryDefinition(root=entity, output=[path]))
            except QueryError as exc:
                raise ValueError(f"{where}[{index}].field: {exc.problem}") from None
        unique = list(dict.fromkeys(paths))
        self.positions = [unique.index(path) for path in paths]
        root = get_entity(entity)
        self.statement = (
            compile_query(QueryDefinition(root=entity, output=unique))
            .select_rows()
            .add_columns(root.id_column.label("record_id"))
            .where(root.id_column.in_(bindparam("ids", expanding=True)))
        )

    def cells(self, session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
        """The cells of each record of ``ids`` that still exists, by record id."""
        if not ids:
            return {}
        return {
            row[-1]: [cell(row[position]) for position in self.positions]
            for row in session.execute(self.statement, {"ids": list(ids)})
        }


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` that becomes ``path`` when the block succeeds."""
    partial = path.with_name(f".{path.name}.part")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def write_csv(
    path: Path,
    headings: Sequence[str],
    rows: Iterable[tuple[str, Sequence[str]]],
    dialect: CsvDialect,
    *,
    header: bool = True,
) -> int:
    """Write ``rows`` (a label for errors, and the cells) as a CSV file that appears whole or
    not at all, and count them. A value the encoding cannot hold is a ValueError: ``row 3
    (contacts:17), column 'Name': 'Łukasiewicz' cannot be written in iso-8859-15``."""
    count = 0
    with written_whole(path) as partial, open_csv(partial, dialect) as writer:
        if header:
            _write_row(writer, headings, headings, "the header")
        for label, cells in rows:
            count += 1
            _write_row(writer, headings, cells, f"row {count} ({label})")
    return count


def _write_row(
    writer: CsvWriter, headings: Sequence[str], cells: Sequence[str], where: str
) -> None:
    try:
        writer.writerow(cells)
    except UnicodeEncodeError:
        encoding = writer.dialect.encoding
        for heading, value in zip(headings, cells, strict=True):
            try:
                value.encode(encoding)
            except UnicodeEncodeError:
                raise ValueError(
                    f"{where}, column {heading!r}: {value!r} cannot be written in {encoding}"
                ) from None
        raise
