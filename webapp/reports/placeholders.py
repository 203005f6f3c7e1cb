"""The field list beside the layout editor: every placeholder a report for contacts can use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import TextBlock
from core.query import ENTITIES
from webapp.i18n import t

ENTITY = "contacts"


@dataclass(frozen=True)
class Placeholder:
    code: str
    """What is inserted, e.g. ``{{ recipient.last_name }}``."""
    title: str


@dataclass(frozen=True)
class PlaceholderGroup:
    key: str
    """``webapp.i18n`` key of the group's title."""
    items: list[Placeholder]


def _field(path: str) -> str:
    return "{{ " + path + " }}"


def placeholder_groups(session: Session) -> list[PlaceholderGroup]:
    entity = ENTITIES[ENTITY]
    recipient = [
        Placeholder(_field(f"recipient.{name}"), t(spec.title))
        for name, spec in entity.fields.items()
    ]
    related = []
    for relation in entity.relations.values():
        if relation.to_many:
            continue
        target = ENTITIES[relation.target]
        related += [
            Placeholder(
                _field(f"recipient.{relation.name}.{name}"),
                f"{t(relation.title)}: {t(spec.title)}",
            )
            for name, spec in target.fields.items()
            if name not in ("id", "created_at", "updated_at")
        ]
    letter = [
        Placeholder(_field(code), t(f"reports.placeholder.{key}"))
        for key, code in (
            ("address", "address"),
            ("date", "date | date('long')"),
            ("number", "number"),
            ("campaign", "campaign.name"),
            ("report", "report.name"),
        )
    ]
    texts = [
        Placeholder(_field(f"text.{name}"), name)
        for name in session.scalars(select(TextBlock.name).order_by(TextBlock.name))
    ]
    return [
        PlaceholderGroup("reports.fields.letter", letter),
        PlaceholderGroup("reports.fields.recipient", recipient),
        PlaceholderGroup("reports.fields.related", related),
        PlaceholderGroup("reports.fields.texts", texts),
    ]
