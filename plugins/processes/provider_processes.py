"""Reading a provider service's process (``ServiceProcess``): the extraction file's columns and
name, the e-mail to the provider ("router"), and the format of the provider's result file.

The supplier workflow uses these; the web panel's process form checks a process with
``check_file_name_pattern`` and ``check_notification`` (and checks of its own) before storing
it, so a mistake is named when it is made, not at three in the morning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.documents.extraction import ENCODINGS, file_slug
from core.documents.templating import LOCAL_TIME, TemplateError, compile_template
from core.messages import ExplainedError, StoredText, stored_for
from core.messaging.mail import valid_email
from core.uploads import NamePatternError, fill_name_pattern
from core.validation import problem_text, validation_problems
from plugins.processes.models import ServiceProcess

stored = stored_for(__name__)

REFERENCE_FIELD = "@reference"
"""The export field that holds each letter's reference (``<delivery id>-<ledger row id>``),
which the provider's result file gives back."""
DATE_PARTS = {
    "date": "%Y%m%d",
    "time": "%H%M%S",
    "year": "%Y",
    "month": "%m",
    "day": "%d",
    "hour": "%H",
    "minute": "%M",
    "second": "%S",
}
"""The run's start in German time, as file-name placeholders."""
DEFAULT_SUBJECT = "{{ delivery }} ({{ campaign }}): {{ count }} letters, {{ file }}"
DEFAULT_TEXT = (
    "The extraction file {{ file }} of {{ campaign }} / {{ delivery }} with {{ count }} "
    "letters is attached{% if location %} and was delivered to {{ location }}{% endif %}."
)
MAX_SUBJECT = 300
MAX_NOTIFICATION = 20_000
"""Characters of the e-mail text template (the panel's limit)."""
SAMPLE_MAIL_VALUES: dict[str, Any] = {
    "campaign": "Frühjahrsaktion 2026",
    "delivery": "Brief 1",
    "count": 1234,
    "file": "Fruehjahrsaktion-2026-Brief-1-20260302.csv",
    "planned_start": "02.03.2026 09:00",
    "provider": "Druckerei Nord",
    "service": "Briefdruck",
    "date": "02.03.2026",
    "location": "sftp://upload.druckerei-nord.de/auftraege",
}
"""What the notification templates are test-rendered with when they are saved: every field
the workflow fills in, each filled in as the workflow fills it."""


@dataclass(frozen=True)
class ExportColumn:
    header: str
    field: str


def export_columns(process: ServiceProcess) -> list[ExportColumn]:
    """The extraction file's columns, each ``{"header": …, "field": …}`` (header defaults to
    the field); ExplainedError naming the column at fault."""
    columns = []
    for index, entry in enumerate(process.export_columns or []):
        if not isinstance(entry, Mapping):
            raise ExplainedError(
                stored(
                    "export_columns[{index}]: expected {{'header': …, 'field': …}}, got {entry}",
                    index=index,
                    entry=repr(entry),
                )
            )
        unknown = set(entry) - {"header", "field"}
        if unknown:
            raise ExplainedError(
                stored(
                    "export_columns[{index}]: unknown key(s) {keys}",
                    index=index,
                    keys=", ".join(sorted(unknown)),
                )
            )
        field = entry.get("field")
        if not isinstance(field, str) or not field.strip():
            raise ExplainedError(
                stored(
                    "export_columns[{index}].field: name a field such as 'last_name' or "
                    "'@reference'",
                    index=index,
                )
            )
        header = entry.get("header") or field
        if not isinstance(header, str):
            raise ExplainedError(
                stored("export_columns[{index}].header: must be text", index=index)
            )
        columns.append(ExportColumn(header.strip(), field.strip()))
    if not columns:
        raise ExplainedError(
            stored("export_columns: the extraction file needs at least one column")
        )
    return columns


def reference(delivery_id: int, item_id: int) -> str:
    return f"{delivery_id}-{item_id}"


def file_name(pattern: str, values: Mapping[str, str]) -> str:
    """The extraction file's name from ``file_name_pattern`` and ``name_values``: ``{name}``
    placeholders only (the keys of ``name_values``); ExplainedError when the pattern or the name is
    unusable."""
    try:
        return fill_name_pattern(pattern, values)
    except NamePatternError as exc:
        raise ExplainedError(stored("file_name_pattern: {problem}", problem=exc.text)) from None


def check_file_name_pattern(pattern: str) -> str:
    """The name ``pattern`` gives for a sample run; NamePatternError (unprefixed) if none."""
    return fill_name_pattern(
        pattern, name_values("Kampagne", "Brief", 1, 1, 1, datetime.now(LOCAL_TIME))
    )


def name_values(
    campaign: str, delivery: str, delivery_id: int, run: int, run_id: int, started: datetime
) -> dict[str, str]:
    """What a file name pattern can say about an extraction run: names as file-name parts,
    the run's start in local time."""
    local = started.astimezone(LOCAL_TIME)
    return {
        "campaign": file_slug(campaign) or "campaign",
        "delivery": file_slug(delivery) or "delivery",
        "delivery_id": str(delivery_id),
        "run": str(run),
        "run_id": str(run_id),
        **{name: local.strftime(code) for name, code in DATE_PARTS.items()},
    }


