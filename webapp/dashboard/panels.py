"""The dashboard's panels: each area adds what a user should see first.

A panel (``core.events.DashboardPanel``) is a template fragment with a loader that returns
its values (or None to hide the panel, e.g. when there is nothing to show). Banners sit
above everything (a stopped workflow, a failing queue), the main column holds lists, the
side column small figures. The panel's own panels are ``BUILT_IN_PANELS``; plugins add
theirs through the ``register_dashboard_panels`` hook::

    @hookimpl
    def register_dashboard_panels(register):
        register(DashboardPanel("approvals", "approvals/_dashboard.html", load, "reviewer"))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from core.events import DashboardPanel
from core.models import Role, User
from core.plugins import PluginHost
from webapp.context import get_campaign

log = logging.getLogger(__name__)

Placement = Literal["banner", "main", "side"]

BUILT_IN_PANELS: list[DashboardPanel] = []
"""The panel's own panels, added by ``webapp.dashboard.views`` as it is imported."""


@dataclass(frozen=True)
class LoadedPanel:
    name: str
    template: str
    values: dict[str, Any]


def collect_panels(plugins: PluginHost, errors: list[str]) -> list[DashboardPanel]:
    """The built-in panels and every plugin's; a plugin's panel of a name already taken, an
    unknown role or a failing hook is recorded in ``errors`` and left out."""
    panels = {panel.name: panel for panel in BUILT_IN_PANELS}
    for impl in plugins.hook.register_dashboard_panels.get_hookimpls():
        collected: list[object] = []
        try:
            impl.function(**{arg: collected.append for arg in impl.argnames})
        except Exception as exc:
            _error(
                errors, f"plugin {impl.plugin_name!r}: register_dashboard_panels failed: {exc!r}"
            )
            continue
        for panel in collected:
            problem = _problem(panel, panels)
            if problem:
                _error(errors, f"plugin {impl.plugin_name!r}: {problem}")
            else:
                assert isinstance(panel, DashboardPanel)
                panels[panel.name] = panel
    return list(panels.values())


def _problem(panel: object, taken: dict[str, DashboardPanel]) -> str | None:
    if not isinstance(panel, DashboardPanel):
        return f"{panel!r} is not a DashboardPanel"
    if panel.name in taken:
        return f"dashboard panel {panel.name!r} is already registered"
    try:
        Role(panel.role)
    except ValueError:
        return f"dashboard panel {panel.name!r} names an unknown role {panel.role!r}"
    return None


def _error(errors: list[str], message: str) -> None:
    log.error("web panel: %s", message)
    errors.append(message)


def panels_for(user: User, placement: Placement) -> list[LoadedPanel]:
    """The panels of ``placement`` the user's role may see, loaded, in order."""
    shown = []
    for panel in sorted(get_campaign().panels, key=lambda p: (p.order, p.name)):
        if panel.placement != placement or not user.role.includes(Role(panel.role)):
            continue
        values = panel.load()
        if values is not None:
            shown.append(LoadedPanel(panel.name, panel.template, values))
    return shown
