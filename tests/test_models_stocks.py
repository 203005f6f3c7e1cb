"""Stock lines, order lines and alerts: what the database guarantees."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugins.processes.models import StockAlert, StockOrder

from process_helpers import build_world

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_one_open_alert_per_stock_line(database):
    with database.session() as session:
        world = build_world(session)
        session.add(StockAlert(stock_line_id=world.envelope_line_id, alert_level=80,
                               in_stock=70, raised_at=NOW))  # fmt: skip
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(StockAlert(stock_line_id=world.envelope_line_id, alert_level=80,
                               in_stock=60, raised_at=NOW))  # fmt: skip
    with database.session() as session:
        session.scalar(select(StockAlert)).resolved_at = NOW
        session.add(StockAlert(stock_line_id=world.envelope_line_id, alert_level=80,
                               in_stock=60, raised_at=NOW))  # fmt: skip


@pytest.mark.parametrize(
    "values",
    [{"quantity": 0}, {"quantity": 5, "booked": True}, {"quantity": 5, "booked_at": NOW}],
    ids=["nothing ordered", "booked without a time", "a time without booking"],
)
def test_an_order_line_orders_something_and_is_booked_with_its_time(database, values):
    with database.session() as session:
        world = build_world(session)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(StockOrder(stock_line_id=world.envelope_line_id,
                               delivery_date=date(2026, 3, 3), **values))  # fmt: skip
