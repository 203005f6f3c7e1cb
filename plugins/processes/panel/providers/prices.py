"""A service's prices: cost categories, their cost types (optionally taken from stock) and
cost structures of every kind (fixed, linear per item or batch, linear or constant by
threshold, daily, surcharge), checked field by field before
``plugins.processes.costs.Structure`` validates the whole.

The structure form shows only the inputs its kind uses; changing the kind redraws it
(``intent=refresh``), and "more rows" adds empty bracket rows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.audit import record_audit
from core.models import Role
from core.validation import ValidationMessage
from plugins.processes.costs import (
    AMOUNT_KINDS,
    COUNTED_KINDS,
    THRESHOLD_KINDS,
    Basis,
    Structure,
    StructureKind,
)
from plugins.processes.models import (
    CostCategory,
    CostCategoryKind,
    CostStructure,
    CostType,
    ExpenseCategory,
    ProviderService,
    Stock,
    StockLine,
)
from plugins.processes.panel.providers.views import bp
from webapp import (
    FormReader,
    check_unique,
    choice_ids,
    db_session,
    decimal_input,
    get_or_404,
    role_required,
    save_row,
    t,
    username,
)

COUNTED_BASES = (Basis.MESSAGES, Basis.UNITS)
BRACKET_ROWS_EXTRA = 2


# -- cost categories ------------------------------------------------------------------------------


def _expense_choices() -> list[tuple[int, str]]:
    rows = db_session().execute(
        select(ExpenseCategory.id, ExpenseCategory.name).order_by(ExpenseCategory.name)
    )
    return [(row.id, row.name) for row in rows]


def _type_choices(category: CostCategory | None) -> list[tuple[int, str]]:
    """The category's own cost types: the only ones it may default to."""
    if category is None:
        return []
    return [(cost_type.id, cost_type.name) for cost_type in category.cost_types]


def _render_category(service, category, values, errors) -> str:
    kinds = [(kind.value, t(f"providers.category_kind.{kind.value}")) for kind in CostCategoryKind]
    return render_template(
        "providers/category_form.html",
        service=service,
        provider=service.provider,
        category=category,
        values=values,
        errors=errors,
        kinds=kinds,
        expense_categories=_expense_choices(),
        cost_types=_type_choices(category),
    )


