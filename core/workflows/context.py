"""What a workflow receives for one pass: the runtime's parts, its own settings, the pass's
clock reading and its log."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import StoredText, literal, stored_for
from core.models import WorkflowSchedule
from core.workflows.schedules import load_zone

if TYPE_CHECKING:
    from core.db.database import Database
    from core.runtime import Runtime

log = logging.getLogger("campaign.workflows")


@dataclass
class WorkflowContext:
    """Handed to ``Workflow.run``; ``now`` is read once, so every rule of one pass judges
    time against the same instant."""

    runtime: Runtime
    workflow: str
    now: datetime
    lines: list[str] = field(default_factory=list)
    messages: list[StoredText] = field(default_factory=list)
    params: Any = None
    """The workflow's own settings: its ``Params`` as saved, or their defaults."""

    @classmethod
    def start(cls, runtime: Runtime, workflow: str) -> WorkflowContext:
        return cls(runtime=runtime, workflow=workflow, now=runtime.clock.now())

    @property
    def settings(self) -> Any:
        """The installation's ``core.config.Settings``; the workflow's own are ``params``."""
        return self.runtime.settings

    @property
    def zone(self) -> ZoneInfo:
        """The installation's time zone (``CAMPAIGN_TIMEZONE``), for rules in local time."""
        return load_zone(self.settings.timezone)

    @property
    def database(self) -> Database:
        return self.runtime.database

    @property
    def redis(self) -> Any:
        return self.runtime.redis

    @property
    def clock(self) -> Any:
        return self.runtime.clock

    @property
    def plugins(self) -> Any:
        return self.runtime.plugins

    def log(self, text: str | StoredText, /, **params: Any) -> None:
        """Note one thing the pass did or found, in English (``lines``) and as a stored text.

        ``text`` is a message id of the workflow's plugin catalog with ``{name}`` fields from
        ``params`` (``pybabel`` finds it by the keyword ``log``), or a stored text; one without
        ``params`` is kept as it is, braces and all, so a line built at run time never fails."""
        if not isinstance(text, StoredText):
            workflows = self.plugins.workflows
            plugin = workflows.provided_by(self.workflow) if self.workflow in workflows else None
            text = stored_for(plugin)(text if params else literal(text), **params)
        self.messages.append(text)
        self.lines.append(text.english())
        log.info("%s: %s", self.workflow, self.lines[-1])


def load_params(session: Session, workflow_class: Any) -> BaseModel:
    """The workflow's saved settings checked by its ``Params`` (``SettingsError`` if they no
    longer fit), or the model's defaults when none were saved."""
    stored = session.scalar(
        select(WorkflowSchedule.settings).where(WorkflowSchedule.name == workflow_class.name)
    )
    return workflow_class.validate_params(stored or {})
