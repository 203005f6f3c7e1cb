"""The dashboard's panels: each area adds what a user should see first.

A panel is a template fragment with a loader that returns its values (or None to hide the
panel, e.g. when there is nothing to show). Banners sit above everything (a stopped
workflow, a failing queue), the main column holds lists, the side column small figures.
Other areas and later features add panels with ``add_panel`` at import time::

    add_panel(Panel("approvals", "approvals/_dashboard.html", load_pending, Role.REVIEWER))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.models import Role, User

Placement = Literal["banner", "main", "side"]


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    load: Callable[[], dict[str, Any] | None]
    role: Role = Role.VIEWER
    placement: Placement = "main"
    order: int = 100


@dataclass(frozen=True)
class LoadedPanel:
    name: str
    template: str
    values: dict[str, Any]


PANELS: list[Panel] = []


def add_panel(panel: Panel) -> None:
    """Add a panel; a second panel of the same name replaces the first."""
    PANELS[:] = [existing for existing in PANELS if existing.name != panel.name]
    PANELS.append(panel)


def panels_for(user: User, placement: Placement) -> list[LoadedPanel]:
    """The panels of ``placement`` the user's role may see, loaded, in order."""
    shown = []
    for panel in sorted(PANELS, key=lambda p: (p.order, p.name)):
        if panel.placement != placement or not user.role.includes(panel.role):
            continue
        values = panel.load()
        if values is not None:
            shown.append(LoadedPanel(panel.name, panel.template, values))
    return shown
