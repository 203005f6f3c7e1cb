"""Saved queries ("queries and lists") compiled for campaigns: read from the database each time,
so a campaign always runs the query as it was last saved."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.messages import ExplainedError, stored
from core.models import SavedQuery
from core.query.compiler import CompiledQuery, compile_query
from core.query.definition import QueryError


class SavedQueryNotFound(ExplainedError, LookupError):
    """The saved query a campaign names is gone, or is no distribution list."""


def compile_saved_query(
    session: Session, saved_query_id: int, *, distribution_list: bool = False
) -> CompiledQuery:
    """The saved query compiled; SavedQueryNotFound if it does not exist (or, when
    ``distribution_list``, is not flagged "distribution list for campaign")."""
    saved = session.get(SavedQuery, saved_query_id)
    if saved is None:
        raise SavedQueryNotFound(
            stored("distribution list {id} does not exist", id=str(saved_query_id))
            if distribution_list
            else stored("saved query {id} does not exist", id=str(saved_query_id))
        )
    if distribution_list and not saved.is_distribution_list:
        raise SavedQueryNotFound(
            stored(
                "saved query '{name}' ({id}) is not flagged as a distribution list for campaigns",
                name=saved.name,
                id=str(saved.id),
            )
        )
    try:
        return compile_query(saved.definition)
    except QueryError as exc:
        named = {"name": saved.name, "id": str(saved.id), "problem": exc.text}
        raise QueryError(
            stored("distribution list '{name}' ({id}) is invalid: {problem}", **named)
            if distribution_list
            else stored("saved query '{name}' ({id}) is invalid: {problem}", **named)
        ) from None
