"""What deliveries and tasks consume: the counts their runs recorded, the cost types and cost
structures that apply to them, and the stock lines they draw on.

Shared by the cost calculation, the stock workflow and the approval screen, so that a
delivery is priced and takes from stock by the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.engine.confirmation import would_reach
from core.events import CostEstimate
from core.messages import StoredText, stored_for
from core.models import (
    FINAL_RUN_STATES,
    Campaign,
    ItemKind,
    ItemStatus,
    ReceiptStatus,
    Run,
    RunItem,
    RunState,
)
from core.models.base import round_money
from core.plugin_base import Channel
from core.plugins import PluginHost
from plugins.processes.costs import (
    ZERO,
    Basis,
    CategoryCost,
    CostError,
    Quantities,
    category_cost,
)
from plugins.processes.models import (
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Delivery,
    DeliveryState,
    ExpenseBasis,
    ExpenseLine,
    ProviderService,
    StockAlert,
    StockLine,
)
from plugins.processes.models.deliveries import SENDING_STATES

stored = stored_for(__name__)
CONFIRMED_STATES = frozenset(
    {DeliveryState.FILE_SENT, DeliveryState.FINISHED, DeliveryState.STOPPED, DeliveryState.FAILED}
)
"""Direct mail and print count as sent once the file went to the router (or it ended)."""


_UNBILLED = and_(
    RunItem.billed_on_delivery.is_(True),
    RunItem.delivery.is_distinct_from(ReceiptStatus.DELIVERED.value),
)
BILLED_COUNTS = (
    func.coalesce(func.sum(case((_UNBILLED, 0), else_=RunItem.units)), 0),
    func.coalesce(func.sum(case((_UNBILLED, 1), else_=0)), 0),
)
"""Over done rows: the units billed, and the messages not (yet) billed: those the provider
bills only once delivered and no receipt has said so (docs/sms.md)."""


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """What the engine recorded for a delivery's runs (dry runs and voided runs left out).

    ``targeted`` is the latest analysed run's recipients without the held-out ones;
    ``sent`` and ``units`` add up the done rows of all runs, because a second run after a
    cancelled one sends only to the recipients the first one did not reach.
    """

    targeted: int = 0
    sent: int = 0
    units: int = 0
    analysed_at: datetime | None = None


def delivery_counts(
    session: Session, delivery_ids: Iterable[int] | None = None
) -> dict[int, DeliveryCounts]:
    """The counts of every delivery that has runs (or of the given ones), in two queries."""
    runs = select(
        Run.id, Run.delivery_id, Run.targeted, Run.held_out, Run.done, Run.targeted_at
    ).where(Run.delivery_id.is_not(None), Run.dry_run.is_(False), Run.superseded_at.is_(None))
    if delivery_ids is not None:
        runs = runs.where(Run.delivery_id.in_(list(delivery_ids)))
    rows = session.execute(runs.order_by(Run.id)).all()
    if not rows:
        return {}
    billed = {
        run_id: (units, unbilled)
        for run_id, units, unbilled in session.execute(
            select(RunItem.run_id, *BILLED_COUNTS)
            .where(
                RunItem.run_id.in_([row.id for row in rows]),
                RunItem.status == ItemStatus.DONE,
                RunItem.kind != ItemKind.MEMBER,
            )
            .group_by(RunItem.run_id)
        )
    }
    counts: dict[int, DeliveryCounts] = {}
    for row in rows:
        previous = counts.get(row.delivery_id, DeliveryCounts())
        analysed = row.targeted_at is not None
        counts[row.delivery_id] = DeliveryCounts(
            targeted=row.targeted - row.held_out if analysed else previous.targeted,
            sent=previous.sent + row.done - int(billed.get(row.id, (0, 0))[1]),
            units=previous.units + int(billed.get(row.id, (0, 0))[0]),
            analysed_at=row.targeted_at if analysed else previous.analysed_at,
        )
    return counts


@dataclass(frozen=True, slots=True)
class DirectRun:
    """A finished real run without a delivery (a direct Start) that reached recipients: it
    is booked once on its own, priced by its campaign's provider service."""

    run_id: int
    campaign_id: int
    number: int
    config: dict[str, Any]
    """The run's snapshot: its action and settings say which categories price it."""
    quantities: Quantities
    superseded: bool


