"""The demo's campaign processes: complete, deterministic, and loaded only once."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db.database import Database
from core.engine.campaigns import CampaignConfig, build_plugins
from core.models import Base, Campaign, CampaignStatus
from core.plugins import load_plugins
from plugins.demo.address_book import load_demo
from plugins.demo.campaign import DEMO_CAMPAIGN as CAMPAIGN
from plugins.demo.campaign import install_demo_campaign
from plugins.demo.default_reports import install_default_reports
from plugins.processes.demo import load_process_demo
from plugins.processes.models import Budget, Delivery, Plan, ServiceProcess, StockLine
from plugins.processes.process_runs import delivery_action
from plugins.processes.provider_processes import (
    SAMPLE_MAIL_VALUES,
    export_columns,
    file_name,
    name_values,
    recipients,
    router_message,
)
from plugins.workflows.budget import CostCalculation
from plugins.workflows.stock import StockPass

D = Decimal
LOAD_DAY = date(2026, 2, 1)
PROCESS_TABLES = (
    "plans", "programs", "budgets", "budget_expenses", "expense_categories", "providers",
    "provider_services", "cost_categories", "cost_types", "cost_structures",
    "service_processes", "stocks", "stock_lines", "stock_orders", "deliveries",
    "delivery_cost_types", "tasks", "campaigns", "user_groups",
)  # fmt: skip


@pytest.fixture(scope="module")
def plugins():
    return load_plugins(entry_points=False)


def load(database: Database, plugins, today: date = LOAD_DAY):
    with database.session() as session:
        load_demo(session, contacts=200)
        install_default_reports(session)
        loaded = datetime.combine(today, time(9), UTC)
        campaign, _ = install_demo_campaign(session, plugins, loaded)
        return load_process_demo(session, plugins, campaign, today)


def rows(database: Database) -> dict[str, list]:
    with database.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name in PROCESS_TABLES
        }


def test_the_demo_plans_budgets_prices_stocks_and_the_seed_campaign(database, plugins):
    summary = load(database, plugins)

    assert summary.skipped == []
    assert "budgets: Marketingbudget 2026" in summary.created
    with database.session() as session:
        plan = session.scalar(select(Plan))
        [program] = plan.programs
        campaign = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
        assert (campaign.program_id, campaign.status, campaign.budget_status) == (
            program.id, CampaignStatus.IN_PROGRESS, "specified",
        )  # fmt: skip
        assert campaign.action_settings["report"] == "Informationsschreiben"
        letter, reminder = campaign.deliveries
        assert (letter.channel, [t.name for t in letter.cost_types]) == (
            "direct_mail",
            ["DIN lang"],
        )
        assert (reminder.channel, reminder.action) == ("sms", "sms")
        assert [task.name for task in campaign.tasks] == ["Konzeption und Text"]
        budgets = {b.name: b for b in session.scalars(select(Budget))}
        assert budgets["Marketingbudget 2026"].plan_id == plan.id
        assert budgets["Informationskampagne"].campaign_id == campaign.id
        lines = {line.name: line for line in session.scalars(select(StockLine))}
        assert lines["Kuvert DIN lang"].in_stock == 5000
        assert lines["Kuvert DIN lang"].alert_group_id is not None


def test_loading_again_adds_and_changes_nothing(database, plugins):
    load(database, plugins)
    before = rows(database)

    summary = load(database, plugins)

    assert (summary.created, summary.skipped) == ([], [])
    assert rows(database) == before


def test_the_campaign_is_dated_from_the_day_the_demo_is_loaded(database, plugins):
    """Its deliveries start in one and two weeks: approving them starts nothing at once."""
    load(database, plugins, date(2027, 5, 10))
    with database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
        letter, reminder = campaign.deliveries
        [task] = campaign.tasks
        orders = sorted(
            order.delivery_date
            for line in session.scalars(select(StockLine))
            for order in line.orders
        )
    assert (campaign.start_date, campaign.end_date) == (date(2027, 5, 10), date(2027, 7, 5))
    assert letter.planned_start_at == datetime(2027, 5, 17, 8, 0, tzinfo=UTC)
    assert reminder.planned_start_at == datetime(2027, 5, 24, 9, 0, tzinfo=UTC)
    assert (task.start_date, task.end_date) == (date(2027, 5, 10), date(2027, 5, 14))
    assert orders == [date(2027, 5, 20), date(2027, 6, 3)]


def test_the_clock_gives_the_load_day_by_default(database, plugins):
    from core.clock import FrozenClock, install, utcnow

    previous = install(FrozenClock(datetime(2027, 5, 10, 15, 0, tzinfo=UTC)))
    try:
        with database.session() as session:
            load_demo(session, contacts=20)
            install_default_reports(session)
            campaign, _ = install_demo_campaign(session, plugins, utcnow())
            load_process_demo(session, plugins, campaign)
        with database.session() as session:
            campaign = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
            assert campaign.start_date == date(2027, 5, 10)
    finally:
        install(previous)


def test_the_workflows_give_the_same_figures_on_every_backend(database, plugins):
    load(database, plugins)
    march = datetime.combine(LOAD_DAY + timedelta(days=30), datetime.min.time(), UTC)
    with database.session() as session:
        costs = CostCalculation(session, march).run()
        stock = StockPass(session, march).run()
    assert costs.problems == stock.problems == []
    with database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
        # in progress and nothing analysed yet: the estimates of letter, SMS and task
        assert campaign.calculated_cost == D("4850.00")
        # its direct Start (the seed's own flow) is priced by the letter shop's service
        assert campaign.provider_service.name == "Lettershop Brief DIN A4"
        defaults = {
            category.name: category.default_cost_type.name if category.default_cost_type else None
            for category in campaign.provider_service.cost_categories
        }
        assert defaults == {"Druck": "Papier DIN A4", "Kuvertierung": "DIN lang", "Porto": None}
        # one budget per cost: the campaign's own; the plan shows it only as its roll-up
        budget = session.scalar(select(Budget).where(Budget.name == "Informationskampagne"))
        assert (budget.reserved, budget.booked, budget.over_allocated) == (
            D("4850.00"), D("4850.00"), False,
        )  # fmt: skip
        plan_budget = session.scalar(select(Budget).where(Budget.name == "Marketingbudget 2026"))
        assert plan_budget.booked == 0
        assert session.get(Plan, plan_budget.plan_id).calculated_cost == D("4850.00")
        lines = {line.name: line.in_stock for line in session.scalars(select(StockLine))}
    assert lines == {"Kuvert DIN lang": 10000, "Papier DIN A4 80 g": 30000}
    assert stock.orders_booked == 2


def test_the_letter_delivery_runs_the_campaigns_print_action(database, plugins):
    load(database, plugins)
    with database.session() as session:
        letter = session.scalar(select(Delivery).where(Delivery.label == "Infobrief Interessenten"))
        built = build_plugins(plugins, CampaignConfig.of(letter.campaign, delivery_action(letter)))
    assert (built.action.name, built.action.params.report) == (
        "print_reports", "Informationsschreiben",
    )  # fmt: skip


def test_without_the_sms_plugin_the_reminder_is_left_out(database):
    without_sms = load_plugins(disabled=["plugins.actions.sms"], entry_points=False)

    summary = load(database, without_sms)

    assert len(summary.skipped) == 1
    assert summary.skipped == ["delivery 'SMS-Erinnerung': 'sms' is not a loaded action plugin"]
    with database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN))
        assert [d.label for d in campaign.deliveries] == ["Infobrief Interessenten"]


def test_the_letter_shops_process_is_ready_for_the_supplier_workflow(database, plugins):
    """The demo stores its process without the panel's form, which checks the ones people
    enter: what supplierMgt reads of it reads without a problem."""
    load(database, plugins)
    with database.session() as session:
        process = session.scalar(select(ServiceProcess))
        assert [column.header for column in export_columns(process)] == [
            "Kundennummer", "Anrede", "Vorname", "Nachname", "Straße", "PLZ", "Ort",
        ]  # fmt: skip
        values = name_values("Frühjahr", "Brief 1", 1, 1, 1, datetime(2026, 3, 2, 8, tzinfo=UTC))
        assert file_name(process.file_name_pattern, values) == "Fruehjahr-Brief-1-20260302.csv"
        assert recipients(process, process.service.provider.email) == [
            "auftrag@druckerei-rheintal.de"
        ]
        subject, _ = router_message(process, SAMPLE_MAIL_VALUES)
        assert subject == "Druckauftrag Frühjahrsaktion 2026: 1234 Briefe"
