"""What the contact import and the campaign data import share in the panel: an uploaded
file's size known before it is read, the file kept between preview and import without
reading it into memory, each row's problems in the user's language, and the form fields that
say how a file is read (encoding, delimiter, column mapping)."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage
from wtforms import Field
from wtforms.utils import unset_value

from webapp.contact_import import CHOICE_TITLES, CHOICES
from webapp.csv_import import CsvImportError, Problem, RowError
from webapp.forms import ChoiceField, PanelForm
from webapp.i18n import t

PARTIAL_SUFFIX = ".part"
ENCODINGS = ("", "utf-8", "cp1252", "latin-1")
"""The encodings a user may choose (catalog ``import.encoding.<name>``); empty: detected."""
DELIMITERS = {"": "", "semicolon": ";", "comma": ",", "tab": "\t", "pipe": "|"}
"""The delimiters a user may choose by name (catalog ``import.delimiter.<name>``); empty:
detected."""
MAP_PREFIX = "map:"
"""The column mapping's selects are named after the file's columns: ``map:PLZ``."""


class ReadOptionsForm(PanelForm):
    """How a file is read: encoding and delimiter, each one of those offered or empty
    (detected); a value not offered is refused."""

    encoding = ChoiceField(coerce=str)
    delimiter = ChoiceField(coerce=str)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.encoding.choices = [(name, name) for name in ENCODINGS if name]
        self.delimiter.choices = [(name, name) for name in DELIMITERS if name]

    def read_options(self) -> dict[str, str | None]:
        """Encoding and delimiter as ``read_csv`` takes them; a refused value counts as not
        given."""
        return {
            "encoding": self.encoding.data or None,
            "delimiter": DELIMITERS.get(self.delimiter.data or "") or None,
        }


def delimiter_name(delimiter: str) -> str:
    """The name ``DELIMITERS`` gives a delimiter character (what a hidden field carries), or
    empty for one not offered."""
    return next((name for name, char in DELIMITERS.items() if name and char == delimiter), "")


class MappingField(Field):
    """The column mapping: one select per column of the file, named ``map:COLUMN``, each one
    of ``fields`` or empty (the column is ignored); a field not offered is refused.
    ``submitted`` says whether the form held any of the selects."""

    def __init__(self, fields: Sequence[str], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields = fields
        self.submitted = False

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.raw_data = []
        self.data = {}
        self.submitted = False
        for key in formdata or ():
            if not key.startswith(MAP_PREFIX):
                continue
            self.submitted = True
            value = formdata.get(key)
            if not value:
                continue
            if value in self.fields:
                self.data[key.removeprefix(MAP_PREFIX)] = value
            else:
                self.process_errors.append(t("forms.not_a_choice", value=value))


def describe_import_error(error: CsvImportError) -> str:
    """Why a file cannot be imported at all, in the user's language where the reason is
    one a person can fix."""
    if not error.code:
        return str(error)
    return t(f"import.fatal.{error.code}", **error.params)


def describe_problem(problem: Problem) -> str:
    params = dict(problem.params)
    if problem.code == "choice" and problem.field in CHOICE_TITLES:
        params["allowed"] = _allowed_titles(problem.field)
    text = t(f"import.problem.{problem.code}", value=problem.value, **params)
    column = problem.column
    if column is None and problem.code in ("duplicate", "exists", "ambiguous"):
        column = t("import.problem.name_address")  # matched on name and address
    return f"{column}: {text}" if column else text


def _allowed_titles(field: str) -> str:
    """A choice field's values as the contact's page names them ("Interessent, Kunde"),
    each one a spelling the import accepts, instead of the stored codes."""
    prefix = CHOICE_TITLES[field]
    return ", ".join(sorted(t(prefix + value) for value in set(CHOICES[field].values())))


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
    partial = path.with_name(f".{path.name}{PARTIAL_SUFFIX}")
    upload.stream.seek(0)
    try:
        upload.save(partial)
        partial.replace(path)
    except BaseException:  # a full disk: no half file stays behind
        partial.unlink(missing_ok=True)
        raise
    upload.stream.seek(0)


def drop_stale_uploads(folder: Path, max_age_seconds: float) -> None:
    """Delete the kept uploads (``*.csv``) and any half-copied one older than the limit; one
    another process deletes at the same time is no error."""
    cutoff = time.time() - max_age_seconds
    for old in [*folder.glob("*.csv"), *folder.glob(f".*{PARTIAL_SUFFIX}")]:
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
