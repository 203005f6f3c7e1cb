"""The document archive: a contact's documents and their download."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from core.documents.archive import ArchiveIntegrityError, open_store, read_document
from core.models import ArchivedDocument, Contact, Role
from webapp.api import models
from webapp.api.blueprint import bp
from webapp.api.paging import PageQuery, page
from webapp.api.problems import ApiProblem
from webapp.api.spec import operation
from webapp.context import db_session, get_plugins, get_settings

TAG = "archive"


def _model(document: ArchivedDocument) -> models.Document:
    return models.Document(
        id=document.id,
        run_id=document.run_id,
        filename=document.filename,
        content_type=document.content_type,
        size=document.size,
        created_at=document.created_at,
    )


@operation(
    bp,
    "GET",
    "/contacts/<int:contact_id>/documents",
    summary="A contact's documents",
    tag=TAG,
    role=Role.VIEWER,
    query=PageQuery,
    response=models.DocumentPage,
)
def contact_documents(contact_id: int, query: PageQuery) -> models.DocumentPage:
    session = db_session()
    if session.get(Contact, contact_id) is None:
        raise ApiProblem(404, f"contact {contact_id} does not exist")
    statement = select(ArchivedDocument).where(ArchivedDocument.contact_id == contact_id)
    rows, cursor = page(session, statement, ArchivedDocument.id, query)
    return models.DocumentPage(items=[_model(row) for row in rows], next_cursor=cursor)


@operation(
    bp,
    "GET",
    "/documents/<int:document_id>",
    summary="Download a document",
    tag=TAG,
    role=Role.VIEWER,
    media_type="application/octet-stream",
)
def download_document(document_id: int) -> Response:
    """The stored file, checked against its checksum (409 if it was changed)."""
    found = db_session().get(ArchivedDocument, document_id)
    if found is None:
        raise ApiProblem(404, f"document {document_id} does not exist")
    try:
        data = read_document(open_store(get_plugins(), get_settings(), found.store), found)
    except ArchiveIntegrityError:
        raise ApiProblem(409, f"document {document_id} does not match its checksum") from None
    except (LookupError, OSError):
        raise ApiProblem(404, f"document {document_id} cannot be read from its store") from None
    response = Response(data, mimetype=found.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.id}"'
    return response
