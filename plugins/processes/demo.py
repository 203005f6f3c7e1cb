"""The campaign processes of the demo: a marketing plan for 2026 with a program and budgets, a
letter shop, an SMS router and an agency with their prices, a stock of envelopes and paper
with order lines, and the seed's "Informationskampagne" (all prospects with an e-mail
address get the information letter) with a letter delivery, an SMS reminder and a task.

It builds on what ``campaign demo`` (the plugin ``plugins.demo``) loads first: the address
book, the default reports and the ready campaign, which the ``install_demo_data`` hook hands
over, so the bundle needs nothing of that plugin. Everything is matched by name and only
added when missing, nothing that exists is changed, and no value depends on chance, so
loading it again adds nothing and every backend gets the same data. The campaign's period,
its deliveries, its task and the stock orders are dated from the day the demo is loaded
(``today``, by default the clock's date): the deliveries start in one and two weeks, so
approving them never starts a send in the past nobody planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.models import BudgetStatus, Campaign, CampaignStatus, CommitmentLevel, UserGroup
from core.plugins import PluginHost, UnknownPluginError
from plugins.processes.costs import Basis, Structure
from plugins.processes.delivery_setup import choose_cost_types, set_action
from plugins.processes.models import (
    Budget,
    BudgetExpense,
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    Delivery,
    DeliveryChannel,
    ExpenseCategory,
    Plan,
    Program,
    Provider,
    ProviderKind,
    ProviderService,
    ServiceProcess,
    Stock,
    StockLine,
    StockOrder,
    Task,
)

D = Decimal
PLAN = "Marketingplan 2026"
PROGRAM = "Kundenbindung 2026"
EXPENSES = ("Druck", "Porto", "SMS", "Agentur")
SMS_TEXT = (
    "Hallo {{ first_name }}, Ihr Informationsschreiben zu Ihrem Versicherungsschutz ist "
    "unterwegs. Fragen? Rufen Sie uns an."
)

EXPORT_COLUMNS = (
    ("Kundennummer", "number"),
    ("Anrede", "salutation"),
    ("Vorname", "first_name"),
    ("Nachname", "last_name"),
    ("Straße", "street"),
    ("PLZ", "postcode"),
    ("Ort", "city"),
)


@dataclass(frozen=True)
class _Category:
    """A cost category of the price list: structures as (settings, cost type or None) and
    cost types as (name, stock line or None, what one unit of stock is counted by)."""

    name: str
    kind: CostCategoryKind
    expense: str
    structures: tuple[tuple[dict[str, Any], str | None], ...]
    types: tuple[tuple[str, str | None, Basis], ...] = ()
    type_required: bool = False
    default_type: str | None = None
    """The cost type that applies when none is chosen (and to a campaign's direct runs)."""


def _brackets(bounds: tuple[int, ...], *prices: str) -> list[dict[str, Any]]:
    """Brackets up to each bound and an open last one, priced in the order given."""
    return [
        {"up_to": bound, "price": price}
        for bound, price in zip((*bounds, None), prices, strict=True)
    ]


PRICE_LIST = (
    (
        "Druckerei Rheintal GmbH",
        ProviderKind.PRINT_SHOP,
        "auftrag@druckerei-rheintal.de",
        "Lettershop Brief DIN A4",
        (
            _Category(
                "Druck",
                CostCategoryKind.DIRECT_MAIL,
                "Druck",
                (
                    ({"kind": "fixed", "amount": D(45), "label": "Einrichtung"}, None),
                    (
                        {
                            "kind": "linear",
                            "amount": D("0.06"),
                            "basis": Basis.UNITS,
                            "label": "Druck je Seite",
                        },
                        None,
                    ),
                    ({"kind": "surcharge", "percent": D(3), "label": "Energiezuschlag"}, None),
                ),
                (("Papier DIN A4", "Papier DIN A4 80 g", Basis.UNITS),),
                default_type="Papier DIN A4",
            ),
            _Category(
                "Kuvertierung",
                CostCategoryKind.DIRECT_MAIL,
                "Druck",
                (
                    (
                        {
                            "kind": "linear",
                            "amount": D(12),
                            "batch_size": 500,
                            "label": "Maschinenlauf je 500 Briefe",
                        },
                        None,
                    ),
                    (
                        {"kind": "linear", "amount": D("0.04"), "label": "Kuvert DIN lang"},
                        "DIN lang",
                    ),
                    ({"kind": "linear", "amount": D("0.09"), "label": "Kuvert C5"}, "C5"),
                ),
                (("DIN lang", "Kuvert DIN lang", Basis.MESSAGES), ("C5", None, Basis.MESSAGES)),
                type_required=True,
                default_type="DIN lang",
            ),
            _Category(
                "Porto",
                CostCategoryKind.DIRECT_MAIL,
                "Porto",
                (
                    (
                        {
                            "kind": "linear_threshold",
                            "label": "Dialogpost",
                            "brackets": _brackets((1000, 5000), "0.85", "0.60", "0.45"),
                        },
                        None,
                    ),
                ),
            ),
        ),
    ),
    (
        "SMS-Router Nord",
        ProviderKind.ROUTER,
        "support@sms-router-nord.de",
        "SMS Versand",
        (
            _Category(
                "SMS",
                CostCategoryKind.MOBILE,
                "SMS",
                (
                    (
                        {
                            "kind": "constant_threshold",
                            "label": "Grundgebühr",
                            "brackets": _brackets((100, 1000), "12", "100", "500"),
                        },
                        None,
                    ),
                    (
                        {
                            "kind": "linear",
                            "amount": D("0.075"),
                            "basis": Basis.UNITS,
                            "label": "je Segment",
                        },
                        None,
                    ),
                ),
            ),
        ),
    ),
    (
        "Agentur Süd",
        ProviderKind.OTHER,
        None,
        "Kreativleistung",
        (
            _Category(
                "Konzeption",
                CostCategoryKind.TASK,
                "Agentur",
                (
                    (
                        {
                            "kind": "daily",
                            "amount": D(300),
                            "basis": Basis.DAYS,
                            "label": "Tagessatz",
                        },
                        None,
                    ),
                ),
            ),
        ),
    ),
)
"""What the demo's providers charge; the same kinds of structure as docs/processes.md."""


@dataclass
class ProcessDemoSummary:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"campaign processes: {len(self.created)} created"
        if self.skipped:
            text += f"; left out: {'; '.join(self.skipped)}"
        return text


def load_process_demo(
    session: Session, plugins: PluginHost, campaign: Campaign | None, today: date | None = None
) -> ProcessDemoSummary:
    """Add what is missing of the demo's campaign processes, dated from ``today`` (the
    clock's date by default), around the demo's ready ``campaign`` (``install_demo_data``
    hands it over; None leaves the campaign's part out); the caller commits."""
    return _Loader(session, plugins, today or utcnow().date()).load(campaign)


class _Loader:
    def __init__(self, session: Session, plugins: PluginHost, today: date):
        self.session = session
        self.plugins = plugins
        self.today = today
        self.summary = ProcessDemoSummary()

    def day(self, days: int, hour: int | None = None) -> Any:
        """The load day moved by ``days``; at ``hour`` UTC a time, else a date."""
        moved = self.today + timedelta(days=days)
        return moved if hour is None else datetime.combine(moved, time(hour), tzinfo=UTC)

    def find_or_add(self, model: type, key: dict[str, Any], **fields: Any) -> Any:
        """The row with these key values, or a new one with the fields as well."""
        row = self.session.scalar(select(model).filter_by(**key))
        if row is None:
            row = model(**key, **fields)
            self.session.add(row)
            self.session.flush()
            self.summary.created.append(f"{model.__tablename__}: {next(iter(key.values()))}")
        return row

    def load(self, campaign: Campaign | None) -> ProcessDemoSummary:
        expenses = {name: self.find_or_add(ExpenseCategory, {"name": name}) for name in EXPENSES}
        self.providers(expenses, self.stock())
        plan = self.find_or_add(
            Plan, {"name": PLAN}, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
        )
        program = self.find_or_add(
            Program,
            {"plan_id": plan.id, "name": PROGRAM},
            start_date=date(2026, 1, 1),
            end_date=date(2026, 6, 30),
            description="Bestandskunden und Interessenten im ersten Halbjahr ansprechen.",
        )
        self.budget(
            "Marketingbudget 2026",
            {"plan_id": plan.id},
            D(25000),
            {"Druck": D(8000), "Porto": D(10000), "SMS": D(2000), "Agentur": D(5000)},
            expenses,
        )
        if campaign is None:
            self.summary.skipped.append("the demo's campaign: a plugin it needs is missing")
        else:
            self.campaign(campaign, program)
            self.budget(campaign.name, {"campaign_id": campaign.id}, D(6000), {}, expenses)
        self.session.flush()
        return self.summary

    def stock(self) -> dict[str, StockLine]:
        store = self.find_or_add(
            UserGroup,
            {"name": "Lager und Versand"},
            description="Wird benachrichtigt, wenn Material knapp wird.",
        )
        stock = self.find_or_add(Stock, {"name": "Lager Köln"})
        lines = {}
        for name, initial, alert, order_date, quantity in (
            ("Kuvert DIN lang", 5000, 1000, self.day(10), 5000),
            ("Papier DIN A4 80 g", 20000, 4000, self.day(24), 10000),
        ):
            line = self.session.scalar(
                select(StockLine).where(StockLine.stock_id == stock.id, StockLine.name == name)
            )
            if line is None:
                line = StockLine(
                    stock_id=stock.id,
                    name=name,
                    initial=initial,
                    in_stock=initial,
                    alert_level=alert,
                    alert_group_id=store.id,
                )
                line.orders.append(
                    StockOrder(delivery_date=order_date, quantity=quantity, reference="B-2026-01")
                )
                self.session.add(line)
                self.session.flush()
                self.summary.created.append(f"stock_lines: {name}")
            lines[name] = line
        return lines

    def providers(self, expenses: dict[str, ExpenseCategory], stock: dict[str, StockLine]) -> None:
        for provider_name, kind, email, service_name, categories in PRICE_LIST:
            provider = self.find_or_add(Provider, {"name": provider_name}, kind=kind, email=email)
            self.service(provider, service_name, categories, expenses, stock)
        letter = self.session.scalar(
            select(ProviderService).where(ProviderService.name == "Lettershop Brief DIN A4")
        )
        self.find_or_add(
            ServiceProcess,
            {"service_id": letter.id},
            export_columns=[{"header": header, "field": name} for header, name in EXPORT_COLUMNS],
            file_name_pattern="{campaign}-{delivery}-{date}.csv",
            notification_subject="Druckauftrag {{ campaign }}: {{ count }} Briefe",
            notification_template=(
                "Guten Tag,\n\nanbei der Druckauftrag {{ delivery }} mit {{ count }} Briefen "
                "zum Versand am {{ planned_start }}.\n\nMit freundlichen Grüßen"
            ),
            notification_recipients=["auftrag@druckerei-rheintal.de"],
        )

    def service(
        self,
        provider: Provider,
        name: str,
        categories: tuple[_Category, ...],
        expenses: dict[str, ExpenseCategory],
        stock: dict[str, StockLine],
    ) -> None:
        """A service with its categories, types and structures, all added at once or not."""
        existing = self.session.scalar(
            select(ProviderService.id).where(
                ProviderService.provider_id == provider.id, ProviderService.name == name
            )
        )
        if existing is not None:
            return
        service = ProviderService(provider_id=provider.id, name=name)
        for entry in categories:
            category = CostCategory(
                service=service,
                name=entry.name,
                kind=entry.kind,
                expense_category=expenses[entry.expense],
                cost_type_required=entry.type_required,
            )
            types = {
                type_name: CostType(
                    cost_category=category,
                    name=type_name,
                    stock_line=stock[line] if line else None,
                    stock_basis=basis,
                )
                for type_name, line, basis in entry.types
            }
            if entry.default_type is not None:
                category.default_cost_type = types[entry.default_type]
            for position, (spec, type_name) in enumerate(entry.structures):
                category.structures.append(
                    CostStructure.of(
                        Structure(**spec), position=position, cost_type=types.get(type_name)
                    )
                )
        self.session.add(service)
        self.session.flush()
        self.summary.created.append(f"provider_services: {name}")

    def budget(
        self,
        name: str,
        owner: dict[str, int],
        allocated: Decimal,
        by_expense: dict[str, Decimal],
        expenses: dict[str, ExpenseCategory],
    ) -> None:
        if self.session.scalar(select(Budget.id).where(Budget.name == name)) is not None:
            return
        self.session.add(
            Budget(
                name=name,
                **owner,
                start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31),
                allocated=allocated,
                expenses=[
                    BudgetExpense(expense_category_id=expenses[key].id, allocated=amount)
                    for key, amount in by_expense.items()
                ],
            )
        )
        self.summary.created.append(f"budgets: {name}")

    def campaign(self, campaign: Campaign, program: Program) -> None:
        """The seed's worked example made part of the plan, with its deliveries and task,
        added only together."""
        if campaign.program_id is not None:
            return
        campaign.program_id = program.id
        campaign.start_date, campaign.end_date = self.day(0), self.day(56)
        campaign.status = CampaignStatus.IN_PROGRESS
        campaign.budget_status = BudgetStatus.SPECIFIED
        campaign.commitment_level = CommitmentLevel.RESERVED
        campaign.estimated_cost = D(4500)
        campaign.provider_service_id = self.session.scalar(
            select(ProviderService.id).where(ProviderService.name == "Lettershop Brief DIN A4")
        )
        self.summary.created.append(f"campaigns: {campaign.name}")
        self.deliveries(campaign)
        agency = self.session.scalar(
            select(ProviderService).where(ProviderService.name == "Kreativleistung")
        )
        self.session.add(
            Task(
                campaign_id=campaign.id,
                name="Konzeption und Text",
                start_date=self.day(0),
                end_date=self.day(4),
                provider_service_id=agency.id,
                estimated_cost=D(1500),
            )
        )
        self.summary.created.append("tasks: Konzeption und Text")

    def deliveries(self, campaign: Campaign) -> None:
        services = {
            service.name: service for service in self.session.scalars(select(ProviderService))
        }
        letter = Delivery(
            campaign_id=campaign.id,
            label="Infobrief Interessenten",
            channel=DeliveryChannel.DIRECT_MAIL,
            provider_service_id=services["Lettershop Brief DIN A4"].id,
            planned_start_at=self.day(7, 8),
            estimated_cost=D(3200),
        )
        self.session.add(letter)
        self.session.flush()
        envelope = self.session.scalar(select(CostType.id).where(CostType.name == "DIN lang"))
        choose_cost_types(self.session, letter, [envelope])
        self.summary.created.append(f"deliveries: {letter.label}")
        reminder = Delivery(
            campaign_id=campaign.id,
            label="SMS-Erinnerung",
            channel=DeliveryChannel.SMS,
            provider_service_id=services["SMS Versand"].id,
            planned_start_at=self.day(14, 9),
            estimated_cost=D(150),
        )
        try:
            self.plugins.sms_gateways.get("outbox")
            settings = {"gateway": "outbox", "template": SMS_TEXT, "sender": "VersInfo"}
            set_action(self.plugins, reminder, "sms", settings)
        except (UnknownPluginError, ValueError) as exc:
            self.summary.skipped.append(f"delivery 'SMS-Erinnerung': {exc}")
            return
        self.session.add(reminder)
        self.summary.created.append(f"deliveries: {reminder.label}")
