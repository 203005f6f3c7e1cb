"""Campaign's core; a plugin author needs only ``hookimpl`` and the names exported here."""

from pluggy import HookimplMarker

from core.events import (
    CostEstimate,
    DashboardPanel,
    DomainEvent,
    EventType,
    ItemEvent,
    MenuItem,
    RunEvent,
)
from core.plugin_base import (
    Action,
    Channel,
    DataSource,
    DocumentStore,
    Group,
    Outcome,
    Plugin,
    Recipient,
    RecipientFilter,
    Scope,
    SettingsError,
    SmsGateway,
    UploadTarget,
    UploadTargetParams,
    Workflow,
)

hookimpl = HookimplMarker("campaign")

__all__ = [
    "Action",
    "Channel",
    "CostEstimate",
    "DashboardPanel",
    "DataSource",
    "DocumentStore",
    "DomainEvent",
    "EventType",
    "Group",
    "ItemEvent",
    "MenuItem",
    "Outcome",
    "Plugin",
    "Recipient",
    "RecipientFilter",
    "RunEvent",
    "Scope",
    "SettingsError",
    "SmsGateway",
    "UploadTarget",
    "UploadTargetParams",
    "Workflow",
    "hookimpl",
]