def direct_runs(session: Session) -> list[DirectRun]:
    """Every finished, real (not dry) run without a delivery that did something, with what
    it did: messages are its done rows, units their units (pages, segments), so only what
    was actually sent counts (and delivered, where the provider bills only that). Voided
    runs are listed too (``superseded``), for the books to void what they booked. A run
    booked before and going on again (resumed after a cancel, failed rows retried) stays
    listed with what it sent so far: its booking follows it instead of leaving the books."""
    units, unbilled = (
        select(counted)
        .where(
            RunItem.run_id == Run.id,
            RunItem.status == ItemStatus.DONE,
            RunItem.kind != ItemKind.MEMBER,
        )
        .correlate(Run)
        .scalar_subquery()
        for counted in BILLED_COUNTS
    )
    rows = session.execute(
        select(
            Run.id,
            Run.campaign_id,
            Run.number,
            Run.config,
            Run.done - unbilled,
            Run.superseded_at,
            units,
        )
        .where(
            Run.delivery_id.is_(None),
            Run.dry_run.is_(False),
            Run.done > 0,
            or_(
                Run.state.in_([state.value for state in FINAL_RUN_STATES]),
                select(ExpenseLine.id).where(ExpenseLine.run_id == Run.id).exists(),
            ),
        )
        .order_by(Run.id)
    ).all()
    return [
        DirectRun(
            run_id=row[0],
            campaign_id=row[1],
            number=row[2],
            config=row[3] or {},
            quantities=Quantities(messages=row[4], units=int(row[6])),
            superseded=row[5] is not None,
        )
        for row in rows
    ]


CHANNEL_COST_KINDS = {
    Channel.POSTAL: CostCategoryKind.DIRECT_MAIL,
    Channel.EMAIL: CostCategoryKind.EMAIL,
    Channel.MOBILE: CostCategoryKind.MOBILE,
}


def action_cost_kinds(
    plugins: PluginHost | None, config: Mapping[str, Any]
) -> set[CostCategoryKind]:
    """The cost categories that price a run (``config``: its snapshot): those of the channel
    its action reaches with its settings (file_upload's ``reach``); an action that reaches no
    channel (or is not known here) is priced by every category except the task ones."""
    channel = plugins.run_channel(config) if plugins else None
    if channel in CHANNEL_COST_KINDS:
        return {CHANNEL_COST_KINDS[channel]}
    return set(CostCategoryKind) - {CostCategoryKind.TASK}


def direct_run_categories(
    campaign: Campaign, kinds: set[CostCategoryKind]
) -> list[tuple[CostCategory, list[CostType]]]:
    """The categories of the campaign's provider service that price a direct run, each with
    its default cost type (a campaign chooses none); CostError for a required choice."""
    service = campaign.provider_service
    if service is None:
        return []
    return priced_categories(
        [category for category in service.cost_categories if category.kind in kinds], set()
    )


def file_handed_on(delivery: Delivery) -> bool:
    """Whether a direct mail or print delivery's letters left the house: until then its
    extraction's done rows are letters in the file, not letters sent."""
    return DeliveryState(delivery.state) in CONFIRMED_STATES


def letters_in_file(delivery: Delivery) -> bool:
    """Whether the delivery's done rows are letters waiting in its file: a direct mail or
    print delivery whose file has not gone to the provider."""
    return not delivery.channel.online and not file_handed_on(delivery)


