"""What a person has in front of them before a run reaches anyone: the recipients it would
reach, the skips by reason, the action's channel and the cost estimate.

Everything is read from the run as targeting left it (its ledger and snapshot), so the
numbers shown are exactly what ``core.engine.runs.confirm_run`` dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.consumption import (
    action_cost_kinds,
    category_price,
    delivery_categories,
    direct_run_categories,
    priced_categories,
)
from core.costs import CostError, Quantities, round_money
from core.models import (
    Campaign,
    CostCategory,
    CostType,
    Delivery,
    ItemKind,
    ItemStatus,
    Run,
    RunItem,
)
from core.plugin_base import Channel, Scope
from core.plugins import PluginHost, UnknownPluginError


@dataclass(frozen=True)
class ConfirmationSummary:
    """The counts of a run's ledger after targeting."""

    reached: int
    """Pending rows (groups, for a group-scoped action): exactly what confirming sends."""
    members: int
    """Recipients in those groups, for a group-scoped action; 0 otherwise."""
    skipped: dict[str, int]
    """Skipped rows by their detail (the reason), largest first."""
    held_out: int


def confirmation_summary(session: Session, run_id: int) -> ConfirmationSummary:
    """The counts a person confirms: one grouped query over the run's ledger."""
    rows = session.execute(
        select(RunItem.status, RunItem.kind, RunItem.detail, func.count())
        .where(
            RunItem.run_id == run_id,
            RunItem.status.in_([ItemStatus.PENDING, ItemStatus.SKIPPED, ItemStatus.HELD_OUT]),
        )
        .group_by(RunItem.status, RunItem.kind, RunItem.detail)
    ).all()
    group_scoped = any(kind == ItemKind.GROUP for _, kind, _, _ in rows)
    reached = members = held_out = 0
    skipped: dict[str, int] = {}
    for status, kind, detail, count in rows:
        if status == ItemStatus.PENDING:
            if kind == ItemKind.MEMBER:
                members += count
            else:
                reached += count
        elif group_scoped and kind == ItemKind.GROUP:
            continue  # a group is skipped with its members, which are counted
        elif status == ItemStatus.HELD_OUT:
            held_out += count
        else:
            skipped[detail or ""] = skipped.get(detail or "", 0) + count
    ordered = dict(sorted(skipped.items(), key=lambda entry: (-entry[1], entry[0])))
    return ConfirmationSummary(reached, members, ordered, held_out)


@dataclass(frozen=True)
class CostEstimate:
    """What the run would cost, or why no estimate can be given."""

    amount: Decimal | None
    source: str
    """``service`` (priced by the delivery's provider service for the count), ``estimate``
    (the campaign's own estimated cost), ``none`` (neither is set) or ``error``."""
    service: str | None = None
    problem: str | None = None


def cost_estimate(
    session: Session, run: Run, reached: int, plugins: PluginHost | None = None
) -> CostEstimate:
    """The provider service's prices for ``reached`` messages (one unit each): the
    delivery's when the run performs a delivery with a service, else the campaign's (priced
    as budgetMgt books a direct run), else the campaign's estimated cost, else none."""
    quantities = Quantities(messages=reached, units=reached)
    delivery = session.get(Delivery, run.delivery_id) if run.delivery_id else None
    if delivery is not None and delivery.provider_service is not None:
        chosen = {cost_type.id for cost_type in delivery.cost_types}
        return _priced(
            delivery.provider_service.name,
            lambda: priced_categories(delivery_categories(delivery), chosen),
            quantities,
            delivery.surcharge or Decimal(0),
        )
    campaign = session.get(Campaign, run.campaign_id)
    if delivery is None and campaign is not None and campaign.provider_service is not None:
        kinds = action_cost_kinds(plugins, run.config.get("action", ""))
        return _priced(
            campaign.provider_service.name,
            lambda: direct_run_categories(campaign, kinds),
            quantities,
        )
    if campaign is not None and campaign.estimated_cost is not None:
        return CostEstimate(round_money(campaign.estimated_cost), "estimate")
    return CostEstimate(None, "none")


def _priced(
    service: str,
    categories: Callable[[], list[tuple[CostCategory, list[CostType]]]],
    quantities: Quantities,
    surcharge: Decimal = Decimal(0),
) -> CostEstimate:
    """What the categories charge, by the rule budgetMgt books with; a broken structure or
    a missing required cost type is reported, not raised."""
    try:
        amount = sum(
            (
                category_price(category, cost_types, quantities).amount
                for category, cost_types in categories()
            ),
            Decimal(0),
        )
    except CostError as exc:
        return CostEstimate(None, "error", service, str(exc))
    return CostEstimate(round_money(amount + surcharge), "service", service)


@dataclass(frozen=True)
class Confirmation:
    """Everything the confirmation shows, for the panel and the command line alike."""

    run_id: int
    number: int
    summary: ConfirmationSummary
    action: str
    action_title: str
    channel: Channel
    group_scoped: bool
    cost: CostEstimate

    @property
    def reached(self) -> int:
        return self.summary.reached


def confirmation(session: Session, plugins: PluginHost, run: Run) -> Confirmation:
    """The facts of ``run`` a person confirms (any state; meaningful once targeted)."""
    summary = confirmation_summary(session, run.id)
    action = run.config.get("action", "")
    try:
        cls = plugins.actions.get(action)
        title, channel = cls.title, cls.channel
        group_scoped = cls.scope is Scope.GROUP
    except UnknownPluginError:
        title, channel, group_scoped = action, Channel.NONE, False
    return Confirmation(
        run.id,
        run.number,
        summary,
        action,
        title,
        channel,
        group_scoped,
        cost_estimate(session, run, summary.reached, plugins),
    )
