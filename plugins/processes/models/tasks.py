"""Tasks: operational work of a campaign (design, agency days) with dates and a daily cost."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship, validates

from core.models.base import Base, Money, Timestamped, enum_column, period_check
from plugins.processes.models.transitions import check_transition

if TYPE_CHECKING:
    from core.models.campaigns import Campaign
    from plugins.processes.models.providers import ProviderService


class TaskState(enum.StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    PENDING_APPROVAL = "pending_approval"
    FINISHED = "finished"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


T = TaskState
TASK_TRANSITIONS: dict[TaskState | None, frozenset[TaskState]] = {
    None: frozenset({T.SCHEDULED}),
    T.SCHEDULED: frozenset({T.IN_PROGRESS, T.CANCELLED}),
    T.IN_PROGRESS: frozenset({T.PENDING_APPROVAL, T.FINISHED, T.CANCELLED}),
    T.PENDING_APPROVAL: frozenset({T.FINISHED, T.REJECTED, T.CANCELLED}),
    T.REJECTED: frozenset({T.IN_PROGRESS, T.CANCELLED}),
}
"""A rejected result goes back to work; finished and cancelled are final."""


class Task(Timestamped, Base):
    """Work for a campaign, costed by its provider service's daily structures once finished."""

    __tablename__ = "tasks"
    __table_args__ = (
        period_check(),
        CheckConstraint(
            "commitment_level IS NULL OR commitment_level BETWEEN 1 AND 3",
            name="commitment_level",
        ),
        CheckConstraint("days_worked IS NULL OR days_worked >= 0", name="days_worked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    state: Mapped[TaskState] = mapped_column(
        enum_column(TaskState, "task_state"), default=TaskState.SCHEDULED
    )
    days_worked: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    estimated_cost: Mapped[Decimal | None] = mapped_column(Money)
    provider_service_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_services.id", ondelete="SET NULL"), index=True
    )
    budget_id: Mapped[int | None] = mapped_column(
        ForeignKey("budgets.id", ondelete="SET NULL"), index=True
    )
    """The budget its cost is charged to; None: its campaign's, else program's, else plan's."""
    real_cost: Mapped[Decimal | None] = mapped_column(Money)
    calculated_cost: Mapped[Decimal | None] = mapped_column(Money)
    """Daily structures times days worked, written by the cost calculation once finished."""
    commitment_level: Mapped[int | None]
    """None: the campaign's commitment level."""
    finished_at: Mapped[datetime | None]

    campaign: Mapped[Campaign] = relationship(
        backref=backref(
            "tasks", cascade="all, delete-orphan", passive_deletes=True, order_by="Task.id"
        )
    )
    """Adds ``Campaign.tasks``: the core's campaign knows nothing of tasks."""
    provider_service: Mapped[ProviderService | None] = relationship()

    def __init__(self, **fields: Any):
        state = fields.pop("state", TaskState.SCHEDULED)
        super().__init__(**fields)
        self.state = state

    @validates("state")
    def _check_state(self, _key: str, state: TaskState | str) -> TaskState:
        state = TaskState(state)
        check_transition(f"task {self.name!r}", TASK_TRANSITIONS, self.state, state)
        return state

    def move_to(self, state: TaskState, now: datetime) -> None:
        self.state = state
        if state is TaskState.FINISHED:
            self.finished_at = now
