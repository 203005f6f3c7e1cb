"""Saved queries ("queries and lists") compiled for campaigns: read from the database each time,
so a campaign always runs the query as it was last saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.models import SavedQuery
from core.query.compiler import CompiledQuery, compile_query
from core.query.definition import dump_definition
from core.query.errors import QueryError


class QueryNameTakenError(ValueError):
    """Another saved query has this name already."""


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


def save_query(
    session: Session,
    compiled: CompiledQuery,
    *,
    name: str,
    description: str,
    is_distribution_list: bool,
    actor: str,
    saved: SavedQuery | None = None,
    via: Mapping[str, Any] | None = None,
) -> SavedQuery:
    """Store a new saved query (or change ``saved``) with its audit entry, in the caller's
    transaction; ``QueryNameTakenError`` if another query has the name."""
    clash = session.scalar(select(SavedQuery.id).where(SavedQuery.name == name))
    if clash is not None and (saved is None or clash != saved.id):
        raise QueryNameTakenError(f"name: a saved query named {name!r} exists already")
    creating = saved is None
    target = saved or SavedQuery(created_by=actor)
    target.name = name
    target.description = description
    target.is_distribution_list = is_distribution_list
    target.definition = dump_definition(compiled.definition)
    if creating:
        session.add(target)
    session.flush()
    record_audit(
        session,
        actor,
        "query.create" if creating else "query.update",
        "saved_query",
        target.id,
        target.name,
        {
            "definition": target.definition,
            "distribution_list": target.is_distribution_list,
            **(via or {}),
        },
    )
    return target


__all__ = ["QueryNameTakenError", "compile_saved_query", "save_query"]