def letters_not_handed_on(session: Session, run_ids: Iterable[int]) -> dict[int, StoredText]:
    """The runs among ``run_ids`` whose letters are in the file of a direct mail or print
    delivery that has not gone to its provider: done in the ledger, sent to nobody yet."""
    rows = session.execute(
        select(Run.id, Delivery)
        .join(Delivery, Delivery.id == Run.delivery_id)
        .where(Run.id.in_(list(run_ids)))
    ).all()
    return {
        run_id: stored(
            "its letters are in the file of delivery '{delivery}', which has not gone to "
            "the provider yet",
            delivery=delivery.label,
        )
        for run_id, delivery in rows
        if letters_in_file(delivery)
    }


def delivery_quantities(
    delivery: Delivery, counts: DeliveryCounts
) -> tuple[ExpenseBasis, Quantities] | None:
    """What a delivery's structures price now, or None while only its estimate counts.

    Once it has sent (an online delivery with sent messages or in a sending state; a direct
    mail or print delivery whose file is confirmed) only what was actually sent counts.
    Before that, after analysis, the recipients targeted count, with the units known from
    the rows already processed and one unit for each other recipient.
    """
    if delivery.channel.online:
        has_sent = counts.sent > 0 or DeliveryState(delivery.state) in SENDING_STATES
    else:
        has_sent = file_handed_on(delivery)
    if has_sent:
        return ExpenseBasis.SENT, Quantities(messages=counts.sent, units=counts.units)
    if counts.analysed_at is None and delivery.analysed_at is None:
        return None
    remaining = max(counts.targeted - counts.sent, 0)
    return ExpenseBasis.TARGETED, Quantities(
        messages=counts.targeted, units=counts.units + remaining
    )


def chosen_cost_types(category: CostCategory, chosen_ids: set[int]) -> list[CostType] | None:
    """The cost types of a category that apply, or None when the category charges nothing.

    The ones chosen; else the category's default type; a category without cost types has
    nothing to choose (its structures apply). With types but no choice and no default, a
    required choice is a CostError naming the choices, and otherwise the category charges
    nothing: no type is charged that nobody chose.
    """
    chosen = [cost_type for cost_type in category.cost_types if cost_type.id in chosen_ids]
    if chosen:
        return chosen
    if category.default_cost_type_id is not None:
        return [
            cost_type
            for cost_type in category.cost_types
            if cost_type.id == category.default_cost_type_id
        ]
    if not category.cost_types:
        return []
    if category.cost_type_required:
        names = ", ".join(repr(cost_type.name) for cost_type in category.cost_types)
        raise CostError(
            stored(
                "cost category '{category}' of service '{service}' requires a cost type: choose "
                "one of {names}",
                category=category.name,
                service=category.service.name,
                names=names,
            )
        )
    return None


def priced_categories(
    categories: Iterable[CostCategory], chosen_ids: set[int]
) -> list[tuple[CostCategory, list[CostType]]]:
    """Each category that charges, with its applicable cost types (CostError as above)."""
    priced = []
    for category in categories:
        cost_types = chosen_cost_types(category, chosen_ids)
        if cost_types is not None:
            priced.append((category, cost_types))
    return priced


def applicable_structures(
    category: CostCategory, cost_types: Iterable[CostType]
) -> list[CostStructure]:
    """The category's structures for every use plus those of the applicable cost types."""
    type_ids = {cost_type.id for cost_type in cost_types}
    return [
        structure
        for structure in category.structures
        if structure.cost_type_id is None or structure.cost_type_id in type_ids
    ]


def category_price(
    category: CostCategory, cost_types: Iterable[CostType], quantities: Quantities
) -> CategoryCost:
    """What one category charges for these quantities through its applicable structures
    (CostError naming a broken structure)."""
    structures = applicable_structures(category, cost_types)
    return category_cost([structure.spec() for structure in structures], quantities)


