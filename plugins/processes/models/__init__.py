"""The campaign-process bundle's tables: plans and programs, tasks, campaign templates,
budgets and costs, providers and their services, stocks, deliveries and their approvals.

They share the core's ``Base.metadata``; importing this package registers them and the
relationships that join them to the core's campaigns and runs."""

from __future__ import annotations

from sqlalchemy.orm import configure_mappers

from plugins.processes.models import (  # noqa: F401  (the foreign keys and domain events)
    core_links,
    recorded_events,
)
from plugins.processes.models.approvals import (
    Approval,
    ApprovalEvent,
    ApprovalEventKind,
    ApprovalMode,
    ApprovalReviewer,
    ApprovalState,
    ApprovalStep,
)
from plugins.processes.models.budgets import (
    Budget,
    BudgetExpense,
    CostLine,
    ExpenseBasis,
    ExpenseCategory,
    ExpenseLine,
)
from plugins.processes.models.deliveries import (
    Delivery,
    DeliveryChannel,
    DeliveryState,
    SentCounting,
)
from plugins.processes.models.plans import Plan, Program
from plugins.processes.models.provider_steps import (
    ProviderStep,
    ProviderStepKind,
    ProviderStepStatus,
)
from plugins.processes.models.providers import (
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Provider,
    ProviderKind,
    ProviderService,
    ServiceProcess,
)
from plugins.processes.models.stocks import (
    Stock,
    StockAlert,
    StockConsumption,
    StockLine,
    StockOrder,
)
from plugins.processes.models.tasks import Task, TaskState
from plugins.processes.models.templates import (
    CampaignTemplate,
    Frequency,
    OccurrenceState,
    TemplateKind,
    TemplateOccurrence,
)
from plugins.processes.models.transitions import TransitionError

configure_mappers()  # the backrefs (``Campaign.deliveries``, ...) exist from here on

__all__ = [
    "Approval",
    "ApprovalEvent",
    "ApprovalEventKind",
    "ApprovalMode",
    "ApprovalReviewer",
    "ApprovalState",
    "ApprovalStep",
    "Budget",
    "BudgetExpense",
    "CampaignTemplate",
    "CostCategory",
    "CostCategoryKind",
    "CostLine",
    "CostStructure",
    "CostType",
    "Delivery",
    "DeliveryChannel",
    "DeliveryState",
    "ExpenseBasis",
    "ExpenseCategory",
    "ExpenseLine",
    "Frequency",
    "OccurrenceState",
    "Plan",
    "Program",
    "Provider",
    "ProviderKind",
    "ProviderService",
    "ProviderStep",
    "ProviderStepKind",
    "ProviderStepStatus",
    "SentCounting",
    "ServiceProcess",
    "Stock",
    "StockAlert",
    "StockConsumption",
    "StockLine",
    "StockOrder",
    "Task",
    "TaskState",
    "TemplateKind",
    "TemplateOccurrence",
    "TransitionError",
]
