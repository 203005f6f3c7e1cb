"""stockMgt, "Stock: orders and alerts": books due order lines into stock, recomputes what
every delivery consumed and what is left, and raises an alert once per crossing of a stock
line's alert level.

An order line is booked by a conditional update (``WHERE booked = false``), so it is added
to the stock exactly once. Consumption and levels are recomputed from the deliveries every
pass and written only where they differ; an alert stays open (one per line, enforced by a
partial unique index) until the stock is above its level again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from core import Workflow, hookimpl
from core.messages import StoredText, english_plural, stored_for
from core.models import Campaign
from core.notifications import notify
from core.plugins import PluginHost
from plugins.processes.consumption import (
    SERVICE_LOADING,
    DeliveryCounts,
    action_cost_kinds,
    delivery_cost_types,
    delivery_counts,
    delivery_quantities,
    direct_run_categories,
    direct_runs,
    stock_quantity,
)
from plugins.processes.costs import CostError
from plugins.processes.models import (
    CostCategory,
    Delivery,
    ExpenseBasis,
    ProviderService,
    StockAlert,
    StockConsumption,
    StockLine,
    StockOrder,
)
from plugins.workflows import TRANSLATIONS

REQUIRES = ("plugins.processes",)
"""The bundle of the campaign processes whose tables and services this workflow uses."""

stored = stored_for(__name__)


@dataclass
class StockPassResult:
    orders_booked: int = 0
    quantity_booked: int = 0
    alerts_raised: list[str] = field(default_factory=list)
    alerts_resolved: int = 0
    changes: int = 0
    problems: list[StoredText] = field(default_factory=list)

    def summary(self) -> str:
        booked = english_plural(
            "booked {0} order line (+{1})",
            "booked {0} order lines (+{1})",
            self.orders_booked,
            self.quantity_booked,
        )
        raised = english_plural("{0} alert raised", "{0} alerts raised", len(self.alerts_raised))
        changes = english_plural("{0} change", "{0} changes", self.changes)
        text = f"{booked}; {raised}, {self.alerts_resolved} resolved; {changes}"
        if self.alerts_raised:
            text += f"; low: {', '.join(self.alerts_raised)}"
        if self.problems:
            text += "; " + english_plural(
                "{0} problem (see the log)", "{0} problems (see the log)", len(self.problems)
            )
        return text


Source = tuple[str, int]
"""What consumed: ("delivery", id) or ("run", id) for a direct run."""


class StockPass:
    def __init__(self, session: Session, now: datetime, plugins: PluginHost | None = None):
        self.session = session
        self.now = now
        self.plugins = plugins
        self.result = StockPassResult()

    def run(self) -> StockPassResult:
        self.book_due_orders()
        self.recompute_consumption()
        lines = self.session.scalars(
            select(StockLine).options(selectinload(StockLine.stock)).order_by(StockLine.id)
        ).all()
        self.recompute_levels(lines)
        self.check_alerts(lines)
        return self.result

    def book_due_orders(self) -> None:
        """Orders whose delivery date has come (UTC date of the pass) join the stock, once."""
        booked = self.session.execute(
            update(StockOrder)
            .where(StockOrder.booked.is_(False), StockOrder.delivery_date <= self.now.date())
            .values(booked=True, booked_at=self.now)
            .returning(StockOrder.quantity)
            .execution_options(synchronize_session=False)
        ).all()
        self.result.orders_booked = len(booked)
        self.result.quantity_booked = sum(row.quantity for row in booked)
        self.result.changes += len(booked)

    def recompute_consumption(self) -> None:
        """One consumption row per (stock line, delivery) with what the delivery sent, and
        per (stock line, direct run) with what the run sent; a voided run consumes nothing."""
        wanted: dict[tuple[int, Source], int] = defaultdict(int)
        campaign_of: dict[Source, int] = {}
        undecided: set[Source] = set()
        self.delivery_consumption(wanted, campaign_of, undecided)
        self.run_consumption(wanted, campaign_of, undecided)
        for row in self.session.scalars(select(StockConsumption)):
            source = ("delivery", row.delivery_id) if row.delivery_id else ("run", row.run_id)
            key = (row.stock_line_id, source)
            if key in wanted:
                quantity = wanted.pop(key)
                if row.quantity != quantity:
                    row.quantity = quantity
                    self.result.changes += 1
            elif source not in undecided:
                self.session.delete(row)
                self.result.changes += 1
        for (line_id, (kind, source_id)), quantity in sorted(wanted.items()):
            self.session.add(
                StockConsumption(
                    stock_line_id=line_id,
                    campaign_id=campaign_of[kind, source_id],
                    quantity=quantity,
                    **{f"{kind}_id": source_id},
                )
            )
            self.result.changes += 1
        self.session.flush()

    def delivery_consumption(self, wanted, campaign_of, undecided) -> None:
        deliveries = self.session.scalars(
            select(Delivery)
            .where(Delivery.provider_service_id.is_not(None))
            .options(*SERVICE_LOADING)
            .order_by(Delivery.id)
        ).all()
        counts = delivery_counts(self.session)
        for delivery in deliveries:
            source = ("delivery", delivery.id)
            try:
                cost_types = [t for t in delivery_cost_types(delivery) if t.stock_line_id]
            except CostError as exc:
                self.result.problems.append(
                    stored(
                        "delivery {id} '{label}': {error}",
                        id=str(delivery.id),
                        label=delivery.label,
                        error=exc.text,
                    )
                )
                undecided.add(source)
                continue
            measured = delivery_quantities(delivery, counts.get(delivery.id, DeliveryCounts()))
            if not cost_types or measured is None or measured[0] is not ExpenseBasis.SENT:
                continue
            campaign_of[source] = delivery.campaign_id
            for cost_type in cost_types:
                quantity = stock_quantity(cost_type, measured[1])
                if quantity:
                    wanted[cost_type.stock_line_id, source] += quantity

    def run_consumption(self, wanted, campaign_of, undecided) -> None:
        """Direct runs take from the stock lines of their campaign's service's cost types
        (each category's default type), by what they sent."""
        runs = [run for run in direct_runs(self.session) if not run.superseded]
        if not runs:
            return
        campaigns = {
            campaign.id: campaign
            for campaign in self.session.scalars(
                select(Campaign)
                .where(
                    Campaign.id.in_({run.campaign_id for run in runs}),
                    Campaign.provider_service_id.is_not(None),
                )
                .options(
                    selectinload(Campaign.provider_service)
                    .selectinload(ProviderService.cost_categories)
                    .selectinload(CostCategory.cost_types)
                )
            )
        }
        for run in runs:
            campaign = campaigns.get(run.campaign_id)
            if campaign is None:
                continue
            source = ("run", run.run_id)
            kinds = action_cost_kinds(self.plugins, run.config)
            try:
                categories = direct_run_categories(campaign, kinds)
            except CostError as exc:
                self.result.problems.append(
                    stored(
                        "run #{number} of campaign '{campaign}': {error}",
                        number=str(run.number),
                        campaign=campaign.name,
                        error=exc.text,
                    )
                )
                undecided.add(source)
                continue
            campaign_of[source] = campaign.id
            for _, cost_types in categories:
                for cost_type in cost_types:
                    quantity = stock_quantity(cost_type, run.quantities)
                    if cost_type.stock_line_id and quantity:
                        wanted[cost_type.stock_line_id, source] += quantity

    def recompute_levels(self, lines: list[StockLine]) -> None:
        consumed = dict(
            self.session.execute(
                select(
                    StockConsumption.stock_line_id, func.sum(StockConsumption.quantity)
                ).group_by(StockConsumption.stock_line_id)
            ).all()
        )
        ordered = dict(
            self.session.execute(
                select(StockOrder.stock_line_id, func.sum(StockOrder.quantity))
                .where(StockOrder.booked.is_(True))
                .group_by(StockOrder.stock_line_id)
            ).all()
        )
        for line in lines:
            values = {
                "consumed": int(consumed.get(line.id, 0)),
                "ordered_in": int(ordered.get(line.id, 0)),
            }
            values["in_stock"] = line.initial + values["ordered_in"] - values["consumed"]
            for name, value in values.items():
                if getattr(line, name) != value:
                    setattr(line, name, value)
                    self.result.changes += 1
        self.session.flush()

    def check_alerts(self, lines: list[StockLine]) -> None:
        """Raise an alert when a line reaches its level, resolve it when it is above again."""
        open_alerts = {
            alert.stock_line_id: alert
            for alert in self.session.scalars(
                select(StockAlert).where(StockAlert.resolved_at.is_(None))
            )
        }
        for line in lines:
            low = line.alert_level is not None and line.in_stock <= line.alert_level
            alert = open_alerts.get(line.id)
            if low and alert is None:
                self.raise_alert(line)
            elif not low and alert is not None:
                alert.resolved_at = self.now
                self.result.alerts_resolved += 1
                self.result.changes += 1
        self.session.flush()

    def raise_alert(self, line: StockLine) -> None:
        self.session.add(
            StockAlert(
                stock_line_id=line.id,
                alert_level=line.alert_level,
                in_stock=line.in_stock,
                raised_at=self.now,
            )
        )
        self.result.alerts_raised.append(f"{line.stock.name}/{line.name} ({line.in_stock})")
        self.result.changes += 1
        if line.alert_group_id is not None:
            notify(
                self.session,
                kind="stock_alert",
                subject=stored(
                    "Stock low: {line} in {stock}: {left} left (alert level {level})",
                    line=line.name,
                    stock=line.stock.name,
                    left=line.in_stock,
                    level=line.alert_level,
                ),
                body=stored(
                    "Deliveries that use this stock show the warning on their approval "
                    "screen until the stock is above its alert level again."
                ),
                now=self.now,
                groups=[line.alert_group_id],
                about=("stock_line", line.id),
            )


class StockManagement(Workflow):
    name = "stockMgt"
    title = "Stock: orders and alerts"
    description = (
        "Books due order lines into stock, computes what deliveries consumed and what is "
        "left, and alerts the stock's group once when a line reaches its alert level."
    )
    default_interval = timedelta(hours=1)

    def run(self, context) -> str:
        with context.database.session() as session:
            result = StockPass(session, context.now, context.runtime.plugins).run()
        for problem in result.problems:
            context.log(problem)
        return result.summary()


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(StockManagement)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
