"""The one writer of every CSV file the product produces, so that no export forgets:

- **formula injection** (OWASP "CSV injection"): a cell a spreadsheet would run as a formula
  (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, but no plain number such
  as ``-1.234,50``) gets a leading quote, unless the file is for a machine
  (``CsvDialect.raw_values``);
- **the dialect** the reader expects: German Excel needs a BOM for UTF-8 and ``;``, English
  spreadsheets UTF-8 and ``,``; a provider's file its configured delimiter and encoding.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def neutralise(value: str) -> str:
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: delimiter, encoding, BOM, and whether cells stay raw."""

    delimiter: str = ","
    encoding: str = "utf-8"
    bom: bool = False
    raw_values: bool = False

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in "\"'\r\n":
            raise ValueError(f"delimiter {self.delimiter!r} must be one character, not a quote")

    @property
    def file_encoding(self) -> str:
        """``utf-8-sig`` writes the BOM itself."""
        if self.bom and self.encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
            return "utf-8-sig"
        return self.encoding


SPREADSHEET_DIALECTS = {
    "de": CsvDialect(delimiter=";", encoding="utf-8", bom=True),
    "en": CsvDialect(delimiter=",", encoding="utf-8"),
}


def spreadsheet_dialect(language: str | None) -> CsvDialect:
    """The dialect for a person who reads the file in a spreadsheet (German by default)."""
    return SPREADSHEET_DIALECTS.get(language or "de", SPREADSHEET_DIALECTS["de"])


class CsvWriter:
    """``csv.writer`` that neutralises formula cells unless the dialect keeps them raw."""

    def __init__(self, file: TextIO, dialect: CsvDialect):
        self.dialect = dialect
        self._writer = csv.writer(file, delimiter=dialect.delimiter, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        texts = ["" if value is None else str(value) for value in row]
        self._writer.writerow(texts if self.dialect.raw_values else map(neutralise, texts))


@contextmanager
def open_csv(path: Path, dialect: CsvDialect) -> Iterator[CsvWriter]:
    """A writer on ``path`` in the dialect's encoding (with its BOM)."""
    with path.open("w", encoding=dialect.file_encoding, newline="") as file:
        yield CsvWriter(file, dialect)
