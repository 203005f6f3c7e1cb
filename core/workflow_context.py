"""What a workflow receives for one pass: the runtime's parts, the pass's clock reading and
its log."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.schedules import load_zone

if TYPE_CHECKING:
    from core.db import Database
    from core.runtime import Runtime

log = logging.getLogger("campaign.workflows")


@dataclass
class WorkflowContext:
    """Handed to ``Workflow.run``; ``log`` lines are kept with the record of the pass.

    ``now`` is read once when the pass starts, so every rule of one pass judges time
    against the same instant.
    """

    runtime: Runtime
    workflow: str
    now: datetime
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, runtime: Runtime, workflow: str) -> WorkflowContext:
        return cls(runtime=runtime, workflow=workflow, now=runtime.clock.now())

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    @property
    def zone(self) -> ZoneInfo:
        """The installation's time zone (``CAMPAIGN_TIMEZONE``), for rules in local time:
        ``context.now.astimezone(context.zone)``."""
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

    def log(self, message: str) -> None:
        """Note one thing the pass did or found; the lines become the pass's log."""
        self.lines.append(message)
        log.info("%s: %s", self.workflow, message)