def recipients(process: ServiceProcess, provider_email: str | None) -> list[str]:
    """Who gets the e-mail about the file: the process's recipients, else the provider's own
    address; ExplainedError naming an address that is not one."""
    addresses = [address.strip() for address in process.notification_recipients or []]
    if not addresses and provider_email:
        addresses = [provider_email.strip()]
    for index, address in enumerate(addresses):
        if not valid_email(address):
            raise ExplainedError(
                stored(
                    "notification_recipients[{index}]: '{address}' is not an e-mail address",
                    index=index,
                    address=address,
                )
            )
    return addresses


def router_message(process: ServiceProcess, values: Mapping[str, Any]) -> tuple[str, str]:
    """Subject (one line) and text of the e-mail to the provider, rendered in the template
    sandbox from ``values`` (the fields of ``SAMPLE_MAIL_VALUES``); ExplainedError naming
    the template and its line."""
    subject = _render(
        "notification_subject",
        process.notification_subject or DEFAULT_SUBJECT,
        values,
        max_output=MAX_SUBJECT,
    )
    text = _render("notification_template", process.notification_template or DEFAULT_TEXT, values)
    return " ".join(subject.split()), text


def _render(field: str, source: str, values: Mapping[str, Any], max_output: int = 1_000_000) -> str:
    try:
        return render_notification(field, source, values, max_output)
    except TemplateError as exc:
        if field == "notification_subject":
            raise ExplainedError(
                stored("notification_subject: {problem}", problem=exc.text)
            ) from None
        raise ExplainedError(stored("notification_template: {problem}", problem=exc.text)) from None


def render_notification(
    field: str, source: str, values: Mapping[str, Any], max_output: int | None = None
) -> str:
    """``notification_subject`` or ``notification_template`` rendered in the sandbox, with the
    limits the workflow applies; TemplateError with the line and the reason."""
    if max_output is None:
        max_output = MAX_SUBJECT if field == "notification_subject" else 1_000_000
    template = compile_template(
        source, html=False, max_source=MAX_NOTIFICATION, max_output=max_output
    )
    return str(template.render(dict(values)))


def check_notification(field: str, source: str) -> None:
    """Compile and test-render a notification template as it will be rendered, with
    ``SAMPLE_MAIL_VALUES``: unknown placeholders, what the sandbox refuses and limits are
    found when it is saved, not when the workflow runs. TemplateError with line and reason."""
    render_notification(field, source, SAMPLE_MAIL_VALUES)


class ResultFormat(BaseModel):
    """How to read a provider's result file (``ServiceProcess.result_format``)."""

    model_config = ConfigDict(extra="forbid")

    key_column: str = Field(
        min_length=1,
        description="Column with each letter's reference, as the extraction file's "
        "'@reference' column gave it.",
    )
    status_column: str = Field(min_length=1, description="Column with the letter's outcome.")
    sent_values: list[str] = Field(
        min_length=1, description="Outcomes that mean sent (case and spaces ignored)."
    )
    failed_values: list[str] = Field(
        default_factory=list,
        description="Outcomes that mean failed; empty: every outcome not sent is failed.",
    )
    reason_column: str | None = Field(None, description="Column with why a letter failed.")
    cost_column: str | None = Field(
        None,
        description="Column with what the provider charges per letter; their sum is "
        "the delivery's real cost.",
    )
    delimiter: str = Field(";", min_length=1, max_length=1)
    encoding: Literal[ENCODINGS] = "utf-8"  # type: ignore[valid-type]
    inbox: str | None = Field(
        None,
        description="Directory the provider's result files arrive in; empty: "
        "$CAMPAIGN_DATA_DIR/provider-results/service-<id>.",
    )

    @field_validator("sent_values", "failed_values")
    @classmethod
    def _normalised(cls, values: list[str]) -> list[str]:
        return [normalised(value) for value in values]

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> ResultFormat:
        """The format; ExplainedError naming each problem (pydantic's by its kind, as a
        settings form says it)."""
        if raw is None:
            raise ExplainedError(stored("result_format: the service has no result file format"))
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = [
                problem_text(f"result_format.{location}", message, __name__)
                for location, message in validation_problems(exc)
            ]
            raise ExplainedError(one_after_another(problems)) from None


def one_after_another(texts: list[StoredText | str]) -> StoredText | str:
    """``texts`` joined with "; " (a stored list parameter joins with commas, which the
    problems themselves contain)."""
    joined = texts[0]
    for text in texts[1:]:
        joined = stored("{before}; {after}", before=joined, after=text)
    return joined


def normalised(value: str) -> str:
    return " ".join(str(value).split()).casefold()


def check_reference_column(process: ServiceProcess) -> None:
    """A process with a result file needs the reference column in its extraction file."""
    ResultFormat.of(process.result_format)
    if not any(column.field == REFERENCE_FIELD for column in export_columns(process)):
        raise ExplainedError(
            stored(
                "export_columns: a result file is matched by the letters' references: add a "
                "column {{'header': 'Referenz', 'field': '{field}'}}",
                field=REFERENCE_FIELD,
            )
        )
