"""What the dashboard shows of the campaign processes: approvals waiting for the user (for
reviewers), open stock alerts, budgets over their allocation, and workflow runs that failed
recently. Each list is short and read with one indexed query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Role, User, WorkflowRun, WorkflowRunStatus
from plugins.processes.approvals import pending_for
from plugins.processes.models import Approval, Budget, Stock, StockAlert, StockLine
from webapp import current_user, db_session, get_runtime

SHOWN = 5
FAILED_RUNS_SINCE = timedelta(days=7)


@dataclass(frozen=True)
class LowStock:
    line_id: int
    stock: str
    line: str
    in_stock: int
    alert_level: int
    raised_at: datetime


@dataclass
class ProcessPanels:
    """The dashboard's campaign-process lists; ``approvals`` is None for non-reviewers."""

    approvals: list[Approval] | None
    approvals_total: int = 0
    low_stock: list[LowStock] = field(default_factory=list)
    over_budget: list[Budget] = field(default_factory=list)
    failed_runs: list[WorkflowRun] = field(default_factory=list)
    now: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.approvals or self.low_stock or self.over_budget or self.failed_runs)


def process_panels(session: Session, user: User, now: datetime) -> ProcessPanels:
    approvals = None
    total = 0
    if Role(user.role).includes(Role.REVIEWER):
        waiting = pending_for(session, user)
        approvals, total = waiting[:SHOWN], len(waiting)
    low_stock = [
        LowStock(line.id, stock_name, line.name, line.in_stock, alert.alert_level, alert.raised_at)
        for alert, line, stock_name in session.execute(
            select(StockAlert, StockLine, Stock.name)
            .join(StockLine, StockAlert.stock_line_id == StockLine.id)
            .join(Stock, StockLine.stock_id == Stock.id)
            .where(StockAlert.resolved_at.is_(None))
            .order_by(StockAlert.raised_at.desc())
            .limit(SHOWN)
        )
    ]
    over_budget = list(
        session.scalars(
            select(Budget)
            .where(Budget.over_allocated.is_(True))
            .order_by(Budget.over_allocated_since.desc(), Budget.id)
            .limit(SHOWN)
        )
    )
    failed_runs = list(
        session.scalars(
            select(WorkflowRun)
            .where(
                WorkflowRun.status == WorkflowRunStatus.FAILED,
                WorkflowRun.enqueued_at >= now - FAILED_RUNS_SINCE,
            )
            .order_by(WorkflowRun.id.desc())
            .limit(SHOWN)
        )
    )
    return ProcessPanels(approvals, total, low_stock, over_budget, failed_runs, now)


def load_process_panels() -> dict[str, ProcessPanels]:
    return {"processes": process_panels(db_session(), current_user(), get_runtime().clock.now())}
