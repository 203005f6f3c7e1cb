"""Splitting long lists into pages (one count and one page of rows per request), and the
lists' search.

The count runs over the unordered query and the page uses LIMIT/OFFSET on an ordered
one, so a list of 100,000 rows costs two short queries; order by an indexed column
(with the id as tie-breaker) to keep deep pages fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from core.query.compiler import ci_text
from webapp.forms import date_in_range, parse_date, parse_id

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_SEARCH_CHARS = 200
"""A list's search text is cut here: a longer LIKE pattern fails in SQLite, and no one types it."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and where it sits in the whole."""

    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first row shown (0 for an empty list)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers for the navigation: first, last and a few around the current one;
        None marks a gap."""
        shown = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        result: list[int | None] = []
        for number in numbers:
            if result and number - (result[-1] or 0) > 1:
                result.append(None)
            result.append(number)
        return result


def page_arguments(
    args: Mapping[str, Any], default_size: int = DEFAULT_PAGE_SIZE
) -> tuple[int, int]:
    """The page number and size asked for in the query string; anything unusable falls
    back to the first page and the default size rather than failing the list."""

    def number(name: str, default: int, high: int) -> int:
        try:
            value = int(args.get(name, default))
        except (TypeError, ValueError):
            return default
        return min(max(value, 1), high)

    return number("page", 1, 10**9), number("per_page", default_size, MAX_PAGE_SIZE)


def search_argument(args: Mapping[str, Any], name: str = "q") -> str:
    """A list's search text from the query string, trimmed and at most ``MAX_SEARCH_CHARS``."""
    return (args.get(name) or "").strip()[:MAX_SEARCH_CHARS]


def id_argument(args: Mapping[str, Any], name: str) -> int | None:
    """A list's filter by a row's id from the query string; None for anything no row's id
    can be (letters, a superscript digit, a number beyond an INTEGER column)."""
    return parse_id(args.get(name) or "")


def date_argument(args: Mapping[str, Any], name: str) -> date | None:
    """A list's filter by a day from the query string, ISO or as the user's language writes
    it; None for anything else and for a day a date input would refuse (``webapp.forms.
    FIRST_DAY`` to ``LAST_DAY``: the day after 31.12.9999 is none Python knows)."""
    try:
        value = parse_date(args.get(name) or "")
    except ValueError:
        return None
    return value if date_in_range(value) else None


def search_condition(search: str, *columns: Any) -> ColumnElement[bool]:
    """Rows holding ``search`` in any of ``columns``, whatever the case (umlauts too), with
    ``%`` and ``_`` matched as typed."""
    needle = search.lower()
    return or_(*(ci_text(column).contains(needle, autoescape=True) for column in columns))


def paginate(session: Session, query: Select[Any], number: int, size: int) -> Page[Any]:
    """The items of page ``number`` of ``query``: objects (or values) for a select of one
    entity (or column), rows for a select of several.

    A page beyond the end shows the last page, so a list that shrank since the link was
    made still shows rows.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    total = total or 0
    pages = max(1, math.ceil(total / size))
    number = min(number, pages)
    result = session.execute(query.limit(size).offset((number - 1) * size))
    items = list(result.scalars()) if len(query.column_descriptions) == 1 else list(result)
    return Page(items=items, number=number, size=size, total=total)
