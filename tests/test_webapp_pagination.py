from datetime import date

import pytest
from sqlalchemy import insert, select

from core.models import Contact
from webapp.pagination import (
    MAX_SEARCH_CHARS,
    Page,
    date_argument,
    id_argument,
    page_arguments,
    paginate,
    search_argument,
    search_condition,
)


@pytest.fixture
def contacts(database):
    rows = [
        {"number": f"K-{n:04d}", "last_name": f"Name{n}", "attributes": {}} for n in range(1, 124)
    ]
    with database.session() as session:
        session.execute(insert(Contact), rows)
    return database


def test_a_page_holds_its_slice_of_the_ordered_list_and_the_total(contacts):
    with contacts.session() as session:
        page = paginate(session, select(Contact).order_by(Contact.id), 3, 50)
        assert [c.number for c in page.items] == [f"K-{n:04d}" for n in range(101, 124)]
        assert (page.total, page.pages, page.first_index, page.last_index) == (123, 3, 101, 123)
        assert page.has_previous and not page.has_next


def test_a_page_past_the_end_shows_the_last_page(contacts):
    with contacts.session() as session:
        page = paginate(session, select(Contact.number).order_by(Contact.number), 99, 100)
    assert page.number == 2
    assert page.items[0] == "K-0101"


def test_selecting_several_columns_gives_rows(contacts):
    with contacts.session() as session:
        page = paginate(session, select(Contact.id, Contact.number).order_by(Contact.id), 1, 2)
    assert [row.number for row in page.items] == ["K-0001", "K-0002"]


def test_an_empty_list_is_one_empty_page(database):
    with database.session() as session:
        page = paginate(session, select(Contact).order_by(Contact.id), 1, 50)
    assert (page.items, page.total, page.pages, page.first_index) == ([], 0, 1, 0)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, (1, 50)),
        ({"page": "4", "per_page": "20"}, (4, 20)),
        ({"page": "-3", "per_page": "100000"}, (1, 500)),
        ({"page": "abc", "per_page": ""}, (1, 50)),
    ],
)
def test_page_arguments_fall_back_instead_of_failing(args, expected):
    assert page_arguments(args) == expected


def test_the_navigation_window_marks_gaps():
    page = Page(items=[1], number=10, size=10, total=200)
    assert page.window() == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert Page(items=[1], number=1, size=10, total=30).window() == [1, 2, 3]


def test_a_search_text_is_trimmed_and_cut_to_a_length_a_database_pattern_takes():
    assert search_argument({"q": "  Müller "}) == "Müller"
    assert search_argument({}) == ""
    assert search_argument({"contact": "x" * 1_000_000}, "contact") == "x" * MAX_SEARCH_CHARS


def test_a_search_finds_any_case_and_takes_percent_and_underscore_as_typed(database):
    names = ["Müller", "MÜLLER-Lüdenscheidt", "Meyer_Schmidt", "Meyer 50% Rabatt", "Mayer"]
    with database.session() as session:
        session.execute(
            insert(Contact),
            [{"number": f"K-{n}", "last_name": name} for n, name in enumerate(names)],
        )

        def found(search: str) -> list[str]:
            query = select(Contact.last_name).order_by(Contact.id)
            return list(session.scalars(query.where(search_condition(search, Contact.last_name))))

        assert found("müller") == ["Müller", "MÜLLER-Lüdenscheidt"]
        assert found("_") == ["Meyer_Schmidt"]
        assert found("50%") == ["Meyer 50% Rabatt"]
        assert found("m%r") == []


def test_an_id_or_day_filter_is_read_only_when_a_row_or_day_can_match():
    args = {"run": " 42 ", "big": "2147483648", "sup": "\u00b2", "day": "2026-03-01"}
    assert id_argument(args, "run") == 42
    assert id_argument(args, "big") is None
    assert id_argument(args, "sup") is None
    assert id_argument(args, "missing") is None
    assert date_argument(args, "day") == date(2026, 3, 1)
    assert date_argument({"day": "01.03.2026"}, "day") == date(2026, 3, 1)
    for text in ("0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "gestern"):
        assert date_argument({"day": text}, "day") is None
