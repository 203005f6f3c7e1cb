"""Numbers, dates and sizes in the user's language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask, g

from webapp.context import _LANGUAGE
from webapp.formatting import (
    format_bytes,
    format_date,
    format_datetime,
    format_money,
    format_number,
    percent,
)


@pytest.fixture
def language():
    app = Flask(__name__)

    def use(code: str):
        context = app.test_request_context()
        context.push()
        setattr(g, _LANGUAGE, code)
        return context

    contexts = []
    yield lambda code: contexts.append(use(code))
    for context in reversed(contexts):
        context.pop()


def test_german_formats(language):
    language("de")
    assert format_number(1234567) == "1.234.567"
    assert format_number(Decimal("1234.5"), 2) == "1.234,50"
    assert format_date(date(2026, 3, 7)) == "07.03.2026"
    assert format_datetime(datetime(2026, 11, 27, 13, 5, tzinfo=UTC)) == "27.11.2026 14:05"
    assert format_bytes(50_847) == "49,7 KB" and format_bytes(3 * 1024 * 1024) == "3,0 MB"
    assert format_money(Decimal("79.56")) == "79,56 €"
    assert format_money(Decimal("-1234.5")) == "-1.234,50 €"
    assert format_money(Decimal("0.1300"), exact=True) == "0,13 €"
    assert format_money(Decimal("50.00"), exact=True) == "50 €"


def test_english_formats(language):
    language("en")
    assert format_number(Decimal("1234.5"), 2) == "1,234.50"
    assert format_datetime(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "2 Jul 2026, 00:30"
    assert format_bytes(512) == "512 B"
    assert format_money(Decimal("79.56")) == "€79.56"
    assert format_money(Decimal("-1234.5")) == "-€1,234.50"
    assert format_money(Decimal("0.0450"), exact=True) == "€0.045"


def test_percent_never_divides_by_zero():
    assert percent(5, 0) == 0 and percent(1, 3) == 33 and percent(7, 5) == 100
