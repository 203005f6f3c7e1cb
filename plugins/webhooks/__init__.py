"""Outgoing webhooks: URLs an administrator registers for the installation's events, and the
signed deliveries sent to them (docs/webhooks.md).

A built-in plugin, loaded like a third-party one: the domain events the core and the other
plugins record (``events_recorded``) become pending deliveries in the transaction of their
change, the scheduler's tick (``scheduler_tick``) hands the due ones to workers, and the
plugin registers its tables (its own Alembic branch), its screen with its menu entry, and
its catalogs. ``CAMPAIGN_DISABLE_PLUGINS=plugins.webhooks`` leaves all of it out (and, on a
new database, its tables).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import Blueprint
from sqlalchemy.orm import Session

from core import hookimpl
from core.events import DomainEvent, MenuItem
from core.models import Role
from core.runtime import Runtime
from plugins.webhooks import views
from plugins.webhooks.models import record_deliveries
from plugins.webhooks.service import dispatch_due

log = logging.getLogger(__name__)


@hookimpl
def events_recorded(session: Session, events: Sequence[DomainEvent]) -> None:
    record_deliveries(session.connection(), events)


@hookimpl
def scheduler_tick(runtime: Runtime) -> None:
    if dispatch_due(runtime):
        log.info("webhook deliveries handed to workers")


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    """The plugin's own Alembic branch: its tables, taken over from the core's revisions."""
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_blueprints(register: Callable[[Blueprint], None]) -> None:
    register(views.bp)


@hookimpl
def register_menu_items(register: Callable[[MenuItem], None]) -> None:
    register(
        MenuItem(title="menu.webhooks", endpoint="webhooks.index", role=Role.ADMIN.value, order=88)
    )


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(Path(__file__).resolve().parent / "translations")
