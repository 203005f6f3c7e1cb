"""The one writer of every CSV file the product produces: query exports, print manifests,
extraction files, document indexes.

Two things are decided here so that no export can forget them:

- **Formula injection** (OWASP "CSV injection"): a spreadsheet runs a cell that begins with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula
  (``=HYPERLINK("http://evil", "Klick")``). Such a cell is written with a leading single
  quote, which spreadsheets show as text. Plain numbers (``-12.50``, ``-1.234,50``) are no
  formula and stay as they are. Only a file explicitly meant for a machine (a provider's
  extraction format that needs raw values, ``CsvDialect.raw_values``) keeps every cell raw.
- **The dialect** a person's spreadsheet expects: German Excel reads UTF-8 only with a BOM
  and splits on ``;``; English spreadsheets expect UTF-8 and ``,``. A provider's file uses
  the delimiter and encoding its format is configured with.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")
"""A number as the product writes it (``-12.50``, ``-1.234,50``, ``+4930123``): no formula."""


def neutralise(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a leading quote before a formula start."""
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: delimiter, encoding, BOM, and whether cells stay raw."""

    delimiter: str = ","
    encoding: str = "utf-8"
    bom: bool = False
    """Start the file with a byte order mark (German Excel needs it to read UTF-8)."""
    raw_values: bool = False
    """True only for files a machine reads: no cell is neutralised."""

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in "\"'\r\n":
            raise ValueError(f"delimiter {self.delimiter!r} must be one character, not a quote")

    @property
    def file_encoding(self) -> str:
        """The codec to open the file with; ``utf-8-sig`` writes the BOM itself."""
        if self.bom and self.encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
            return "utf-8-sig"
        return self.encoding


SPREADSHEET_DIALECTS = {
    "de": CsvDialect(delimiter=";", encoding="utf-8", bom=True),
    "en": CsvDialect(delimiter=",", encoding="utf-8"),
}
"""What a person's spreadsheet opens correctly, by the person's language."""


def spreadsheet_dialect(language: str | None) -> CsvDialect:
    """The dialect for a person who reads the file in a spreadsheet (German by default)."""
    return SPREADSHEET_DIALECTS.get(language or "de", SPREADSHEET_DIALECTS["de"])


class CsvWriter:
    """``csv.writer`` that neutralises formula cells unless the dialect keeps them raw."""

    def __init__(self, file: TextIO, dialect: CsvDialect):
        self.dialect = dialect
        self._writer = csv.writer(file, delimiter=dialect.delimiter, lineterminator="\r\n")

    def cells(self, row: Iterable[Any]) -> list[str]:
        """The row's cells as they are written: text, neutralised where needed."""
        texts = ["" if value is None else str(value) for value in row]
        return texts if self.dialect.raw_values else [neutralise(text) for text in texts]

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(self.cells(row))


@contextmanager
def open_csv(path: Path, dialect: CsvDialect) -> Iterator[CsvWriter]:
    """A writer on ``path`` in the dialect's encoding (with its BOM); the caller decides
    where the file goes (a temporary name, usually)."""
    with path.open("w", encoding=dialect.file_encoding, newline="") as file:
        yield CsvWriter(file, dialect)


def csv_text(batches: Iterable[Iterable[Sequence[Any]]], dialect: CsvDialect) -> Iterator[str]:
    """The file as text, one chunk per batch of rows, for a streamed download; the first
    chunk starts with the BOM when the dialect has one (the response encodes it as UTF-8)."""
    buffer = _Buffer()
    writer = CsvWriter(buffer, dialect)  # type: ignore[arg-type]
    prefix = "\ufeff" if dialect.bom else ""
    for batch in batches:
        for row in batch:
            writer.writerow(row)
        yield prefix + buffer.take()
        prefix = ""


class _Buffer:
    """The smallest text sink ``csv.writer`` needs, emptied after every row."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self._parts)
        self._parts.clear()
        return text