@bp.route("/services/<int:service_id>/categories/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_category(service_id: int) -> str | tuple[str, int] | Response:
    return _save_category(get_or_404(ProviderService, service_id), None)


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_category(category_id: int) -> str | tuple[str, int] | Response:
    category = get_or_404(CostCategory, category_id)
    return _save_category(category.service, category)


def _save_category(
    service: ProviderService, category: CostCategory | None
) -> str | tuple[str, int] | Response:
    if request.method == "GET":
        values: dict[str, Any] = {"kind": CostCategoryKind.DIRECT_MAIL.value}
        if category is not None:
            values = {
                "name": category.name,
                "kind": category.kind.value,
                "expense_category_id": category.expense_category_id,
                "cost_type_required": category.cost_type_required,
                "default_cost_type_id": category.default_cost_type_id,
            }
        return _render_category(service, category, values, {})
    reader = FormReader(request.form)
    fields = {
        "name": reader.text("name", required=True),
        "kind": reader.choice("kind", CostCategoryKind),
        "expense_category_id": reader.one_of("expense_category_id", choice_ids(_expense_choices())),
        "cost_type_required": reader.flag("cost_type_required"),
        "default_cost_type_id": reader.one_of(
            "default_cost_type_id", choice_ids(_type_choices(category))
        ),
    }
    check_unique(reader, CostCategory, category, "name", service_id=service.id)
    if not reader.ok:
        return _render_category(service, category, reader.values, reader.errors), 422
    category, created = save_row(
        CostCategory,
        category,
        fields | {"service_id": service.id},
        lambda row: f"{service.name}: {row.name}",
        lambda row: {
            "kind": row.kind.value,
            "cost_type_required": row.cost_type_required,
            "default_cost_type_id": row.default_cost_type_id,
        },
        target="cost_category",
    )
    flash(t("categories.created" if created else "categories.saved", name=category.name), "success")
    return redirect(url_for(".service", service_id=service.id) + f"#category-{category.id}")


# -- cost types -----------------------------------------------------------------------------------


def _stock_line_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    rows = db_session().execute(
        select(StockLine.id, StockLine.name, Stock.name.label("stock"))
        .join(Stock, StockLine.stock_id == Stock.id)
        .order_by(Stock.name, StockLine.name)
    )
    grouped: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        grouped.setdefault(row.stock, []).append((row.id, row.name))
    return list(grouped.items())


def _render_type(category, cost_type, values, errors) -> str:
    bases = [(basis.value, t(f"providers.basis.{basis.value}")) for basis in COUNTED_BASES]
    return render_template(
        "providers/type_form.html",
        category=category,
        service=category.service,
        cost_type=cost_type,
        values=values,
        errors=errors,
        stock_lines=_stock_line_choices(),
        bases=bases,
    )


@bp.route("/categories/<int:category_id>/types/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_type(category_id: int) -> str | tuple[str, int] | Response:
    return _save_type(get_or_404(CostCategory, category_id), None)


@bp.route("/types/<int:type_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_type(type_id: int) -> str | tuple[str, int] | Response:
    cost_type = get_or_404(CostType, type_id)
    return _save_type(cost_type.cost_category, cost_type)


def _save_type(
    category: CostCategory, cost_type: CostType | None
) -> str | tuple[str, int] | Response:
    if request.method == "GET":
        values: dict[str, Any] = {"stock_basis": Basis.MESSAGES.value}
        if cost_type is not None:
            values = {
                "name": cost_type.name,
                "stock_line_id": cost_type.stock_line_id,
                "stock_basis": cost_type.stock_basis.value,
            }
        return _render_type(category, cost_type, values, {})
    reader = FormReader(request.form)
    name = reader.text("name", required=True)
    stock_line_id = reader.one_of("stock_line_id", choice_ids(_stock_line_choices()))
    basis = reader.choice("stock_basis", Basis)
    if basis is Basis.DAYS:
        reader.error("stock_basis", t("forms.not_a_choice", value=t("providers.basis.days")))
    check_unique(reader, CostType, cost_type, "name", cost_category_id=category.id)
    if not reader.ok:
        return _render_type(category, cost_type, reader.values, reader.errors), 422
    fields = {
        "cost_category_id": category.id,
        "name": name,
        "stock_line_id": stock_line_id,
        "stock_basis": basis,
    }
    cost_type, created = save_row(
        CostType,
        cost_type,
        fields,
        lambda row: f"{category.name}: {row.name}",
        lambda row: {"stock_line_id": row.stock_line_id, "stock_basis": row.stock_basis.value},
    )
    flash(t("types.created" if created else "types.saved", name=cost_type.name), "success")
    return redirect(
        url_for(".service", service_id=category.service_id) + f"#category-{category.id}"
    )


@bp.post("/types/<int:type_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_type(type_id: int) -> Response:
    session = db_session()
    cost_type = get_or_404(CostType, type_id)
    category = cost_type.cost_category
    record_audit(
        session,
        username(),
        "cost_type.delete",
        "cost_type",
        cost_type.id,
        f"{category.name}: {cost_type.name}",
    )
    session.delete(cost_type)
    session.commit()
    flash(t("types.deleted", name=cost_type.name), "success")
    return redirect(
        url_for(".service", service_id=category.service_id) + f"#category-{category.id}"
    )


# -- cost structures ------------------------------------------------------------------------------


def _structure_values(structure: CostStructure | None, category: CostCategory) -> dict[str, Any]:
    if structure is None:
        kind = (
            StructureKind.DAILY if category.kind is CostCategoryKind.TASK else StructureKind.LINEAR
        )
        return {
            "kind": kind.value,
            "basis": (Basis.DAYS if kind is StructureKind.DAILY else Basis.MESSAGES).value,
            "position": len(category.structures),
            "bracket_rows": 3,
        }
    values: dict[str, Any] = {
        "kind": structure.kind.value,
        "basis": structure.basis.value,
        "label": structure.label,
        "cost_type_id": structure.cost_type_id,
        "position": structure.position,
        "amount": decimal_input(structure.amount),
        "batch_size": structure.batch_size or "",
        "percent": decimal_input(structure.percent),
        "bracket_rows": len(structure.brackets or []) + BRACKET_ROWS_EXTRA,
    }
    for index, bracket in enumerate(structure.brackets or []):
        values[f"bracket-{index}-up_to"] = bracket.get("up_to") or ""
        values[f"bracket-{index}-price"] = decimal_input(Decimal(str(bracket["price"])))
    return values


def _render_structure(category, structure, values, errors) -> str:
    try:
        kind = StructureKind(values.get("kind"))
    except ValueError:
        kind = StructureKind.LINEAR
    bases = [Basis.DAYS] if kind is StructureKind.DAILY else list(COUNTED_BASES)
    return render_template(
        "providers/structure_form.html",
        category=category,
        service=category.service,
        structure=structure,
        values=values,
        errors=errors,
        kind=kind,
        kinds=[(k.value, t(f"providers.structure.{k.value}")) for k in StructureKind],
        bases=[(basis.value, t(f"providers.basis.{basis.value}")) for basis in bases],
        cost_types=[(cost_type.id, cost_type.name) for cost_type in category.cost_types],
        bracket_rows=range(int(values.get("bracket_rows") or 3)),
    )


@bp.route("/categories/<int:category_id>/structures/new", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def new_structure(category_id: int) -> str | tuple[str, int] | Response:
    return _save_structure(get_or_404(CostCategory, category_id), None)


@bp.route("/structures/<int:structure_id>/edit", methods=["GET", "POST"])
@role_required(Role.CAMPAIGN_MANAGER)
def edit_structure(structure_id: int) -> str | tuple[str, int] | Response:
    structure = get_or_404(CostStructure, structure_id)
    return _save_structure(structure.cost_category, structure)


def read_structure(reader: FormReader, category: CostCategory) -> Structure | None:
    """The submitted price as a validated ``Structure``, or None with the problems placed on
    the inputs they concern."""
    kind = reader.choice("kind", StructureKind)
    label = reader.text("label")
    if kind is None:
        return None
    basis = Basis.DAYS if kind is StructureKind.DAILY else Basis.MESSAGES
    if kind in COUNTED_KINDS:
        basis = reader.choice("basis", Basis)
        if basis is Basis.DAYS:
            reader.error("basis", t("forms.not_a_choice", value=t("providers.basis.days")))
    spec: dict[str, Any] = {"kind": kind, "basis": basis, "label": label}
    if kind in AMOUNT_KINDS:
        spec["amount"] = reader.number("amount", required=True)
    if kind is StructureKind.LINEAR:
        spec["batch_size"] = reader.integer("batch_size", minimum=1)
    if kind is StructureKind.SURCHARGE:
        spec["percent"] = reader.number("percent", required=True)
    if kind in THRESHOLD_KINDS:
        spec["brackets"] = _read_brackets(reader)
    if not reader.ok:
        return None
    try:
        return Structure.model_validate(spec)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            target = {"brackets": "brackets"}.get(field, field)
            reader.error(
                target if target in reader.values else "form",
                ValidationMessage.of(error),
            )
        return None


def _read_brackets(reader: FormReader) -> list[dict[str, Any]]:
    """The filled bracket rows, in order: the inclusive upper bound and the price; checked so
    that bounds rise and only the last row is open."""
    rows = reader.integer("bracket_rows", minimum=1, maximum=100) or 1
    brackets: list[tuple[int, int | None, Decimal | None]] = []
    for index in range(rows):
        up_to = reader.integer(f"bracket-{index}-up_to", minimum=1)
        price = reader.number(f"bracket-{index}-price")
        if up_to is None and price is None and f"bracket-{index}-up_to" not in reader.errors:
            continue
        if price is None:
            reader.error(f"bracket-{index}-price", t("structures.price_missing"))
        brackets.append((index, up_to, price))
    if not brackets:
        reader.error("brackets", t("structures.need_bracket"))
        return []
    previous = 0
    for position, (index, up_to, _price) in enumerate(brackets):
        last = position == len(brackets) - 1
        if up_to is None and not last:
            reader.error(f"bracket-{index}-up_to", t("structures.only_last_open"))
        elif up_to is not None and last:
            reader.error(f"bracket-{index}-up_to", t("structures.last_open"))
        elif up_to is not None and up_to <= previous:
            reader.error(f"bracket-{index}-up_to", t("structures.ascending", previous=previous))
        previous = up_to or previous
    reader.values.setdefault("brackets", "")
    return [{"up_to": up_to, "price": price} for _index, up_to, price in brackets]


def _save_structure(
    category: CostCategory, structure: CostStructure | None
) -> str | tuple[str, int] | Response:
    if request.method == "GET":
        return _render_structure(category, structure, _structure_values(structure, category), {})
    reader = FormReader(request.form)
    intent = request.form.get("intent", "save")
    if intent != "save":
        reader.raw("kind")
        for name in (
            "label",
            "basis",
            "cost_type_id",
            "position",
            "amount",
            "batch_size",
            "percent",
        ):
            reader.raw(name)
        rows = int(request.form.get("bracket_rows") or 3)
        for index in range(rows):
            reader.raw(f"bracket-{index}-up_to")
            reader.raw(f"bracket-{index}-price")
        reader.values["bracket_rows"] = rows + (BRACKET_ROWS_EXTRA if intent == "more_rows" else 0)
        return _render_structure(category, structure, reader.values, {})
    session = db_session()
    spec = read_structure(reader, category)
    cost_type_id = reader.one_of(
        "cost_type_id", [cost_type.id for cost_type in category.cost_types]
    )
    position = reader.integer("position", minimum=0, maximum=10_000) or 0
    if spec is None or not reader.ok:
        return _render_structure(category, structure, reader.values, reader.errors), 422
    created = structure is None
    replacement = CostStructure.of(
        spec, cost_category_id=category.id, cost_type_id=cost_type_id, position=position
    )
    if structure is None:
        structure = replacement
        session.add(structure)
    else:
        for column in (
            "kind",
            "basis",
            "amount",
            "batch_size",
            "brackets",
            "percent",
            "label",
            "cost_type_id",
            "position",
        ):
            setattr(structure, column, getattr(replacement, column))
    session.flush()
    record_audit(
        session,
        username(),
        "cost_structure.create" if created else "cost_structure.update",
        "cost_structure",
        structure.id,
        f"{category.name}: {spec.label or spec.kind.value}",
        spec.model_dump(mode="json"),
    )
    session.commit()
    flash(t("structures.created" if created else "structures.saved"), "success")
    return redirect(
        url_for(".service", service_id=category.service_id) + f"#category-{category.id}"
    )


@bp.post("/structures/<int:structure_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete_structure(structure_id: int) -> Response:
    session = db_session()
    structure = get_or_404(CostStructure, structure_id)
    category = structure.cost_category
    record_audit(
        session,
        username(),
        "cost_structure.delete",
        "cost_structure",
        structure.id,
        f"{category.name}: {structure.label or structure.kind.value}",
    )
    session.delete(structure)
    session.commit()
    flash(t("structures.deleted"), "success")
    return redirect(
        url_for(".service", service_id=category.service_id) + f"#category-{category.id}"
    )
