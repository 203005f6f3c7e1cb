"""Cost structures, bracket edges, rounding, precedence and pro-rata shares."""

from decimal import Decimal

import pytest

from core.models.base import round_money
from plugins.processes.costs import (
    Basis,
    Bracket,
    CostError,
    Quantities,
    Structure,
    StructureKind,
    category_cost,
    effective_cost,
    split_pro_rata,
    structure_amount,
)

D = Decimal


def linear(price: str, batch_size: int | None = None, basis=Basis.MESSAGES) -> Structure:
    return Structure(kind="linear", amount=D(price), batch_size=batch_size, basis=basis)


# the domain's example brackets: 0.13 for 1-100, 0.12 for 101-1,000, 0.11 above
LINEAR_BRACKETS = Structure(
    kind="linear_threshold",
    brackets=[
        {"up_to": 100, "price": "0.13"},
        {"up_to": 1000, "price": "0.12"},
        {"up_to": None, "price": "0.11"},
    ],
)
CONSTANT_BRACKETS = Structure(
    kind="constant_threshold",
    brackets=[
        {"up_to": 100, "price": "12"},
        {"up_to": 1000, "price": "100"},
        {"price": "500"},
    ],
)


def messages(count: int) -> Quantities:
    return Quantities(messages=count)


def test_a_fixed_amount_is_charged_whatever_the_count():
    fixed = Structure(kind="fixed", amount=D("250"))
    assert structure_amount(fixed, messages(0)) == D("250.00")
    assert structure_amount(fixed, messages(1_000_000)) == D("250.00")


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0.00"), (1, "0.05"), (333, "14.99"), (1000, "45.00")],
)
def test_linear_per_message_rounds_the_total_half_up(count, expected):
    # 333 x 0.045 = 14.985 -> 14.99
    assert structure_amount(linear("0.045"), messages(count)) == D(expected)


@pytest.mark.parametrize(
    ("count", "batches"),
    [(0, 0), (1, 1), (499, 1), (500, 1), (501, 2), (1000, 2), (1001, 3)],
)
def test_linear_per_batch_charges_every_started_batch(count, batches):
    assert structure_amount(linear("20", batch_size=500), messages(count)) == D(20 * batches)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "0.13"),
        (100, "13.00"),  # the upper bound belongs to its bracket
        (101, "12.12"),  # the whole count moves to the next price: 101 x 0.12
        (1000, "120.00"),
        (1001, "110.11"),
        (50_000, "5500.00"),
    ],
)
def test_linear_by_threshold_prices_the_whole_count_at_its_bracket(count, expected):
    assert structure_amount(LINEAR_BRACKETS, messages(count)) == D(expected)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0.00"), (1, "12.00"), (100, "12.00"), (101, "100.00"), (1000, "100.00"),
     (1001, "500.00"), (10**7, "500.00")],
)  # fmt: skip
def test_constant_by_threshold_charges_the_brackets_amount(count, expected):
    assert structure_amount(CONSTANT_BRACKETS, messages(count)) == D(expected)


def test_daily_multiplies_the_rate_by_the_days_worked():
    daily = Structure(kind="daily", basis="days", amount=D("300"))
    # the domain's example: 300 EUR/day x 5 days
    assert structure_amount(daily, Quantities(days=D(5))) == D("1500.00")
    assert structure_amount(daily, Quantities(days=D("2.5"))) == D("750.00")
    assert structure_amount(daily, Quantities(days=D(0))) == D("0.00")


def test_a_structure_counts_messages_or_units_as_told():
    print_per_page = linear("0.08", basis=Basis.UNITS)
    postage = linear("0.85")
    sent = Quantities(messages=1000, units=2300)
    assert structure_amount(print_per_page, sent) == D("184.00")
    assert structure_amount(postage, sent) == D("850.00")


def test_a_category_adds_its_surcharge_on_the_sum_of_its_structures():
    surcharge = Structure(kind="surcharge", percent=D("10"), label="Energiezuschlag")
    cost = category_cost([linear("0.08", basis=Basis.UNITS), linear("0.85"), surcharge],
                         Quantities(messages=1000, units=2300))  # fmt: skip
    assert cost.amount == D("1137.40")  # (184 + 850) x 1.1
    assert cost.parts[-1] == ("Energiezuschlag", D("103.40"))
    assert "Energiezuschlag: 103.40" in cost.describe()


