"""What the contact import and the campaign data import share in the panel: an uploaded
file's size known before it is read, the file kept between preview and import without
reading it into memory, and each row's problems in the user's language."""

from __future__ import annotations

import io
import time
from pathlib import Path

from werkzeug.datastructures import FileStorage

from webapp.csv_import import CsvImportError, Problem, RowError
from webapp.i18n import t

PARTIAL_SUFFIX = ".part"


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
