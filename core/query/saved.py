"""Saved queries ("queries and lists") compiled for campaigns: read from the database each time,
so a campaign always runs the query as it was last saved."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import SavedQuery
from core.query.compiler import CompiledQuery, compile_query
from core.query.errors import QueryError


def compile_saved_query(
    session: Session, saved_query_id: int, *, distribution_list: bool = False
) -> CompiledQuery:
    """The saved query compiled; LookupError if it does not exist (or, when
    ``distribution_list``, is not flagged "distribution list for campaign")."""
    what = "distribution list" if distribution_list else "saved query"
    saved = session.get(SavedQuery, saved_query_id)
    if saved is None:
        raise LookupError(f"{what} {saved_query_id} does not exist")
    if distribution_list and not saved.is_distribution_list:
        raise LookupError(
            f"saved query {saved.name!r} ({saved.id}) is not flagged as a distribution list "
            "for campaigns"
        )
    try:
        return compile_query(saved.definition)
    except QueryError as exc:
        raise QueryError(f"{what} {saved.name!r} ({saved.id}) is invalid: {exc}") from None


__all__ = ["compile_saved_query"]