def test_a_category_without_structures_costs_nothing():
    assert category_cost([], messages(10)).amount == D("0.00")


def test_a_surcharge_alone_is_not_an_amount():
    with pytest.raises(CostError, match="percentage"):
        structure_amount(Structure(kind="surcharge", percent=D(5)), messages(1))


def test_a_negative_count_is_refused():
    with pytest.raises(CostError, match="negative"):
        structure_amount(linear("1"), messages(-1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "fixed"}, "a fixed amount structure needs an amount"),
        ({"kind": "linear"}, "a linear structure needs an amount"),
        ({"kind": "linear", "amount": "-1"}, "amount: Input should be greater than or equal to 0"),
        ({"kind": "linear", "amount": "1", "batch_size": 0}, "batch_size"),
        ({"kind": "fixed", "amount": "1", "batch_size": 10}, "only a linear structure"),
        ({"kind": "linear_threshold"}, "needs at least one bracket"),
        ({"kind": "linear_threshold", "amount": "1", "brackets": [{"price": 1}]}, "no amount"),
        (
            {"kind": "linear_threshold", "brackets": [{"up_to": 100, "price": 1}]},
            "the last bracket must be open",
        ),
        (
            {"kind": "constant_threshold",
             "brackets": [{"up_to": 100, "price": 1}, {"up_to": 100, "price": 2}, {"price": 3}]},
            "brackets[1]: up_to 100 must be above 100",
        ),
        (
            {"kind": "constant_threshold", "brackets": [{"price": 1}, {"price": 2}]},
            "brackets[0]: only the last bracket may be open",
        ),
        ({"kind": "fixed", "amount": 1, "brackets": [{"price": 1}]}, "takes no brackets"),
        ({"kind": "surcharge"}, "needs a percent"),
        ({"kind": "linear", "amount": 1, "percent": 5}, "needs a percent"),
        ({"kind": "daily", "amount": 300}, "a daily structure counts days"),
        ({"kind": "linear", "amount": 1, "basis": "days"}, "counts messages or units"),
        ({"kind": "cheap"}, "kind: Input should be 'fixed'"),
        ({"kind": "fixed", "amount": 1, "colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_an_incomplete_structure_is_refused_naming_where_and_what(data, message):
    with pytest.raises(CostError) as caught:
        Structure.parse(data, "cost structure 7")
    assert str(caught.value).startswith("cost structure 7: ")
    assert message in str(caught.value)


def test_brackets_come_back_as_bracket_objects():
    assert LINEAR_BRACKETS.brackets[0] == Bracket(up_to=100, price=D("0.13"))


@pytest.mark.parametrize(
    ("real", "calculated", "estimate", "expected"),
    [
        ("90", "120", "100", "90.00"),  # a real cost wins
        ("0", "120", "100", "0.00"),  # even a real cost of nothing
        (None, "120", "100", "120.00"),
        (None, None, "100", "100.00"),
        (None, None, None, "0.00"),
    ],
)
def test_effective_cost_precedence(real, calculated, estimate, expected):
    as_decimal = [D(value) if value is not None else None for value in (real, calculated, estimate)]
    assert effective_cost(*as_decimal) == D(expected)


def test_round_money_rounds_half_up():
    assert round_money(D("0.005")) == D("0.01")
    assert round_money(D("2.344999")) == D("2.34")


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        ("100", ["1", "1", "1"], ["33.34", "33.33", "33.33"]),
        ("1137.40", ["184", "850", "103.40"], ["184.00", "850.00", "103.40"]),
        ("900", ["184", "850"], ["160.15", "739.85"]),
        ("10", ["0", "0"], ["10.00", "0.00"]),
        ("0", ["3", "7"], ["0.00", "0.00"]),
    ],
)
def test_split_pro_rata_keeps_every_cent(total, weights, expected):
    shares = split_pro_rata(D(total), [D(weight) for weight in weights])
    assert shares == [D(value) for value in expected]
    assert sum(shares) == round_money(D(total))


def test_split_pro_rata_of_nothing_is_empty():
    assert split_pro_rata(D(5), []) == []


def test_kinds_are_the_documented_ones():
    assert {kind.value for kind in StructureKind} == {
        "fixed", "linear", "linear_threshold", "constant_threshold", "daily", "surcharge",
    }  # fmt: skip
