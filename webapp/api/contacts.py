"""Contacts: read, create, update, bulk upsert, and their dispatch block and opt-outs.

Creating, updating and the bulk upsert go through the address book's import rules
(``webapp.contact_import``): the same checks, matching and consent events as a CSV import.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from core.contact_events import set_consent
from core.models import Contact, Role
from webapp.api import models
from webapp.api.auth import actor, audit, via
from webapp.api.blueprint import bp
from webapp.api.paging import PageQuery, page
from webapp.api.problems import ApiProblem, FieldProblem, from_message
from webapp.api.spec import operation
from webapp.contact_import import import_and_record, import_contacts, parse_records, plan_rows
from webapp.contact_numbers import new_contact_numbers
from webapp.context import db_session
from webapp.csv_import import CsvImportError, RowError

TAG = "contacts"
API_SOURCE = "api"
"""``ContactEvent.source`` of consent changes made through the API."""


def contact_model(contact: Contact) -> models.Contact:
    return models.Contact.model_validate(
        {name: getattr(contact, name) for name in models.Contact.model_fields}
    )


def load_contact(contact_id: int) -> Contact:
    contact = db_session().get(Contact, contact_id)
    if contact is None:
        raise ApiProblem(404, f"contact {contact_id} does not exist")
    return contact


def _row_problems(errors: list[RowError], prefix: str = "rows") -> list[models.RowProblem]:
    return [
        models.RowProblem(
            row=error.line,
            errors=[
                {
                    "field": f"{prefix}.{error.line}.{problem.field or ''}".rstrip("."),
                    "detail": problem.text,
                }
                for problem in error.problems
            ],
        )
        for error in errors
    ]


def _rows(fields: list[models.ContactFields]) -> list[dict[str, Any]]:
    return [row.model_dump(exclude_none=True, mode="json") for row in fields]


@operation(
    bp,
    "GET",
    "/contacts",
    summary="List contacts",
    tag=TAG,
    role=Role.VIEWER,
    query=models.ContactListQuery,
    response=models.ContactPage,
)
def list_contacts(query: models.ContactListQuery) -> models.ContactPage:
    """By id; filter by exact e-mail address (any case) or contact number."""
    statement = select(Contact)
    if query.email:
        statement = statement.where(func.lower(Contact.email) == query.email.lower())
    if query.number:
        statement = statement.where(Contact.number == query.number)
    rows, cursor = page(
        db_session(), statement, Contact.id, PageQuery(cursor=query.cursor, limit=query.limit)
    )
    return models.ContactPage(items=[contact_model(c) for c in rows], next_cursor=cursor)


@operation(
    bp,
    "GET",
    "/contacts/<int:contact_id>",
    summary="Read a contact",
    tag=TAG,
    role=Role.VIEWER,
    response=models.Contact,
)
def get_contact(contact_id: int) -> models.Contact:
    return contact_model(load_contact(contact_id))


@operation(
    bp,
    "POST",
    "/contacts",
    summary="Create a contact",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.ContactFields,
    response=models.Contact,
    status=201,
)
def create_contact(body: models.ContactFields) -> models.Contact:
    """Refused if the contact number or e-mail address belongs to a contact already."""
    session = db_session()
    record = _rows([body])[0]
    match_on = "number" if body.number else "email" if body.email else "name_address"
    record["number"] = body.number or new_contact_numbers(session, 1)[0]
    plan = plan_rows(session, parse_records([record]), match_on=match_on)
    if plan.errors:
        problems = [
            FieldProblem(field=problem.field or "body", detail=problem.text)
            for problem in plan.errors[0].problems
        ]
        status = (
            409 if any(p.code in ("exists", "ambiguous") for p in plan.errors[0].problems) else 422
        )
        raise ApiProblem(status, "; ".join(f"{p.field}: {p.detail}" for p in problems), problems)
    import_contacts(session, plan, actor=actor())
    contact = session.scalar(select(Contact).where(Contact.number == record["number"]))
    audit("contact.create", "contact", contact.id, contact.number)
    session.commit()
    return contact_model(contact)


@operation(
    bp,
    "PATCH",
    "/contacts/<int:contact_id>",
    summary="Update a contact",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.ContactFields,
    response=models.Contact,
)
def update_contact(contact_id: int, body: models.ContactFields) -> models.Contact:
    """The fields given replace the contact's; fields left out stay as they are."""
    session = db_session()
    contact = load_contact(contact_id)
    given = _rows([body])[0]
    parsed = parse_records([{"number": contact.number, **given}])
    if parsed.errors:
        problems = [
            FieldProblem(field=problem.field or "body", detail=problem.text)
            for problem in parsed.errors[0].problems
        ]
        raise ApiProblem(422, "; ".join(f"{p.field}: {p.detail}" for p in problems), problems)
    if body.number and body.number != contact.number:
        taken = session.scalar(select(Contact.id).where(Contact.number == body.number))
        if taken is not None:
            raise from_message(f"number: {body.number!r} belongs to contact {taken}", 409)
    data = parsed.rows[0].data
    consent = {name: data.pop(name) for name in list(data) if name in models.Consent.model_fields}
    changed = {name: value for name, value in data.items() if name in given}
    for name, value in changed.items():
        setattr(contact, name, value)
    if consent:
        set_consent(session, contact, consent, actor=actor(), source=API_SOURCE)
    audit("contact.update", "contact", contact.id, contact.number, {"fields": sorted(given)})
    session.commit()
    return contact_model(contact)


@operation(
    bp,
    "PUT",
    "/contacts/<int:contact_id>/consent",
    summary="Set dispatch block and opt-outs",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.Consent,
    response=models.Contact,
)
def set_contact_consent(contact_id: int, body: models.Consent) -> models.Contact:
    """Each change is recorded in the contact's consent history with the token's user."""
    session = db_session()
    contact = load_contact(contact_id)
    values = body.model_dump(exclude_none=True)
    changes = set_consent(session, contact, values, actor=actor(), source=API_SOURCE)
    if changes:
        audit(
            "contact.consent",
            "contact",
            contact.id,
            contact.number,
            {name: list(change) for name, change in changes.items()},
        )
    session.commit()
    return contact_model(contact)


@operation(
    bp,
    "POST",
    "/contacts/bulk",
    summary="Create or update up to 10,000 contacts",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.BulkUpsert,
    response=models.BulkResult,
)
def bulk_upsert(body: models.BulkUpsert) -> models.BulkResult:
    """Every row is checked and matched before anything is stored; a row with a problem
    stops the whole request (``stored`` false, each row's errors listed) unless
    ``only_valid_rows`` is set."""
    session = db_session()
    try:
        plan = plan_rows(
            session,
            parse_records(_rows(body.rows)),
            update_existing=body.update_existing,
            match_on=body.match_on,
        )
    except CsvImportError as exc:
        raise from_message(str(exc)) from None
    errors = _row_problems(plan.errors)
    if plan.errors and not body.only_valid_rows:
        return models.BulkResult(created=0, updated=0, stored=False, errors=errors)
    report = import_and_record(
        session, plan, source_name="API", only_valid_rows=True, actor=actor(), via=via()
    )
    session.commit()
    return models.BulkResult(
        created=report.created, updated=report.updated, stored=True, errors=errors
    )
