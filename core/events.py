"""Plain data handed to lifecycle and web hooks, so plugins never touch ORM objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
