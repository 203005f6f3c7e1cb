"""Stocks through the Flask test client, on SQLite and PostgreSQL: lines with levels, alert
levels and states, orders (added, booked by stockMgt, deleted while pending), alerts and the
consumption per campaign."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.models import Role, Run, RunState, UserGroup
from plugins.processes.models import Stock, StockAlert, StockConsumption, StockLine, StockOrder

from panel_helpers import body, field_errors, post
from process_helpers import run_pass
from process_panel_helpers import add_campaign, add_delivery, audit_actions, audit_summaries, world


def test_the_overview_shows_levels_states_and_pending_orders(panel):
    ids = world(panel)
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        envelopes = session.get(StockLine, ids.envelope_line_id)
        envelopes.in_stock = 70
        session.add(
            StockAlert(stock_line_id=envelopes.id, alert_level=80, in_stock=70, raised_at=now)
        )
        paper = session.get(StockLine, ids.paper_line_id)
        paper.in_stock, paper.alert_level = 100, 500  # low, not alerted yet
        session.add(
            StockOrder(stock_line_id=paper.id, delivery_date=date(2030, 1, 1), quantity=1000)
        )
    html = body(panel.client(Role.VIEWER).get("/stocks/"))
    envelope_row = html[html.index(f'data-line="{ids.envelope_line_id}"') :]
    assert 'data-state="alert">Meldebestand erreicht' in envelope_row.split("</tr>")[0]
    paper_row = html[html.index(f'data-line="{ids.paper_line_id}"') :].split("</tr>")[0]
    assert 'data-state="low">knapp' in paper_row
    assert '<td class="num">1</td>' in paper_row  # one pending order
    assert "Neues Lager" not in html


def test_orders_are_added_booked_by_the_workflow_and_deleted_only_while_pending(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    line = f"/stocks/lines/{ids.envelope_line_id}"
    bad = post(manager, f"{line}/orders", {"delivery_date": "", "quantity": "0"})
    assert bad.status_code == 422
    assert field_errors(body(bad), "delivery_date") == ["Bitte ausfüllen."]
    assert field_errors(body(bad), "quantity") == ["Mindestens 1."]
    today = panel.runtime.clock.now().date()
    for when, quantity in (
        (today - timedelta(days=1), "5.000"),
        (today + timedelta(days=30), "200"),
    ):
        added = post(
            manager,
            f"{line}/orders",
            {"delivery_date": when.isoformat(), "quantity": quantity, "reference": "B-1"},
        )
        assert added.status_code == 302
    run_pass("stockMgt")
    html = body(manager.get(line))
    assert html.count('data-booked="true"') == 1 and html.count('data-booked="false"') == 1
    assert '<dd data-field="in_stock">5.100</dd>' in html  # 100 initial + 5,000 booked
    with panel.runtime.database.session() as session:
        booked, pending = session.scalars(
            select(StockOrder.id).order_by(StockOrder.delivery_date)
        ).all()
    refused = post(manager, f"/stocks/orders/{booked}/delete")
    assert "kann nicht gelöscht werden" in body(manager.get(refused.headers["Location"]))
    assert post(manager, f"/stocks/orders/{pending}/delete").status_code == 302
    with panel.runtime.database.session() as session:
        assert session.scalars(select(StockOrder.id)).all() == [booked]
    assert audit_actions(panel) == [
        "stock_order.delete",
        "stock_order.create",
        "stock_order.create",
    ]
    due = today + timedelta(days=30)
    assert audit_summaries(panel, "de")[0] == f"200 zum {due:%d.%m.%Y}"
    assert audit_summaries(panel, "en")[0] == f"200 on {due.day} {due:%b %Y}"


def test_an_order_is_typed_in_german_and_a_date_that_does_not_exist_is_named(panel):
    ids = world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    line = f"/stocks/lines/{ids.envelope_line_id}"
    bad = post(manager, f"{line}/orders", {"delivery_date": "31.02.2030", "quantity": "1.000"})
    assert bad.status_code == 422
    html = body(bad)
    assert field_errors(html, "delivery_date") == [
        "„31.02.2030“ ist kein Datum (geschrieben wie 31.12.2026)."
    ]
    assert 'value="31.02.2030"' in html and 'placeholder="31.12.2026"' in html
    added = post(manager, f"{line}/orders", {"delivery_date": "31.12.2030", "quantity": "1.000"})
    assert added.status_code == 302
    with panel.runtime.database.session() as session:
        order = session.scalar(select(StockOrder))
        assert (order.delivery_date, order.quantity) == (date(2030, 12, 31), 1000)
    html = body(manager.get(line))
    assert "31.12.2030" in html


def test_a_line_shows_its_alerts_and_what_each_campaign_consumed(panel):
    ids = world(panel)
    first = add_campaign(panel, "Frühjahr")
    second = add_campaign(panel, "Herbst")
    deliveries = [
        add_delivery(panel, first, "A"),
        add_delivery(panel, first, "B"),
        add_delivery(panel, second, "C"),
    ]
    now = panel.runtime.clock.now()
    with panel.runtime.database.session() as session:
        for delivery_id, campaign_id, quantity in zip(
            deliveries, (first, first, second), (30, 12, 5), strict=True
        ):
            session.add(
                StockConsumption(
                    stock_line_id=ids.envelope_line_id,
                    quantity=quantity,
                    campaign_id=campaign_id,
                    delivery_id=delivery_id,
                )
            )
        session.add(
            StockAlert(
                stock_line_id=ids.envelope_line_id,
                alert_level=80,
                in_stock=53,
                raised_at=now - timedelta(days=2),
                resolved_at=now,
            )
        )
    html = body(panel.client(Role.VIEWER).get(f"/stocks/lines/{ids.envelope_line_id}"))
    consumption = html[html.index('id="consumption"') :]
    assert 'Frühjahr</a></td><td class="num">2</td><td class="num">42' in consumption
    assert 'Herbst</a></td><td class="num">1</td><td class="num">5' in consumption
    assert "Benachrichtigen: Lager" in html and 'id="group-empty"' not in html
    assert "53" in html[html.index('id="alerts-heading"') :]

    with panel.runtime.database.session() as session:
        group_id = session.get(StockLine, ids.envelope_line_id).alert_group_id
        session.get(UserGroup, group_id).members = []
    html = body(panel.client(Role.VIEWER).get(f"/stocks/lines/{ids.envelope_line_id}"))
    empty = re.search(r'id="group-empty">(.*?)<', html).group(1)
    assert empty == "ohne Mitglieder: Eine Warnung erreicht niemanden"


def test_a_line_counts_the_direct_runs_that_consumed_beside_the_deliveries(panel):
    """A recurring campaign's runs take from the stock without a delivery: the line said
    "0 deliveries" beside what they took."""
    ids = world(panel)
    monthly = add_campaign(panel, "Monatsbrief")
    delivery_id = add_delivery(panel, monthly, "Sonderbrief")
    with panel.runtime.database.session() as session:
        runs = [
            Run(campaign_id=monthly, number=number, config={}, state=RunState.COMPLETED, done=4)
            for number in (1, 2)
        ]
        session.add_all(runs)
        session.flush()
        session.add_all(
            StockConsumption(
                stock_line_id=ids.envelope_line_id,
                quantity=4,
                campaign_id=monthly,
                **source,
            )
            for source in ({"run_id": runs[0].id}, {"run_id": runs[1].id},
                           {"delivery_id": delivery_id})
        )  # fmt: skip
    html = body(panel.client(Role.VIEWER).get(f"/stocks/lines/{ids.envelope_line_id}"))
    consumption = html[html.index('id="consumption"') :]
    assert "Versände und Läufe" in consumption
    assert 'Monatsbrief</a></td><td class="num">3</td><td class="num">12' in consumption


def test_stocks_and_lines_are_created_and_edited(panel):
    world(panel)
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    assert post(manager, "/stocks/new", {"name": "Lager Köln"}).status_code == 422
    assert post(manager, "/stocks/new", {"name": "Lager Bonn"}).status_code == 302
    with panel.runtime.database.session() as session:
        stock_id = session.scalar(select(Stock.id).where(Stock.name == "Lager Bonn"))
    bad = post(
        manager,
        f"/stocks/{stock_id}/lines/new",
        {"name": "Flyer", "initial": "", "alert_level": "-1", "alert_group_id": "77"},
    )
    assert field_errors(body(bad), "initial") == ["Bitte ausfüllen."]
    assert field_errors(body(bad), "alert_level") == ["Mindestens 0."]
    assert field_errors(body(bad), "alert_group_id") == ["„77“ steht nicht zur Auswahl."]
    created = post(
        manager,
        f"/stocks/{stock_id}/lines/new",
        {"name": "Flyer", "initial": "2.500", "alert_level": "500"},
    )
    assert created.status_code == 302
    with panel.runtime.database.session() as session:
        line = session.scalar(select(StockLine).where(StockLine.name == "Flyer"))
        assert (line.initial, line.in_stock, line.alert_level) == (2500, 2500, 500)
        line.consumed = 300
        line_id = line.id
    assert (
        post(
            manager,
            f"/stocks/lines/{line_id}/edit",
            {"name": "Flyer A5", "initial": "3000", "alert_level": ""},
        ).status_code
        == 302
    )
    with panel.runtime.database.session() as session:
        line = session.get(StockLine, line_id)
        assert (line.name, line.in_stock, line.alert_level) == ("Flyer A5", 2700, None)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_campaign_managers_change_stocks(panel, role):
    ids = world(panel)
    with panel.runtime.database.session() as session:
        order = StockOrder(
            stock_line_id=ids.paper_line_id, delivery_date=date(2030, 1, 1), quantity=1
        )
        session.add(order)
        session.flush()
        order_id = order.id
        stock_id = session.scalar(select(Stock.id))
    client = panel.client(role)
    for path in (
        "/stocks/new",
        f"/stocks/{stock_id}/edit",
        f"/stocks/{stock_id}/lines/new",
        f"/stocks/lines/{ids.paper_line_id}/edit",
        f"/stocks/lines/{ids.paper_line_id}/orders",
        f"/stocks/orders/{order_id}/delete",
    ):
        assert post(client, path, {"name": "X"}).status_code == 403, path
    assert client.get(f"/stocks/lines/{ids.paper_line_id}").status_code == 200