@dataclass(frozen=True, slots=True)
class Price:
    """What a delivery's provider service charges for some quantities: each category's
    amount, by its structures, and the delivery's surcharge."""

    lines: tuple[tuple[str, Decimal], ...] = ()
    surcharge: Decimal = ZERO
    problem: StoredText | None = None
    """Why it cannot be priced (a required cost type not chosen, a broken structure)."""

    @property
    def total(self) -> Decimal:
        return sum((amount for _, amount in self.lines), ZERO) + self.surcharge


def delivery_price(delivery: Delivery, quantities: Quantities) -> Price:
    """What the delivery's service and surcharge charge for these quantities (its service
    loaded with ``SERVICE_LOADING``); a CostError becomes the price's problem."""
    chosen = {cost_type.id for cost_type in delivery.cost_types}
    try:
        lines = tuple(
            (category.name, category_price(category, cost_types, quantities).amount)
            for category, cost_types in priced_categories(delivery_categories(delivery), chosen)
        )
    except CostError as exc:
        return Price(problem=exc.text)
    return Price(lines, delivery.surcharge or ZERO)


@dataclass(frozen=True, slots=True)
class AnalysedCost:
    """What a delivery would cost for the recipients its targeting analysis counted, priced
    by its provider service's structures: what the budget approval is asked about."""

    run_number: int
    analysed_at: datetime
    recipients: int
    price: Price


def analysis_run(session: Session, delivery_id: int, since: datetime | None = None) -> Run | None:
    """The delivery's latest finished targeting (a dry run for its approval, or a real run),
    not voided, analysed at or after ``since``."""
    query = select(Run).where(
        Run.delivery_id == delivery_id,
        Run.superseded_at.is_(None),
        Run.targeted_at.is_not(None),
        Run.state.in_([RunState.COMPLETED.value, RunState.COMPLETED_WITH_ERRORS.value]),
    )
    if since is not None:
        query = query.where(Run.targeted_at >= since)
    return session.scalar(query.order_by(Run.id.desc()).limit(1))


def analysed_cost(session: Session, delivery_id: int) -> AnalysedCost | None:
    """The cost from the provider's structures for the latest analysed count (the
    recipients the run would reach: without the held-out ones and those the reach rule
    skips, one unit each); None before any analysis."""
    run = analysis_run(session, delivery_id)
    if run is None:
        return None
    delivery = session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).options(*SERVICE_LOADING)
    )
    recipients = would_reach(session, run)
    price = delivery_price(delivery, Quantities(messages=recipients, units=recipients))
    return AnalysedCost(run.number, run.targeted_at, recipients, price)


@dataclass(frozen=True, slots=True)
class FileCost:
    """What the file of a letter delivery costs: the letters its runs put in it and their
    pages, priced as the books price them once the file is sent."""

    letters: int
    pages: int
    price: Price


def file_cost(session: Session, delivery_id: int) -> FileCost | None:
    """The price of what a direct mail or print delivery's file holds: the done letters of
    its runs (not dry, not voided) and their pages, which may be fewer letters than
    recipients (a letter per group) and more than one page each. None for an online
    delivery, and before a run put any letter in the file."""
    delivery = session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).options(*SERVICE_LOADING)
    )
    if delivery is None or delivery.channel.online:
        return None
    counts = delivery_counts(session, [delivery_id]).get(delivery_id, DeliveryCounts())
    if counts.sent == 0:
        return None
    quantities = Quantities(messages=counts.sent, units=counts.units)
    return FileCost(counts.sent, counts.units, delivery_price(delivery, quantities))


def delivery_categories(delivery: Delivery) -> list[CostCategory]:
    """The cost categories of the delivery's service that price its channel."""
    service = delivery.provider_service
    if service is None:
        return []
    kind = delivery.channel.cost_kind
    return [category for category in service.cost_categories if category.kind == kind]


def delivery_cost_types(delivery: Delivery) -> list[CostType]:
    """Every cost type that applies to the delivery (CostError if a required one is missing)."""
    chosen = {cost_type.id for cost_type in delivery.cost_types}
    return [
        cost_type
        for _, cost_types in priced_categories(delivery_categories(delivery), chosen)
        for cost_type in cost_types
    ]


