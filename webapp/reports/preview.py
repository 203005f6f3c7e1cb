"""The editor's live preview: the report as it stands in the form, for one sample recipient.

The preview renders through ``core.documents.rendering`` exactly as a campaign prints (sandbox,
limits, confined resources), from a ``Report`` that is never stored, so unsaved edits can be seen
without saving them. Without a chosen contact it uses a made-up sample recipient.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.documents.rendering import PdfError, ReportError, ReportRenderer
from core.documents.templating import LOCAL_TIME, TemplateError, compile_template
from core.models import Contact, Report, ReportAsset
from core.query import load_records, record_fields
from webapp.contacts.search import ContactFilters, contact_query, dialect_of
from webapp.i18n import stored_text

ENTITY = "contacts"
SAMPLE_RECIPIENT = {
    "number": "K-000000",
    "kind": "person",
    "salutation": "Frau",
    "first_name": "Erika",
    "last_name": "Mustermann",
    "street": "Musterstraße 12",
    "postcode": "50667",
    "city": "Köln",
    "country": "DE",
    "email": "erika.mustermann@example.de",
    "language": "de",
    "status": "customer",
    "preferred_channel": "post",
}


class PreviewProblem(Exception):
    """Why the preview could not be rendered; ``field`` is the form field to blame, if any."""

    def __init__(self, message: str, field: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line


def find_sample(session: Session, text: str) -> int | None:
    """A contact by its number, else the first (by number) the contact search finds."""
    text = text.strip()
    found = session.scalar(select(Contact.id).where(Contact.number == text))
    if found is None:
        search = contact_query(ContactFilters(text=text, sort="number"), dialect_of(session))
        found = session.scalar(search.with_only_columns(Contact.id).limit(1))
    return found


def sample_record(session: Session, contact_id: int | None) -> dict[str, Any]:
    """The contact's record as a campaign would hand it to the report, or the sample."""
    if contact_id is not None:
        record = load_records(session, ENTITY, [contact_id]).get(contact_id)
        if record is not None:
            return record
    return {field: None for field in record_fields(ENTITY)} | SAMPLE_RECIPIENT


def unsaved_copy(stored: Report | None) -> Report:
    """A report that is never added to the session, with the stored report's images and fonts."""
    report = Report()
    if stored is not None:
        report.id = stored.id
        for asset in stored.assets:
            report.assets.append(ReportAsset(filename=asset.filename, data=asset.data))
    return report


def render_preview(
    session: Session,
    report: Report,
    record: dict[str, Any],
    cache_dir: Path,
    campaign_name: str,
) -> bytes:
    """The PDF of ``report`` for ``record``; PreviewProblem names what went wrong and where."""
    try:
        renderer = ReportRenderer(session, report, cache_dir)
        values = renderer.values(
            record,
            ENTITY,
            number=None,
            day=utcnow().astimezone(LOCAL_TIME).date(),
            campaign={"id": None, "name": campaign_name},
        )
    except TemplateError as exc:  # an address pattern or text block
        raise PreviewProblem(stored_text(exc.reason), None, exc.lineno) from None
    except ReportError as exc:
        raise PreviewProblem(stored_text(exc.text)) from None
    try:
        compile_template(report.layout).render(values)
    except TemplateError as exc:
        raise PreviewProblem(stored_text(exc.reason), "layout", exc.lineno) from None
    try:
        return renderer.render(
            record,
            ENTITY,
            number=None,
            day=values["date"],
            campaign=values["campaign"],
        )
    except TemplateError as exc:  # a letterhead, header or footer
        raise PreviewProblem(stored_text(exc.reason), None, exc.lineno) from None
    except (ReportError, PdfError) as exc:
        raise PreviewProblem(stored_text(exc.text)) from None
