"""Plain data handed to lifecycle and web hooks, so plugins never touch ORM objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal


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
    """A panel of the dashboard: a template fragment and the loader of its values (None
    hides the panel); shown to users holding ``role`` or above. ``placement`` is
    ``banner`` (above everything), ``main`` (lists) or ``side`` (small figures)."""

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
    """``service`` (priced by a provider service for the count), ``estimate`` (the
    campaign's own estimated cost), ``none`` (neither is set) or ``error``."""
    service: str | None = None
    problem: str | None = None
