"""Plain data handed to hooks, so that plugins never touch ORM objects, and ``record_events``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.messages import StoredText


@dataclass(frozen=True, slots=True)
class RunEvent:
    """A campaign run as lifecycle hooks see it."""

    run_id: int
    campaign_id: int
    campaign_name: str
    action: str
    state: str
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemEvent:
    """The recorded outcome for one recipient or group of a run."""

    key: str
    status: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class MenuItem:
    """An entry in the web panel's navigation; shown to users holding ``role`` or above."""

    title: str
    endpoint: str
    role: str = "viewer"
    order: int = 100


@dataclass(frozen=True, slots=True)
class DashboardPanel:
    """A dashboard panel: a template fragment and the loader of its values (None hides it),
    shown to ``role`` or above, as a ``banner``, in the ``main`` column or at the ``side``."""

    name: str
    template: str
    load: Callable[[], dict[str, Any] | None]
    role: str = "viewer"
    placement: Literal["banner", "main", "side"] = "main"
    order: int = 100


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """What the run would cost, or why no estimate can be given."""

    amount: Decimal | None
    source: str
    """``service`` (a provider service's prices), ``estimate`` (the campaign's), ``none`` or
    ``error``."""
    service: str | None = None
    problem: StoredText | None = None
    """Why the service's prices fail (``error``), for each reader in their language."""


@dataclass(frozen=True, slots=True)
class EventType:
    """A kind of domain event (``run.finished``); ``title`` is a message id the panel translates."""

    name: str
    title: str


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened, recorded with the change that caused it; ``data`` is plain JSON."""

    type: str
    data: Mapping[str, Any]
    occurred_at: datetime


CORE_EVENT_TYPES = (
    EventType("run.started", "events.run.started"),
    EventType("run.finished", "events.run.finished"),
    EventType("run.failed", "events.run.failed"),
    EventType("contact.unsubscribed", "events.contact.unsubscribed"),
)


def record_events(session: Session, events: Iterable[DomainEvent]) -> None:
    """Hand ``events`` to the plugins of the session's database, in its transaction, so that
    what they write for them commits or rolls back with the change."""
    recorded = list(events)
    plugins = session.info.get("plugins")
    if recorded and plugins is not None:
        plugins.hook.events_recorded(session=session, events=recorded)
