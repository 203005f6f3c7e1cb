"""What the contact import and the campaign data import share in the panel: an uploaded
file's size known before it is read, the file kept between preview and import without
reading it into memory, and each row's problems in the user's language."""

from __future__ import annotations

import io
from pathlib import Path

from werkzeug.datastructures import FileStorage

from core.csv_import import CsvImportError, Problem, RowError
from webapp.i18n import t

MESSAGES = {
    "import.problem.fields": {
        "de": "{expected} Spalten erwartet, {found} gefunden",
        "en": "expected {expected} fields, found {found}",
    },
    "import.problem.empty": {
        "de": "keine der zugeordneten Spalten hat einen Wert",
        "en": "no value in any mapped column",
    },
    "import.problem.email": {
        "de": "„{value}“ ist keine E-Mail-Adresse",
        "en": "'{value}' is not an e-mail address",
    },
    "import.problem.country": {
        "de": "„{value}“ ist kein Ländercode wie DE, AT, CH",
        "en": "'{value}' is not a country code such as DE, AT, CH",
    },
    "import.problem.postcode": {
        "de": "„{value}“ hat nicht 5 Ziffern",
        "en": "'{value}' is not 5 digits",
    },
    "import.problem.postcode_zero": {
        "de": "„{value}“ hat nicht 5 Ziffern (eine führende Null in Excel verloren?)",
        "en": "'{value}' is not 5 digits (a leading zero lost in Excel?)",
    },
    "import.problem.choice": {
        "de": "„{value}“ ist keiner der Werte {allowed}",
        "en": "'{value}' is not one of {allowed}",
    },
    "import.problem.flag": {
        "de": "„{value}“ ist weder ja noch nein (ja/nein, 1/0, x)",
        "en": "'{value}' is not yes or no (ja/nein, 1/0, x)",
    },
    "import.problem.date": {
        "de": "„{value}“ ist kein Datum wie 31.12.1980",
        "en": "'{value}' is not a date such as 31.12.1980",
    },
    "import.problem.duplicate": {
        "de": "„{value}“ steht schon in Zeile {line}",
        "en": "'{value}' appears already on line {line}",
    },
    "import.problem.exists": {
        "de": "ein Kontakt mit „{value}“ ist schon vorhanden",
        "en": "a contact with '{value}' exists already",
    },
    "import.problem.ambiguous": {
        "de": "„{value}“ passt auf {count} Kontakte",
        "en": "'{value}' matches {count} contacts",
    },
    "import.problem.name_address": {"de": "Name und Anschrift", "en": "name and address"},
    "import.fatal.undecodable": {
        "de": "Zeile {line}: das Byte {byte} ist kein gültiges Zeichen in {encoding}; bitte den "
        "Zeichensatz der Datei wählen (z. B. cp1252 für Excel-Dateien aus Windows)",
        "en": "line {line}: byte {byte} cannot be read as {encoding}; choose the file's "
        "encoding (e.g. cp1252 for Excel files from Windows)",
    },
    "import.fatal.not_mapped": {
        "de": "Zeile 1: keine Spalte ließ sich zuordnen; die erste Zeile muss die Spalten "
        "benennen (z. B. Vorname, Nachname, E-Mail), gefunden: {found}",
        "en": "line 1: no column could be mapped; the first line must name the columns "
        "(e.g. Vorname, Nachname, E-Mail), found: {found}",
    },
    "import.fatal.too_large": {
        "de": "die Datei ist größer als {megabytes} MB",
        "en": "the file is larger than {megabytes} MB",
    },
    "import.fatal.empty": {"de": "die Datei ist leer", "en": "the file is empty"},
    "import.fatal.no_header": {
        "de": "Zeile 1 ist leer; die erste Zeile muss die Spalten benennen",
        "en": "line 1: no header; the first line must name the columns",
    },
    "import.fatal.named_twice": {
        "de": "Zeile 1: Spalten doppelt benannt: {columns}",
        "en": "line 1: columns named twice: {columns}",
    },
    "import.fatal.too_many_rows": {
        "de": "die Datei hat mehr als {rows} Zeilen",
        "en": "the file has more than {rows} rows",
    },
    "import.fatal.quote": {
        "de": "Zeile {line}: ein Anführungszeichen wird nicht geschlossen",
        "en": "line {line}: a quote is left open",
    },
    "import.fatal.no_number_column": {
        "de": "keine Spalte enthält die Kundennummer; vorhandene Kontakte an der E-Mail oder "
        "an Name und Anschrift erkennen",
        "en": "no column holds the contact number; recognise existing contacts by e-mail or "
        "by name and address",
    },
}
"""The row problems of ``core.csv_import.PROBLEM_TEXTS`` in German and English."""


def describe_import_error(error: CsvImportError) -> str:
    """Why a file cannot be imported at all, in the user's language where the reason is
    one a person can fix."""
    if not error.code:
        return str(error)
    return t(f"import.fatal.{error.code}", **error.params)


def describe_problem(problem: Problem) -> str:
    text = t(f"import.problem.{problem.code}", value=problem.value, **dict(problem.params))
    column = problem.column
    if column is None and problem.code in ("duplicate", "exists", "ambiguous"):
        column = t("import.problem.name_address")  # matched on name and address
    return f"{column}: {text}" if column else text


def describe_row_error(error: RowError) -> str:
    """A row's problems in the user's language, each with the column the file names."""
    return "; ".join(describe_problem(problem) for problem in error.problems)


def upload_size(upload: FileStorage) -> int:
    """The size of an uploaded file, which the form parser spooled to a temporary file (or
    kept in memory when small), without reading it."""
    stream = upload.stream
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def save_upload(upload: FileStorage, path: Path) -> None:
    """Copy the upload to ``path`` in pieces (never whole in memory), under a temporary name
    that becomes ``path`` when complete."""
    partial = path.with_name(f".{path.name}.part")
    upload.stream.seek(0)
    upload.save(partial)
    partial.replace(path)
    upload.stream.seek(0)
