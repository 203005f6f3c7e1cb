"""Cost calculation: what a provider's cost structures charge for a number of messages, units
or days, and which of a delivery's or task's three costs counts.

Pure functions over Decimal, no database: the budget workflow feeds them the structures of
a provider service and the counts the engine recorded. Every amount a structure charges is
rounded to the cent (half up) on its own, so a cost line is the sum of the amounts shown.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.messages import ExplainedError, StoredText, stored_for
from core.models.base import CENT, round_money
from core.validation import ValidationMessage, problem_text, reason_text

ZERO = Decimal("0.00")
stored = stored_for(__name__)


class CostError(ExplainedError):
    """A cost cannot be calculated as configured; names the structure and field (``text`` in
    the reader's language, ``str()`` in English). A ValueError, so pydantic reports one raised
    by a validator as that field's problem and keeps it (``ctx["error"]``)."""


class StructureKind(enum.StrEnum):
    """How a cost structure turns a count into an amount."""

    FIXED = "fixed"
    """A fixed amount, whatever the count."""
    LINEAR = "linear"
    """A price per message (or unit), or per started batch of ``batch_size``."""
    LINEAR_THRESHOLD = "linear_threshold"
    """The whole count priced at the per-message price of the bracket the count falls in."""
    CONSTANT_THRESHOLD = "constant_threshold"
    """A fixed amount that depends on the bracket the count falls in."""
    DAILY = "daily"
    """A rate per day worked (tasks)."""
    SURCHARGE = "surcharge"
    """A percentage added to the other structures of the same cost category."""


KIND_NAMES = {
    StructureKind.FIXED: stored("fixed amount"),
    StructureKind.LINEAR: stored("linear"),
    StructureKind.LINEAR_THRESHOLD: stored("linear by threshold"),
    StructureKind.CONSTANT_THRESHOLD: stored("constant by threshold"),
    StructureKind.DAILY: stored("daily rate"),
    StructureKind.SURCHARGE: stored("surcharge"),
}


class Basis(enum.StrEnum):
    """What a structure counts: messages (letters, SMS, e-mails), units (pages, SMS
    segments) or days worked."""

    MESSAGES = "messages"
    UNITS = "units"
    DAYS = "days"


BASIS_NAMES = {
    Basis.MESSAGES: stored("messages"),
    Basis.UNITS: stored("units"),
    Basis.DAYS: stored("days"),
}


COUNTED_KINDS = (
    StructureKind.LINEAR,
    StructureKind.LINEAR_THRESHOLD,
    StructureKind.CONSTANT_THRESHOLD,
)
AMOUNT_KINDS = (StructureKind.FIXED, StructureKind.LINEAR, StructureKind.DAILY)
"""The kinds priced by one ``amount``."""
THRESHOLD_KINDS = (StructureKind.LINEAR_THRESHOLD, StructureKind.CONSTANT_THRESHOLD)
"""The kinds priced by ``brackets``."""


class Bracket(BaseModel):
    """One bracket of a threshold structure: counts up to ``up_to`` (inclusive; ``None`` for
    everything above the previous bracket) cost ``price``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: int | None = Field(default=None, ge=1, description="Largest count in the bracket.")
    price: Decimal = Field(ge=0, description="Price per message, or the bracket's fixed amount.")


class Structure(BaseModel):
    """One cost structure of a cost category, validated so that every kind has what it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: StructureKind
    basis: Basis = Basis.MESSAGES
    amount: Decimal | None = Field(default=None, ge=0)
    batch_size: int | None = Field(default=None, ge=1)
    brackets: tuple[Bracket, ...] = ()
    percent: Decimal | None = Field(default=None, ge=0)
    label: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Structure:
        kind, name = self.kind, KIND_NAMES[self.kind]
        needs_amount = kind in AMOUNT_KINDS
        if needs_amount and self.amount is None:
            raise CostError(stored("a {kind} structure needs an amount", kind=name))
        if not needs_amount and self.amount is not None:
            raise CostError(stored("a {kind} structure takes no amount", kind=name))
        if self.batch_size is not None and kind is not StructureKind.LINEAR:
            raise CostError(stored("only a linear structure takes a batch size"))
        if kind in THRESHOLD_KINDS:
            _check_brackets(self.brackets)
        elif self.brackets:
            raise CostError(stored("a {kind} structure takes no brackets", kind=name))
        if (kind is StructureKind.SURCHARGE) != (self.percent is not None):
            raise CostError(stored("a surcharge structure, and only it, needs a percent"))
        if kind is StructureKind.DAILY and self.basis is not Basis.DAYS:
            raise CostError(stored("a daily structure counts days (basis 'days')"))
        if kind in COUNTED_KINDS and self.basis is Basis.DAYS:
            raise CostError(
                stored("a {kind} structure counts messages or units, not days", kind=name)
            )
        return self

    @classmethod
    def parse(cls, data: dict[str, Any], where: StoredText) -> Structure:
        """Validate stored structure settings; StructureError naming ``where`` and each bad
        field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise StructureError(where, [field_problem(error) for error in exc.errors()]) from None


class StructureError(CostError):
    """Stored structure settings that are not a valid structure: ``problems`` names each bad
    field (a screen that shows the structure already says which it is)."""

    def __init__(self, where: StoredText, problems: list[StoredText]) -> None:
        super().__init__(stored("{where}: {problems}", where=where, problems=problems))
        self.problems = problems


def field_problem(error: dict[str, Any]) -> StoredText:
    """One pydantic error of a structure as a stored text naming the field: the structure's
    own rule as it words it, pydantic's by its kind as the panel's settings forms say it."""
    message = ValidationMessage.of(error)
    if not error["loc"]:
        return reason_text(message, __name__)
    return problem_text(".".join(str(part) for part in error["loc"]), message, __name__)


def _check_brackets(brackets: Sequence[Bracket]) -> None:
    if not brackets:
        raise CostError(stored("a threshold structure needs at least one bracket"))
    if brackets[-1].up_to is not None:
        raise CostError(
            stored("the last bracket must be open (up_to empty) so every count has a price")
        )
    previous = 0
    for position, bracket in enumerate(brackets[:-1]):
        if bracket.up_to is None:
            raise CostError(
                stored("brackets[{position}]: only the last bracket may be open", position=position)
            )
        if bracket.up_to <= previous:
            raise CostError(
                stored(
                    "brackets[{position}]: up_to {up_to} must be above {previous}",
                    position=position,
                    up_to=bracket.up_to,
                    previous=previous,
                )
            )
        previous = bracket.up_to


@dataclass(frozen=True, slots=True)
class Quantities:
    """What is being priced: messages, units (pages or SMS segments) and days worked."""

    messages: int = 0
    units: int = 0
    days: Decimal = Decimal(0)

    def of(self, basis: Basis) -> Decimal:
        return Decimal({"messages": self.messages, "units": self.units, "days": self.days}[basis])


def bracket_for(brackets: Sequence[Bracket], count: Decimal) -> Bracket:
    """The bracket ``count`` falls in: the first whose ``up_to`` is at least the count."""
    for bracket in brackets:
        if bracket.up_to is None or count <= bracket.up_to:
            return bracket
    raise CostError(  # unreachable once validated
        stored("count {count} is above the last bracket", count=count)
    )


def structure_amount(structure: Structure, quantities: Quantities) -> Decimal:
    """What one structure (not a surcharge) charges, rounded to the cent.

    A count of zero costs nothing except a fixed amount, which is charged whenever the
    delivery or task is costed at all.
    """
    kind = structure.kind
    if kind is StructureKind.SURCHARGE:
        raise CostError(
            stored("a surcharge is a percentage of its category, not an amount of its own")
        )
    if kind is StructureKind.FIXED:
        return round_money(structure.amount)
    count = quantities.of(structure.basis)
    if count < 0:
        raise CostError(
            stored(
                "{basis}: a count cannot be negative, got {count}",
                basis=BASIS_NAMES[structure.basis],
                count=count,
            )
        )
    if count == 0:
        return ZERO
    if kind is StructureKind.DAILY:
        return round_money(structure.amount * count)
    if kind is StructureKind.LINEAR:
        if structure.batch_size is None:
            return round_money(structure.amount * count)
        batches = math.ceil(count / structure.batch_size)
        return round_money(structure.amount * batches)
    bracket = bracket_for(structure.brackets, count)
    if kind is StructureKind.LINEAR_THRESHOLD:
        return round_money(bracket.price * count)
    return round_money(bracket.price)


@dataclass(frozen=True, slots=True)
class CategoryCost:
    """The amount of one cost category and the amounts that make it up, for the cost line."""

    amount: Decimal
    parts: tuple[tuple[str, Decimal], ...]

    def describe(self) -> str:
        """``label: amount; …``, a label without a name in words the panel's catalogs
        translate (``webapp.i18n.item_detail``), as the budget and delivery pages show it."""
        return "; ".join(f"{label}: {amount}" for label, amount in self.parts)


def category_cost(structures: Iterable[Structure], quantities: Quantities) -> CategoryCost:
    """Sum a category's structures, then add its surcharges as percentages of that sum."""
    structures = list(structures)
    parts = [
        (structure.label or KIND_NAMES[structure.kind].id, structure_amount(structure, quantities))
        for structure in structures
        if structure.kind is not StructureKind.SURCHARGE
    ]
    subtotal = sum((amount for _, amount in parts), ZERO)
    for structure in structures:
        if structure.kind is StructureKind.SURCHARGE:
            surcharge = round_money(subtotal * structure.percent / 100)
            parts.append((structure.label or f"surcharge {structure.percent}%", surcharge))
    return CategoryCost(sum((amount for _, amount in parts), ZERO), tuple(parts))


def effective_cost(
    real: Decimal | None, calculated: Decimal | None, estimate: Decimal | None
) -> Decimal:
    """The cost that counts: a real cost wins, then a calculated one, then the estimate."""
    for value in (real, calculated, estimate):
        if value is not None:
            return round_money(value)
    return ZERO


def split_pro_rata(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Share ``total`` out in proportion to ``weights``, in cents that add up exactly.

    The cents lost to rounding go to the largest remainders (earlier weights win ties), so a
    real cost spread over the calculated cost lines never gains or loses a cent. With no
    positive weight everything goes to the first share.
    """
    if not weights:
        return []
    total = round_money(total)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        return [total] + [ZERO] * (len(weights) - 1)
    cents = int(total / CENT)
    exact = [Decimal(cents) * weight / weight_sum for weight in weights]
    floors = [math.floor(value) for value in exact]
    leftover = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda index: (floors[index] - exact[index], index))
    for index in order[:leftover]:
        floors[index] += 1
    return [Decimal(value) * CENT for value in floors]
