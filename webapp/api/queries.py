"""Saved queries: list, read, count, preview, create from the JSON query format."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.models import Role, SavedQuery
from core.query import QueryError, compile_query
from core.query.compiler import CompiledQuery
from core.query.records import plain
from webapp.api import models
from webapp.api.auth import actor, via
from webapp.api.blueprint import bp
from webapp.api.paging import PageQuery, decode, encode, page
from webapp.api.problems import ApiProblem, FieldProblem, from_message
from webapp.api.spec import operation
from webapp.context import db_session
from webapp.saved_queries import QueryNameTakenError, save_query

TAG = "saved queries"


def _model(saved: SavedQuery) -> models.SavedQuery:
    return models.SavedQuery(
        id=saved.id,
        name=saved.name,
        description=saved.description,
        definition=saved.definition,
        is_distribution_list=saved.is_distribution_list,
        created_by=saved.created_by,
    )


def _load(saved_query_id: int) -> tuple[SavedQuery, CompiledQuery]:
    saved = db_session().get(SavedQuery, saved_query_id)
    if saved is None:
        raise ApiProblem(404, f"saved query {saved_query_id} does not exist")
    try:
        return saved, compile_query(saved.definition)
    except QueryError as exc:
        raise ApiProblem(409, f"saved query {saved.name!r} is invalid: {exc}") from None


@operation(
    bp,
    "GET",
    "/queries",
    summary="List saved queries",
    tag=TAG,
    role=Role.VIEWER,
    query=PageQuery,
    response=models.SavedQueryPage,
)
def list_queries(query: PageQuery) -> models.SavedQueryPage:
    rows, cursor = page(db_session(), select(SavedQuery), SavedQuery.id, query)
    return models.SavedQueryPage(items=[_model(row) for row in rows], next_cursor=cursor)


@operation(
    bp,
    "GET",
    "/queries/<int:saved_query_id>",
    summary="Read a saved query",
    tag=TAG,
    role=Role.VIEWER,
    response=models.SavedQuery,
)
def get_query(saved_query_id: int) -> models.SavedQuery:
    saved = db_session().get(SavedQuery, saved_query_id)
    if saved is None:
        raise ApiProblem(404, f"saved query {saved_query_id} does not exist")
    return _model(saved)


@operation(
    bp,
    "GET",
    "/queries/<int:saved_query_id>/count",
    summary="Count the matching records",
    tag=TAG,
    role=Role.VIEWER,
    response=models.Count,
)
def count_query(saved_query_id: int) -> models.Count:
    _saved, compiled = _load(saved_query_id)
    return models.Count(count=db_session().scalar(compiled.select_count()) or 0)


@operation(
    bp,
    "GET",
    "/queries/<int:saved_query_id>/preview",
    summary="Preview the result list",
    tag=TAG,
    role=Role.VIEWER,
    query=models.PreviewQuery,
    response=models.Preview,
)
def preview_query(saved_query_id: int, query: models.PreviewQuery) -> models.Preview:
    """The output fields of the matching records, in the query's own order; for a grouped
    query its groups: the group fields and the aggregates (``count``, ``sum(amount)``)."""
    _saved, compiled = _load(saved_query_id)
    offset = decode(query.cursor) or 0
    if compiled.grouped:
        paths, statement = compiled.group_labels, compiled.select_groups()
    else:
        paths, statement = compiled.output_paths, compiled.select_rows()
    result = db_session().execute(statement.offset(offset).limit(query.limit + 1)).all()
    more = len(result) > query.limit
    rows: list[dict[str, Any]] = [
        {path: plain(value) for path, value in zip(paths, row, strict=True)}
        for row in result[: query.limit]
    ]
    return models.Preview(
        fields=paths, rows=rows, next_cursor=encode(offset + query.limit) if more else None
    )


@operation(
    bp,
    "POST",
    "/queries",
    summary="Save a query",
    tag=TAG,
    role=Role.CAMPAIGN_MANAGER,
    body=models.NewSavedQuery,
    response=models.SavedQuery,
    status=201,
)
def create_query(body: models.NewSavedQuery) -> models.SavedQuery:
    try:
        compiled = compile_query(body.definition)
    except QueryError as exc:
        field = f"definition.{exc.location}" if exc.location else "definition"
        raise ApiProblem(
            422, f"{field}: {exc.problem}", [FieldProblem(field=field, detail=exc.problem)]
        ) from None
    name = body.name.strip()
    if not name:
        raise from_message("name: must not be empty")
    session = db_session()
    try:
        saved = save_query(
            session,
            compiled,
            name=name,
            description=body.description,
            is_distribution_list=body.is_distribution_list,
            actor=actor(),
            via=via(),
        )
    except QueryNameTakenError as exc:
        raise from_message(str(exc), 409) from None
    session.commit()
    return _model(saved)
