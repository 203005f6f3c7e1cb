"""The schedule and on/off state of each background workflow, and the record of every run.

A workflow is known by its plugin name (no foreign key): its history outlives the plugin.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.models.base import Base, enum_column, enum_field
from core.workflows.schedules import Schedule


class WorkflowSchedule(Base):
    __tablename__ = "workflow_schedules"
    __table_args__ = (
        CheckConstraint("(interval_seconds IS NULL) <> (cron IS NULL)", name="interval_or_cron"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    interval_seconds: Mapped[int | None]
    cron: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    """The zone the cron expression is read in; None: the installation's CAMPAIGN_TIMEZONE."""
    next_run_at: Mapped[datetime | None]
    last_enqueued_at: Mapped[datetime | None]
    changed_by: Mapped[str | None] = mapped_column(String(80))
    """Who last changed it; None: nobody, it has its defaults."""
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    settings: Mapped[dict[str, Any] | None]
    """The workflow's own settings as saved (by its ``Params``); None: the defaults apply."""

    @property
    def schedule(self) -> Schedule:
        seconds = self.interval_seconds
        interval = None if seconds is None else timedelta(seconds=seconds)
        return Schedule(interval, self.cron, self.timezone)

    @schedule.setter
    def schedule(self, value: Schedule) -> None:
        for column, stored in self.columns_for(value).items():
            setattr(self, column, stored)

    @staticmethod
    def columns_for(schedule: Schedule) -> dict[str, int | str | None]:
        interval = schedule.interval
        return {
            "interval_seconds": None if interval is None else int(interval.total_seconds()),
            "cron": schedule.cron,
            "timezone": schedule.timezone,
        }


class WorkflowTrigger(enum.StrEnum):
    SCHEDULED = "scheduled"
    MANUAL = "manual"


class WorkflowRunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Another instance of the workflow was running; this one did nothing."""


FINAL_WORKFLOW_RUN_STATUSES = (
    WorkflowRunStatus.SUCCEEDED,
    WorkflowRunStatus.FAILED,
    WorkflowRunStatus.SKIPPED,
)


class WorkflowRun(Base):
    """One pass of a workflow, from the moment it was asked for to its outcome."""

    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_workflow_id", "workflow", "id"),
        Index("ix_workflow_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow: Mapped[str] = mapped_column(String(63))
    trigger: Mapped[WorkflowTrigger] = mapped_column(
        enum_column(WorkflowTrigger, "workflow_trigger")
    )
    status: Mapped[WorkflowRunStatus] = enum_field("workflow_run_status", WorkflowRunStatus.QUEUED)
    requested_by: Mapped[str | None] = mapped_column(String(80))
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(Text)
    log: Mapped[list[str]] = mapped_column(default=list)
    """The lines of ``WorkflowContext.log`` of this pass, in English."""
    log_messages: Mapped[list[dict[str, Any]] | None]
    """The same lines as ``core.messages.StoredText``; None on older runs."""
    error: Mapped[str | None] = mapped_column(Text)
    """The exception with its traceback, or why the run never finished."""
    worker: Mapped[str | None] = mapped_column(String(120))

    @property
    def finished(self) -> bool:
        return self.status in FINAL_WORKFLOW_RUN_STATUSES

    @property
    def error_line(self) -> str | None:
        """For a traceback: the exception and its message."""
        return None if self.error is None else self.error.rstrip().rpartition("\n")[2]
