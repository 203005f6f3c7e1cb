"""The navigation menu: the core's entries plus those of the ``register_menu_items`` hook.

Entries are checked once at start-up (known role, existing endpoint) and filtered
per request by the user's role. Hiding an entry is only cosmetic: the views behind
it must still check the role with ``role_required``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, request, url_for
from werkzeug.routing import BuildError

from core.events import MenuItem
from core.models import Role, User
from core.plugins import PluginHost
from webapp.context import get_campaign
from webapp.i18n import t

log = logging.getLogger(__name__)

CORE_MENU_ITEMS: tuple[MenuItem, ...] = (
    MenuItem(title="menu.dashboard", endpoint="dashboard.index", role=Role.VIEWER.value, order=0),
    MenuItem(title="menu.campaigns", endpoint="campaigns.index", role=Role.VIEWER.value, order=10),
    MenuItem(title="menu.queries", endpoint="queries.index", role=Role.VIEWER.value, order=20),
    MenuItem(title="menu.contacts", endpoint="contacts.index", role=Role.VIEWER.value, order=30),
    MenuItem(title="menu.reports", endpoint="reports.index", role=Role.VIEWER.value, order=40),
    MenuItem(title="menu.archive", endpoint="archive.index", role=Role.VIEWER.value, order=50),
    MenuItem(title="menu.workflows", endpoint="workflows.index", role=Role.VIEWER.value, order=72),
    MenuItem(title="menu.admin", endpoint="admin.index", role=Role.ADMIN.value, order=90),
)
"""The core's own entries; titles are ``webapp.i18n`` keys."""


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A menu entry ready for the template."""

    title: str
    url: str
    endpoint: str
    active: bool


def collect_menu_items(plugins: PluginHost, errors: list[str]) -> list[MenuItem]:
    """The core's entries and every plugin's, each plugin's failure recorded in ``errors``."""
    items = list(CORE_MENU_ITEMS)
    for impl in plugins.hook.register_menu_items.get_hookimpls():
        collected: list[object] = []
        try:
            impl.function(**{arg: collected.append for arg in impl.argnames})
        except Exception as exc:
            _error(errors, f"plugin {impl.plugin_name!r}: register_menu_items failed: {exc!r}")
            continue
        for item in collected:
            if not isinstance(item, MenuItem):
                _error(errors, f"plugin {impl.plugin_name!r}: {item!r} is not a MenuItem")
            else:
                items.append(item)
    return items


def check_menu_items(app: Flask, items: list[MenuItem], errors: list[str]) -> list[MenuItem]:
    """Drop (and report) entries with an unknown role or an endpoint the app does not have."""
    valid = []
    for item in items:
        try:
            Role(item.role)
        except ValueError:
            _error(errors, f"menu item {item.title!r}: unknown role {item.role!r}")
            continue
        if item.endpoint not in app.view_functions:
            _error(errors, f"menu item {item.title!r}: unknown endpoint {item.endpoint!r}")
            continue
        valid.append(item)
    return sorted(valid, key=lambda item: (item.order, item.title))


def visible_menu(user: User | None) -> list[NavEntry]:
    """The entries ``user`` may see, in menu order, with the current page marked active."""
    if user is None:
        return []
    entries = []
    for item in get_campaign().menu_items:
        if not user.role.includes(Role(item.role)):
            continue
        try:
            url = url_for(item.endpoint)
        except BuildError:  # the endpoint needs arguments: it cannot be a menu entry
            continue
        entries.append(NavEntry(t(item.title), url, item.endpoint, False))
    return _mark_active(entries)


def _mark_active(entries: list[NavEntry]) -> list[NavEntry]:
    endpoint = request.endpoint or ""
    current = next((e for e in entries if e.endpoint == endpoint), None)
    if current is None and request.blueprint:
        prefix = request.blueprint + "."
        current = next((e for e in entries if e.endpoint.startswith(prefix)), None)
    return [NavEntry(e.title, e.url, e.endpoint, True) if e is current else e for e in entries]


def _error(errors: list[str], message: str) -> None:
    log.error("web panel: %s", message)
    errors.append(message)
