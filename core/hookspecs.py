"""Every hook a Campaign plugin can implement, with a function of the same name decorated
with ``core.hookimpl`` that takes any subset of the arguments, by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pluggy import HookspecMarker

if TYPE_CHECKING:
    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from core import (
        Action,
        CostEstimate,
        DashboardPanel,
        DataSource,
        DocumentStore,
        DomainEvent,
        EventType,
        ItemEvent,
        MenuItem,
        RecipientFilter,
        RunEvent,
        SmsGateway,
        UploadTarget,
        Workflow,
    )
    from core.config import Settings
    from core.messages import StoredText
    from core.models import Campaign, Run

hookspec = HookspecMarker("campaign")


@hookspec
def register_datasources(register: Callable[[type[DataSource]], None]) -> None:
    """Register data source classes that turn campaign settings into recipients."""


@hookspec
def register_recipient_filters(register: Callable[[type[RecipientFilter]], None]) -> None:
    """Register recipient filter classes that narrow a campaign's recipients."""


@hookspec
def register_actions(register: Callable[[type[Action]], None]) -> None:
    """Register action classes that a campaign run performs per recipient or group."""


@hookspec
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    """Register background campaign-process workflows run by the scheduler."""


@hookspec
def register_sms_gateways(register: Callable[[type[SmsGateway]], None]) -> None:
    """Register SMS gateway classes the SMS action can send through."""


@hookspec
def register_upload_targets(register: Callable[[type[UploadTarget]], None]) -> None:
    """Register upload target classes that run files can be delivered to."""


@hookspec
def register_document_stores(register: Callable[[type[DocumentStore]], None]) -> None:
    """Register storage back-ends for the bytes of archived documents."""


@hookspec
def register_migrations(register: Callable[[Path], None]) -> None:
    """Register the versions directory of the plugin's own Alembic branch of migrations."""


@hookspec
def register_blueprints(register: Callable[[Blueprint], None]) -> None:
    """Register extra Flask blueprints for the web panel (login is enforced for them)."""


@hookspec
def register_menu_items(register: Callable[[MenuItem], None]) -> None:
    """Register entries for the web panel's navigation menu."""


@hookspec
def register_dashboard_panels(register: Callable[[DashboardPanel], None]) -> None:
    """Register panels for the web panel's dashboard."""


@hookspec
def register_translations(register: Callable[[Path], None]) -> None:
    """Register a directory of gettext catalogs that translate this plugin's texts."""


@hookspec
def register_event_types(register: Callable[[EventType], None]) -> None:
    """Register the types of domain event this plugin records (``record_events``)."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``campaign`` command line."""


@hookspec
def check_settings(settings: Settings) -> None:
    """Check this plugin's own environment settings as a command starts: ConfigError names it."""


@hookspec
def install_demo_data(session: Session, plugins: Any, campaign: Campaign | None) -> str | None:
    """Add this plugin's demo data to ``campaign demo`` (``campaign``: its ready campaign)."""


@hookspec(firstresult=True)
def run_cost_estimate(
    session: Session, run: Run, reached: int, plugins: Any
) -> CostEstimate | None:
    """Price a run for ``reached`` recipients before it is confirmed, or return None."""


@hookspec
def runs_held_back(session: Session, run_ids: Sequence[int]) -> Mapping[int, StoredText]:
    """Say which of these runs' done rows have not left yet, and why (a file not handed on)."""


@hookspec
def run_started(run: RunEvent) -> None:
    """Called when a campaign run starts working: after targeting, once the run is confirmed."""


@hookspec
def item_processed(run: RunEvent, item: ItemEvent) -> None:
    """Called after the action's outcome for one recipient or group is recorded."""


@hookspec
def run_finished(run: RunEvent) -> None:
    """Called once when a run reaches a final state (completed, failed or cancelled)."""


@hookspec
def events_recorded(session: Session, events: Sequence[DomainEvent]) -> None:
    """Called with domain events as they are recorded, in the transaction of their change."""


@hookspec
def scheduler_tick(runtime: Any) -> None:
    """Called at every tick of the leading scheduler (10 s) for a plugin's periodic work."""
