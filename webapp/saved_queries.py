"""Storing a saved query with its audit entry, for the query editor and the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.models import SavedQuery
from core.query.compiler import CompiledQuery


class QueryNameTakenError(ValueError):
    """Another saved query has this name already."""


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
    target.definition = compiled.definition.model_dump(mode="json")
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
