"""Recording and reading the audit log. An entry is added to the caller's session, so it
commits with the change it describes or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.messages import StoredText, english_text, stored_json
from core.models import AuditEntry

ACTION_MAX = 80


def record_audit(
    session: Session,
    actor: str | None,
    action: str,
    target_type: str,
    target_id: object = None,
    summary: StoredText | str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry such as ``record_audit(s, "anna", "report.delete", "report", 7, "Flyer")``.

    ``action`` is a dotted verb ("campaign.update", "approval.approve"); ``summary`` is a
    name shown as it is, or a sentence as a stored text (``core.messages.stored``), shown in
    the reader's language; ``details`` must be plain JSON data (ids, names, counts), never
    secrets.
    """
    if not action or len(action) > ACTION_MAX:
        raise ValueError(f"an audit action needs 1 to {ACTION_MAX} characters, got {action!r}")
    entry = AuditEntry(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        summary=english_text(summary),
        summary_message=stored_json(summary),
        details=dict(details or {}),
    )
    session.add(entry)
    return entry


def audit_query(
    actor: str | None = None,
    action_prefix: str | None = None,
    target_type: str | None = None,
    target_id: object = None,
) -> Select[tuple[AuditEntry]]:
    """Entries matching every given criterion, newest first (paginate the result)."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action_prefix:
        query = query.where(AuditEntry.action.startswith(action_prefix, autoescape=True))
    if target_type is not None:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == str(target_id))
    return query
