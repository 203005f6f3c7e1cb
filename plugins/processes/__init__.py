"""The campaign processes: plans, programs and tasks, budgets and costs, providers and their
processes, stocks, deliveries and their approvals.

A built-in plugin bundle, loaded like a third-party one: this module registers the
bundle's Alembic branch (its tables), panel screens, API operations (deliveries and
approvals), menu entries and dashboard panel, the domain events it records (a delivery's
state, approvals), prices runs for their confirmation, adds
``campaign void-run`` and the demo's processes to ``campaign demo``. The five process
workflows (``plugins.workflows``) are plugins of their own that ``REQUIRES`` this bundle:
``CAMPAIGN_DISABLE_PLUGINS=plugins.processes`` leaves them out with it, and the product is a
mass-print platform without the processes (and, on a new database, without their tables).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click
from flask import Blueprint
from sqlalchemy.orm import Session

from core import hookimpl
from core.events import CostEstimate, DashboardPanel, EventType, MenuItem
from core.messages import StoredText
from core.models import Campaign, Role, Run
from core.plugins import PluginHost
from plugins.processes import api
from plugins.processes.commands import templates_group, void_run_command
from plugins.processes.consumption import letters_not_handed_on, run_estimate
from plugins.processes.demo import load_process_demo
from plugins.processes.models.recorded_events import EVENT_TYPES
from plugins.processes.panel import (
    approvals,
    budgets,
    campaign_templates,
    deliveries,
    plans,
    providers,
    stocks,
)
from plugins.processes.panel import bp as panel_bp
from plugins.processes.panel.dashboard import load_process_panels

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
"""The bundle's catalogs: its screens' texts under symbolic ids (``deliveries.title``)."""

MENU_ITEMS = (
    MenuItem(title="menu.plans", endpoint="plans.index", role=Role.VIEWER.value, order=60),
    MenuItem(title="menu.templates", endpoint="templates.index", role=Role.VIEWER.value, order=61),
    MenuItem(
        title="menu.deliveries", endpoint="deliveries.index", role=Role.VIEWER.value, order=62
    ),
    MenuItem(
        title="menu.approvals", endpoint="approvals.inbox", role=Role.REVIEWER.value, order=64
    ),
    MenuItem(title="menu.budgets", endpoint="budgets.index", role=Role.VIEWER.value, order=66),
    MenuItem(title="menu.providers", endpoint="providers.index", role=Role.VIEWER.value, order=68),
    MenuItem(title="menu.stocks", endpoint="stocks.index", role=Role.VIEWER.value, order=70),
)


@hookimpl
def register_blueprints(register: Callable[[Blueprint], None]) -> None:
    register(panel_bp)
    register(api.bp)  # its operations join the HTTP API (docs/api.md)
    for area in (plans, campaign_templates, deliveries, approvals, budgets, providers, stocks):
        register(area.bp)


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    """The bundle's own Alembic branch: its tables, taken over from the core's revisions."""
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)


@hookimpl
def register_menu_items(register: Callable[[MenuItem], None]) -> None:
    for item in MENU_ITEMS:
        register(item)


@hookimpl
def register_event_types(register: Callable[[EventType], None]) -> None:
    for event_type in EVENT_TYPES:
        register(event_type)


@hookimpl
def register_dashboard_panels(register: Callable[[DashboardPanel], None]) -> None:
    register(
        DashboardPanel(
            "processes", "dashboard/_processes_panel.html", load_process_panels, order=15
        )
    )


@hookimpl
def run_cost_estimate(
    session: Session, run: Run, reached: int, plugins: PluginHost
) -> CostEstimate | None:
    return run_estimate(session, run, reached, plugins)


@hookimpl
def runs_held_back(session: Session, run_ids: Sequence[int]) -> dict[int, StoredText]:
    return letters_not_handed_on(session, run_ids)


@hookimpl
def install_demo_data(
    session: Session, plugins: PluginHost, campaign: Campaign | None
) -> str | None:
    return load_process_demo(session, plugins, campaign).describe()


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(void_run_command)
    cli.add_command(templates_group)
