"""stockMgt through the scheduler's job (``process_helpers.run_pass``) on a real runtime:
order lines, consumption of real delivery runs, and alerts once per crossing."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.engine.runs import start_run
from core.jobs.functions import install_runtime
from core.models import Notification, Run
from core.workflows.context import WorkflowContext
from plugins.processes.consumption import stock_warnings
from plugins.processes.models import (
    CostCategory,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    StockAlert,
    StockConsumption,
    StockLine,
    StockOrder,
)
from plugins.workflows import TRANSLATIONS
from plugins.workflows.stock import StockManagement

import engine_plugins
from conftest import EngineHarness
from panel_helpers import detail_in
from process_helpers import build_world, campaign, every_row, run_pass, start_delivery_run

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState
TO_THE_ROUTER = (S.APPROVED, S.EXTRACTION_PENDING, S.FILE_TO_APPROVE, S.FILE_SENT)


@pytest.fixture
def harness(runtime_factory) -> EngineHarness:
    from plugins.workflows import stock

    runtime = runtime_factory(("engine_plugins", engine_plugins), ("stock", stock))
    runtime.clock = FrozenClock(NOW)
    install_runtime(runtime)
    return EngineHarness(runtime)


def setup(harness: EngineHarness):
    """Envelopes DL: 100 initial, alert at 80 for the group "Lager"; orders of 30 (due
    today) and 50 (due tomorrow). One campaign with two letter deliveries using them."""
    with harness.runtime.database.session() as session:
        world = build_world(session)
        infobrief = campaign(session)
        dl = session.get(CostType, world.envelope_dl_id)
        letters = [
            Delivery(
                campaign_id=infobrief.id,
                label=label,
                channel=DeliveryChannel.DIRECT_MAIL,
                action="test_letter",
                action_settings={"pages": 2},
                provider_service_id=world.print_service_id,
                cost_types=[dl],
            )
            for label in ("Erster Brief", "Zweiter Brief")
        ]
        session.add_all(letters)
        session.add_all(
            [
                StockOrder(stock_line_id=world.envelope_line_id, delivery_date=date(2026, 3, 2),
                           quantity=30, reference="B-1"),
                StockOrder(stock_line_id=world.envelope_line_id, delivery_date=date(2026, 3, 3),
                           quantity=50, reference="B-2"),
            ]
        )  # fmt: skip
    return world, infobrief.id, [letter.id for letter in letters]


def send(harness: EngineHarness, campaign_id: int, delivery_id: int, confirmed: bool = True):
    start_delivery_run(harness.runtime, campaign_id, delivery_id=delivery_id, confirmed_by="test")
    harness.work()
    if confirmed:
        confirm(harness, delivery_id)


def confirm(harness: EngineHarness, delivery_id: int) -> None:
    """The file was approved and sent to the router: the letters count as sent."""
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        for state in TO_THE_ROUTER:
            delivery.move_to(state, NOW)


def line(harness: EngineHarness, line_id: int) -> tuple[int, int, int]:
    with harness.runtime.database.session() as session:
        row = session.get(StockLine, line_id)
        return row.ordered_in, row.consumed, row.in_stock


def alerts(harness: EngineHarness) -> list[StockAlert]:
    with harness.runtime.database.session() as session:
        return list(session.scalars(select(StockAlert).order_by(StockAlert.id)))


def notified(harness: EngineHarness) -> list[tuple[int, str]]:
    with harness.runtime.database.session() as session:
        return [
            (n.user_id, n.subject)
            for n in session.scalars(select(Notification).where(Notification.kind == "stock_alert"))
        ]


def test_orders_consumption_and_alerts_over_two_crossings(harness):
    world, campaign_id, (first, second) = setup(harness)
    envelopes = world.envelope_line_id

    assert run_pass("stockMgt").startswith("booked 1 order line (+30)")
    assert line(harness, envelopes) == (30, 0, 130)

    harness.add_contacts(50)
    send(harness, campaign_id, first, confirmed=False)
    run_pass("stockMgt")
    assert line(harness, envelopes) == (30, 0, 130)  # extracted, not yet sent to the router

    confirm(harness, first)
    summary = run_pass("stockMgt")
    assert "1 alert raised" in summary
    assert line(harness, envelopes) == (30, 50, 80)  # reaching the alert level is an alert
    assert line(harness, world.paper_line_id) == (0, 100, 900)  # 2 pages per letter
    [alert] = alerts(harness)
    assert (alert.stock_line_id, alert.in_stock, alert.alert_level, alert.resolved_at) == (
        envelopes, 80, 80, None
    )  # fmt: skip
    subject = "Stock low: Kuvert DL in Lager Köln: 80 left (alert level 80)"
    assert sorted(notified(harness)) == sorted(
        [(world.storekeeper_id, subject), (world.manager_id, subject)]
    )
    with harness.runtime.database.session() as session:
        [warning] = stock_warnings(session, second)
        assert (warning.stock_line, warning.in_stock, warning.needed) == ("Kuvert DL", 80, None)
        assert stock_warnings(session, first) == []  # it took its envelopes already

    assert run_pass("stockMgt").endswith("0 alerts raised, 0 resolved; 0 changes")
    assert len(notified(harness)) == 2

    harness.runtime.clock.advance(timedelta(days=1))
    assert run_pass("stockMgt").startswith("booked 1 order line (+50); 0 alerts raised, 1 resolved")
    assert line(harness, envelopes) == (80, 50, 130)
    assert alerts(harness)[0].resolved_at == NOW + timedelta(days=1)
    assert run_pass("stockMgt").startswith("booked 0 order lines (+0)")
    with harness.runtime.database.session() as session:
        assert stock_warnings(session, second) == []

    send(harness, campaign_id, second)
    run_pass("stockMgt")
    assert line(harness, envelopes) == (80, 100, 80)
    assert [alert.resolved_at is None for alert in alerts(harness)] == [False, True]
    assert len(notified(harness)) == 4
    with harness.runtime.database.session() as session:
        per_campaign = session.execute(
            select(StockConsumption.campaign_id, StockConsumption.delivery_id,
                   StockConsumption.quantity)
            .where(StockConsumption.stock_line_id == envelopes)
            .order_by(StockConsumption.delivery_id)
        ).all()  # fmt: skip
    assert [tuple(row) for row in per_campaign] == [
        (campaign_id, first, 50),
        (campaign_id, second, 50),
    ]


def test_a_delivery_whose_cost_type_is_undecided_keeps_its_consumption(harness):
    world, campaign_id, (first, _) = setup(harness)
    harness.add_contacts(10)
    send(harness, campaign_id, first)
    run_pass("stockMgt")
    assert line(harness, world.envelope_line_id)[1:] == (10, 120)
    with harness.runtime.database.session() as session:
        session.get(Delivery, first).cost_types = []

    context = WorkflowContext.start(harness.runtime, "stockMgt")
    summary = StockManagement().run(context)

    assert summary.endswith("; 1 problem (see the log)")
    assert detail_in("de", summary, TRANSLATIONS).endswith("; 1 Problem (siehe Protokoll)")
    assert context.lines == [
        f"delivery {first} 'Erster Brief': cost category 'Kuvert' of service 'Brief A4' "
        "requires a cost type: choose one of 'C5', 'DL'"
    ]
    assert line(harness, world.envelope_line_id)[1:] == (10, 120)


def test_a_second_pass_changes_nothing(harness):
    _, campaign_id, (first, _) = setup(harness)
    harness.add_contacts(60)
    send(harness, campaign_id, first)
    assert "1 alert raised" in run_pass("stockMgt")  # 100 + 30 ordered - 60 sent <= 80
    before = every_row(harness.runtime.database)

    assert run_pass("stockMgt").endswith("; 0 changes")

    assert every_row(harness.runtime.database) == before


def test_the_workflow_is_registered_with_its_documented_name_and_title(harness):
    assert harness.runtime.plugins.workflows.get("stockMgt").title == "Stock: orders and alerts"


def test_a_direct_start_consumes_its_stock_once_and_a_voided_one_gives_it_back(harness):
    with harness.runtime.database.session() as session:
        world = build_world(session)
        session.get(
            CostCategory, world.envelope_category_id
        ).default_cost_type_id = world.envelope_dl_id
        direct = campaign(
            session,
            action="test_letter",
            action_settings={"pages": 2},
            provider_service_id=world.print_service_id,
        )
    harness.add_contacts(6)
    first = start_run(harness.runtime, direct.id, confirmed_by="test")
    harness.work()
    start_run(harness.runtime, direct.id, dry_run=True)
    harness.work()

    run_pass("stockMgt")

    with harness.runtime.database.session() as session:
        consumed = session.execute(
            select(StockConsumption.stock_line_id, StockConsumption.run_id,
                   StockConsumption.quantity).order_by(StockConsumption.id)
        ).all()  # fmt: skip
    assert sorted(consumed) == sorted(
        [(world.envelope_line_id, first.id, 6), (world.paper_line_id, first.id, 12)]
    )
    assert line(harness, world.envelope_line_id) == (0, 6, 94)
    before = every_row(harness.runtime.database)
    run_pass("stockMgt")
    assert every_row(harness.runtime.database) == before

    with harness.runtime.database.session() as session:
        session.get(Run, first.id).superseded_at = NOW
    run_pass("stockMgt")
    assert line(harness, world.envelope_line_id) == (0, 0, 100)
    assert line(harness, world.paper_line_id) == (0, 0, 1000)