def stock_quantity(cost_type: CostType, quantities: Quantities) -> int:
    """How much of its stock line a cost type takes for these quantities."""
    return (
        quantities.messages
        if Basis(cost_type.stock_basis) is Basis.MESSAGES
        else (quantities.units)
    )


SERVICE_LOADING = (
    selectinload(Delivery.provider_service)
    .selectinload(ProviderService.cost_categories)
    .options(
        selectinload(CostCategory.cost_types),
        selectinload(CostCategory.structures),
    ),
    selectinload(Delivery.cost_types),
)
"""Loader options that fetch what pricing a delivery needs in a few queries."""


@dataclass(frozen=True, slots=True)
class StockWarning:
    """A stock line a delivery uses that is at or below its alert level."""

    stock: str
    stock_line: str
    stock_line_id: int
    in_stock: int
    alert_level: int
    raised_at: datetime
    needed: int | None
    """What the delivery will take from it, once it is analysed."""


def stock_warnings(session: Session, delivery_id: int) -> list[StockWarning]:
    """The open stock alerts of the lines a delivery uses, for its approval screen; none
    once its letters went to the provider or it ended, when stockMgt booked what it took."""
    delivery = session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).options(*SERVICE_LOADING)
    )
    if delivery is None or delivery.state in CONFIRMED_STATES:
        return []
    try:
        cost_types = [t for t in delivery_cost_types(delivery) if t.stock_line_id is not None]
    except CostError:
        cost_types = [
            t
            for category in delivery_categories(delivery)
            for t in category.cost_types
            if t.stock_line_id is not None
        ]
    if not cost_types:
        return []
    alerts = session.execute(
        select(StockAlert, StockLine)
        .join(StockLine, StockAlert.stock_line_id == StockLine.id)
        .where(
            StockAlert.resolved_at.is_(None),
            StockAlert.stock_line_id.in_({t.stock_line_id for t in cost_types}),
        )
        .options(selectinload(StockLine.stock))
        .order_by(StockLine.id)
    ).all()
    counts = delivery_counts(session, [delivery.id]).get(delivery.id, DeliveryCounts())
    priced = delivery_quantities(delivery, counts)
    warnings = []
    for alert, line in alerts:
        needed = None
        if priced is not None:
            needed = sum(
                stock_quantity(cost_type, priced[1])
                for cost_type in cost_types
                if cost_type.stock_line_id == line.id
            )
        warnings.append(
            StockWarning(
                stock=line.stock.name,
                stock_line=line.name,
                stock_line_id=line.id,
                in_stock=line.in_stock,
                alert_level=alert.alert_level,
                raised_at=alert.raised_at,
                needed=needed,
            )
        )
    return warnings


def run_estimate(
    session: Session, run: Run, reached: int, plugins: PluginHost
) -> CostEstimate | None:
    """The provider service's prices for ``reached`` messages (one unit each): the
    delivery's when the run performs a delivery with a service, else the campaign's (priced
    as budgetMgt books a direct run); None when neither names a service."""
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
        kinds = action_cost_kinds(plugins, run.config)
        return _priced(
            campaign.provider_service.name,
            lambda: direct_run_categories(campaign, kinds),
            quantities,
        )
    return None


def _priced(
    service: str,
    categories: Callable[[], list[tuple[CostCategory, list[CostType]]]],
    quantities: Quantities,
    surcharge: Decimal = ZERO,
) -> CostEstimate:
    """What the categories charge, by the rule budgetMgt books with; a broken structure or
    a missing required cost type is reported, not raised."""
    try:
        amount = sum(
            (
                category_price(category, cost_types, quantities).amount
                for category, cost_types in categories()
            ),
            ZERO,
        )
    except CostError as exc:
        return CostEstimate(None, "error", service, exc.text)
    return CostEstimate(round_money(amount + surcharge), "service", service)
