"""Stocks: every line with its level, alert level and state; a line's orders (add one, see
which are booked), its alerts and what each campaign consumed.

Levels, bookings and alerts are the stockMgt workflow's: the panel records what people
decide (lines, alert levels, orders) and shows the rest.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.messages import stored_for
from core.models import Campaign, Role, UserGroup
from plugins.processes.models import Stock, StockAlert, StockConsumption, StockLine, StockOrder
from webapp import (
    ChoiceField,
    DateField,
    PanelForm,
    TextField,
    WholeNumberField,
    check_unique,
    db_session,
    format_date,
    format_number,
    get_or_404,
    group_choices,
    role_required,
    save_row,
    t,
    username,
)

bp = Blueprint("stocks", __name__, url_prefix="/stocks", template_folder="templates")
stored = stored_for(__name__)


class StockForm(PanelForm):
    name = TextField(required=True)
    description = TextField(max_length=5000)


class LineForm(PanelForm):
    name = TextField(required=True)
    initial = WholeNumberField(required=True, default=0)
    alert_level = WholeNumberField()
    alert_group_id = ChoiceField()


class OrderForm(PanelForm):
    delivery_date = DateField(required=True)
    quantity = WholeNumberField(required=True, minimum=1)
    reference = TextField()


def _open_alerts(line_ids: list[int]) -> dict[int, StockAlert]:
    if not line_ids:
        return {}
    alerts = db_session().scalars(
        select(StockAlert).where(
            StockAlert.stock_line_id.in_(line_ids), StockAlert.resolved_at.is_(None)
        )
    )
    return {alert.stock_line_id: alert for alert in alerts}


def line_state(line: StockLine, alert: StockAlert | None) -> str:
    """ "alert" while an alert is open, "low" when at or below the alert level but not yet
    alerted (the workflow has not run since), else "ok"."""
    if alert is not None:
        return "alert"
    if line.alert_level is not None and line.in_stock <= line.alert_level:
        return "low"
    return "ok"


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    session = db_session()
    stocks = session.scalars(
        select(Stock).options(selectinload(Stock.lines)).order_by(Stock.name)
    ).all()
    line_ids = [line.id for stock in stocks for line in stock.lines]
    pending = dict(
        session.execute(
            select(StockOrder.stock_line_id, func.count(StockOrder.id))
            .where(StockOrder.booked.is_(False))
            .group_by(StockOrder.stock_line_id)
        ).all()
    )
    alerts = _open_alerts(line_ids)
    return render_template(
        "stocks/index.html",
        stocks=stocks,
        pending=pending,
        states={
            line.id: line_state(line, alerts.get(line.id))
            for stock in stocks
            for line in stock.lines
        },
    )


# -- stocks ---------------------------------------------------------------------------------------


def _render_stock_form(stock, values, errors) -> str:
    return render_template("stocks/stock_form.html", stock=stock, values=values, errors=errors)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_stock() -> str | tuple[str, int] | Response:
    return _save_stock(None)


@bp.route("/<int:stock_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_stock(stock_id: int) -> str | tuple[str, int] | Response:
    return _save_stock(get_or_404(Stock, stock_id))


def _save_stock(stock: Stock | None) -> str | tuple[str, int] | Response:
    form = StockForm(obj=stock)
    if request.method == "GET":
        return _render_stock_form(stock, form.values, {})
    form.validate()
    check_unique(form, Stock, stock, "name")
    if not form.ok:
        return _render_stock_form(stock, form.values, form.messages), 422
    name = form.name.data
    stock, created = save_row(
        Stock, stock, {"name": name, "description": form.description.data}, lambda row: row.name
    )
    flash(t("stocks.created" if created else "stocks.saved", name=name), "success")
    return redirect(url_for(".index") + f"#stock-{stock.id}")


# -- lines ----------------------------------------------------------------------------------------


@bp.get("/lines/<int:line_id>")
@role_required(Role.VIEWER)
def line(line_id: int) -> str:
    return _render_line(get_or_404(StockLine, line_id), {}, {})


def _render_line(line: StockLine, values: dict[str, Any], errors: dict[str, str]) -> str:
    session = db_session()
    consumption = session.execute(
        select(
            Campaign.id,
            Campaign.name,
            (func.count(StockConsumption.delivery_id) + func.count(StockConsumption.run_id)).label(
                "sources"
            ),
            func.sum(StockConsumption.quantity).label("quantity"),
        )
        .join(Campaign, StockConsumption.campaign_id == Campaign.id)
        .where(StockConsumption.stock_line_id == line.id)
        .group_by(Campaign.id, Campaign.name)
        .order_by(Campaign.name)
    ).all()
    alerts = session.scalars(
        select(StockAlert)
        .where(StockAlert.stock_line_id == line.id)
        .order_by(StockAlert.id.desc())
        .limit(20)
    ).all()
    open_alert = next((alert for alert in alerts if alert.resolved_at is None), None)
    group = session.get(UserGroup, line.alert_group_id) if line.alert_group_id else None
    return render_template(
        "stocks/line.html",
        line=line,
        stock=line.stock,
        state=line_state(line, open_alert),
        open_alert=open_alert,
        alerts=alerts,
        group=group,
        consumption=consumption,
        values=values,
        errors=errors,
    )


def _render_line_form(stock, line, values, errors) -> str:
    return render_template(
        "stocks/line_form.html",
        stock=stock,
        line=line,
        values=values,
        errors=errors,
        groups=group_choices(db_session()),
    )


@bp.route("/<int:stock_id>/lines/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_line(stock_id: int) -> str | tuple[str, int] | Response:
    return _save_line(get_or_404(Stock, stock_id), None)


@bp.route("/lines/<int:line_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_line(line_id: int) -> str | tuple[str, int] | Response:
    line = get_or_404(StockLine, line_id)
    return _save_line(line.stock, line)


def _save_line(stock: Stock, line: StockLine | None) -> str | tuple[str, int] | Response:
    form = LineForm(obj=line)
    if request.method == "GET":
        return _render_line_form(stock, line, form.values, {})
    form.alert_group_id.choices = group_choices(db_session())
    form.validate()
    check_unique(form, StockLine, line, "name", stock_id=stock.id)
    if not form.ok:
        return _render_line_form(stock, line, form.values, form.messages), 422
    booked, consumed = (0, 0) if line is None else (line.ordered_in, line.consumed)
    name, initial = form.name.data, form.initial.data
    fields = {
        "stock_id": stock.id,
        "name": name,
        "initial": initial,
        "alert_level": form.alert_level.data,
        "alert_group_id": form.alert_group_id.data,
        "in_stock": initial + booked - consumed,
    }
    line, created = save_row(
        StockLine,
        line,
        fields,
        lambda row: f"{stock.name}: {row.name}",
        lambda row: {
            "initial": row.initial,
            "alert_level": row.alert_level,
            "alert_group_id": row.alert_group_id,
        },
    )
    flash(t("lines.created" if created else "lines.saved", name=name), "success")
    return redirect(url_for(".line", line_id=line.id))


# -- orders ---------------------------------------------------------------------------------------


@bp.post("/lines/<int:line_id>/orders")
@role_required(Role.CAMPAIGN_MANAGER)
def add_order(line_id: int) -> str | tuple[str, int] | Response:
    session = db_session()
    line = get_or_404(StockLine, line_id)
    form = OrderForm()
    if not form.validate():
        return _render_line(line, form.values, form.messages), 422
    delivery_date, quantity = form.delivery_date.data, form.quantity.data
    reference = form.reference.data
    order = StockOrder(
        stock_line_id=line.id, delivery_date=delivery_date, quantity=quantity, reference=reference
    )
    session.add(order)
    session.flush()
    record_audit(
        session,
        username(),
        "stock_order.create",
        "stock_line",
        line.id,
        stored(
            "{line}: {quantity} ordered for {date}",
            line=line.name,
            quantity=quantity,
            date=delivery_date,
        ),
        {"order_id": order.id, "reference": reference},
    )
    session.commit()
    flash(
        t(
            "orders.added",
            quantity=format_number(quantity),
            date=format_date(delivery_date),
        ),
        "success",
    )
    return redirect(url_for(".line", line_id=line.id) + "#orders-heading")


@bp.post("/orders/<int:order_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_order(order_id: int) -> Response:
    session = db_session()
    order = get_or_404(StockOrder, order_id)
    back = url_for(".line", line_id=order.stock_line_id) + "#orders-heading"
    deleted = session.execute(
        delete(StockOrder)
        .where(StockOrder.id == order.id, StockOrder.booked.is_(False))
        .execution_options(synchronize_session=False)
    ).rowcount
    if not deleted:
        session.rollback()
        flash(t("orders.already_booked"), "error")
        return redirect(back)
    record_audit(
        session,
        username(),
        "stock_order.delete",
        "stock_line",
        order.stock_line_id,
        stored("{quantity} on {date}", quantity=order.quantity, date=order.delivery_date),
        {"order_id": order.id},
    )
    session.commit()
    flash(t("orders.deleted"), "success")
    return redirect(back)
