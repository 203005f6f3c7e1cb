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
from core.messages import StoredText, stored_for
from core.models import Role
from core.validation import ValidationMessage
from plugins.processes.costs import (
    AMOUNT_KINDS,
    COUNTED_KINDS,
    KIND_NAMES,
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
from plugins.processes.panel.providers.views import bp, more_rows
from webapp import (
    ChoiceField,
    EnumField,
    FlagField,
    NumberField,
    PanelForm,
    TextField,
    WholeNumberField,
    check_unique,
    db_session,
    get_or_404,
    pressed_button,
    role_required,
    save_row,
    t,
    username,
)

stored = stored_for(__name__)

COUNTED_BASES = (Basis.MESSAGES, Basis.UNITS)
BRACKET_ROWS_EXTRA = 2
BRACKET_ROWS_NEW = 3
BRACKET_ROWS_MAX = 100


def _named(category: CostCategory, label: str | None, kind: StructureKind) -> StoredText:
    """A structure for the audit log: its label, else its kind in the reader's words."""
    return stored(
        "{category}: {structure}",
        category=category.name,
        structure=label or KIND_NAMES[StructureKind(kind)],
    )


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


CATEGORY_COLUMNS = (
    "name",
    "kind",
    "expense_category_id",
    "cost_type_required",
    "default_cost_type_id",
)


class CategoryForm(PanelForm):
    name = TextField(required=True)
    kind = EnumField(CostCategoryKind, required=True, default=CostCategoryKind.DIRECT_MAIL)
    expense_category_id = ChoiceField()
    cost_type_required = FlagField()
    default_cost_type_id = ChoiceField()


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
    form = CategoryForm(obj=category)
    if request.method == "GET":
        return _render_category(service, category, form.values, {})
    form.expense_category_id.choices = _expense_choices()
    form.default_cost_type_id.choices = _type_choices(category)
    form.validate()
    check_unique(form, CostCategory, category, "name", service_id=service.id)
    if not form.ok:
        return _render_category(service, category, form.values, form.messages), 422
    fields = {name: form[name].data for name in CATEGORY_COLUMNS}
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


class TypeForm(PanelForm):
    name = TextField(required=True)
    stock_line_id = ChoiceField()
    stock_basis = EnumField(Basis, required=True, default=Basis.MESSAGES)


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
    form = TypeForm(obj=cost_type)
    if request.method == "GET":
        return _render_type(category, cost_type, form.values, {})
    form.stock_line_id.choices = _stock_line_choices()
    form.validate()
    if form.stock_basis.data is Basis.DAYS:
        form.add_error("stock_basis", t("forms.not_a_choice", value=t("providers.basis.days")))
    check_unique(form, CostType, cost_type, "name", cost_category_id=category.id)
    if not form.ok:
        return _render_type(category, cost_type, form.values, form.messages), 422
    fields = {
        "cost_category_id": category.id,
        "name": form.name.data,
        "stock_line_id": form.stock_line_id.data,
        "stock_basis": form.stock_basis.data,
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


class BracketRowsForm(PanelForm):
    bracket_rows = WholeNumberField(minimum=1, maximum=BRACKET_ROWS_MAX)
    """How many bracket rows the form shows."""


class StructureForm(BracketRowsForm):
    kind = EnumField(StructureKind, required=True)
    label = TextField()
    basis = EnumField(Basis)
    cost_type_id = ChoiceField()
    position = WholeNumberField(maximum=10_000)
    amount = NumberField()
    batch_size = WholeNumberField(minimum=1)
    percent = NumberField()
    brackets = TextField()
    """Not an input: where a problem of the brackets as a whole is shown."""


def _structure_form(rows: int, data: dict[str, Any] | None = None) -> StructureForm:
    """The structure form with ``rows`` bracket rows (``bracket-<n>-up_to`` and
    ``bracket-<n>-price``)."""
    brackets: dict[str, Any] = {}
    for index in range(rows):
        brackets[f"bracket-{index}-up_to"] = WholeNumberField(minimum=1)
        brackets[f"bracket-{index}-price"] = NumberField()
    return type("StructureBracketsForm", (StructureForm,), brackets)(data=data)


def _stored_structure_form(
    structure: CostStructure | None, category: CostCategory
) -> StructureForm:
    if structure is None:
        kind = (
            StructureKind.DAILY if category.kind is CostCategoryKind.TASK else StructureKind.LINEAR
        )
        data: dict[str, Any] = {
            "kind": kind,
            "basis": Basis.DAYS if kind is StructureKind.DAILY else Basis.MESSAGES,
            "position": len(category.structures),
            "bracket_rows": BRACKET_ROWS_NEW,
        }
        return _structure_form(BRACKET_ROWS_NEW, data)
    brackets = structure.brackets or []
    data = {
        "kind": structure.kind,
        "basis": structure.basis,
        "label": structure.label,
        "cost_type_id": structure.cost_type_id,
        "position": structure.position,
        "amount": structure.amount,
        "batch_size": structure.batch_size,
        "percent": structure.percent,
        "bracket_rows": more_rows(len(brackets), BRACKET_ROWS_EXTRA, BRACKET_ROWS_MAX),
    }
    for index, bracket in enumerate(brackets):
        data[f"bracket-{index}-up_to"] = bracket.get("up_to")
        data[f"bracket-{index}-price"] = Decimal(str(bracket["price"]))
    return _structure_form(data["bracket_rows"], data)


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
        bracket_rows=range(int(values.get("bracket_rows") or BRACKET_ROWS_NEW)),
        more_rows=int(values.get("bracket_rows") or 0) < BRACKET_ROWS_MAX,
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


def read_structure(form: StructureForm, rows: int) -> Structure | None:
    """The submitted price as a validated ``Structure``, or None with the problems placed on
    the inputs they concern; inputs the kind does not use are not checked."""
    form.validate()
    kind = form.kind.data
    if kind is None:
        return None
    used = _inputs_used(kind)
    for field in form:
        if field.name in STRUCTURE_INPUTS and field.name not in used:
            field.errors = []
    basis = Basis.DAYS if kind is StructureKind.DAILY else Basis.MESSAGES
    if kind in COUNTED_KINDS:
        basis = form.basis.data
        if basis is None and not form.basis.errors:
            form.add_error("basis", t("forms.required"))
        elif basis is Basis.DAYS:
            form.add_error("basis", t("forms.not_a_choice", value=t("providers.basis.days")))
    spec: dict[str, Any] = {"kind": kind, "basis": basis, "label": form.label.data}
    for name in ("amount", "batch_size", "percent"):
        if name in used:
            spec[name] = form[name].data
    for name in ("amount", "percent"):
        if name in used and spec[name] is None:
            form.add_error(name, t("forms.required"))
    if kind in THRESHOLD_KINDS:
        spec["brackets"] = _read_brackets(form, rows)
    if not form.ok:
        return None
    try:
        return Structure.model_validate(spec)
    except ValidationError as exc:
        for error in exc.errors():
            target = str(error["loc"][0]) if error["loc"] else "form"
            form.add_error(target if target in form else "form", ValidationMessage.of(error))
        return None


STRUCTURE_INPUTS = ("basis", "amount", "batch_size", "percent")
"""The inputs only some kinds of structure use."""


def _inputs_used(kind: StructureKind) -> set[str]:
    used = {"basis"} if kind in COUNTED_KINDS else set()
    if kind in AMOUNT_KINDS:
        used.add("amount")
    if kind is StructureKind.LINEAR:
        used.add("batch_size")
    if kind is StructureKind.SURCHARGE:
        used.add("percent")
    return used


def _read_brackets(form: StructureForm, rows: int) -> list[dict[str, Any]]:
    """The filled bracket rows, in order: the inclusive upper bound and the price; checked so
    that bounds rise and only the last row is open."""
    brackets: list[tuple[int, int | None, Decimal | None]] = []
    for index in range(rows):
        up_field, price_field = form[f"bracket-{index}-up_to"], form[f"bracket-{index}-price"]
        up_to, price = up_field.data, price_field.data
        if up_to is None and price is None and not up_field.errors:
            continue
        if price is None:
            form.add_error(price_field.name, t("structures.price_missing"))
        brackets.append((index, up_to, price))
    if not brackets:
        form.add_error("brackets", t("structures.need_bracket"))
        return []
    previous = 0
    for position, (index, up_to, _price) in enumerate(brackets):
        last = position == len(brackets) - 1
        name = f"bracket-{index}-up_to"
        if up_to is None and not last:
            form.add_error(name, t("structures.only_last_open"))
        elif up_to is not None and last:
            form.add_error(name, t("structures.last_open"))
        elif up_to is not None and up_to <= previous:
            form.add_error(name, t("structures.ascending", previous=previous))
        previous = up_to or previous
    return [{"up_to": up_to, "price": price} for _index, up_to, price in brackets]


def _save_structure(
    category: CostCategory, structure: CostStructure | None
) -> str | tuple[str, int] | Response:
    if request.method == "GET":
        values = _stored_structure_form(structure, category).values
        return _render_structure(category, structure, values, {})
    counted = BracketRowsForm()
    rows = (counted.bracket_rows.data if counted.validate() else None) or BRACKET_ROWS_NEW
    form = _structure_form(rows)
    intent = pressed_button(("save", "more_rows", "refresh"), default="save")
    if intent != "save":
        values = form.values
        extra = BRACKET_ROWS_EXTRA if intent == "more_rows" else 0
        values["bracket_rows"] = more_rows(rows, extra, BRACKET_ROWS_MAX)
        return _render_structure(category, structure, values, {})
    session = db_session()
    form.cost_type_id.choices = _type_choices(category)
    spec = read_structure(form, rows)
    position = form.position.data or 0
    if spec is None or not form.ok:
        values = form.values
        values["bracket_rows"] = rows  # the count read, not a text typed over it
        return _render_structure(category, structure, values, form.messages), 422
    cost_type_id = form.cost_type_id.data
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
        _named(category, spec.label, spec.kind),
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
        _named(category, structure.label, structure.kind),
    )
    session.delete(structure)
    session.commit()
    flash(t("structures.deleted"), "success")
    return redirect(
        url_for(".service", service_id=category.service_id) + f"#category-{category.id}"
    )
