"""Cursor paging: every list is ordered by id and a page ends with an opaque cursor that
names where the next one starts, so pages stay stable while rows are added."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.orm import Session

from webapp.api.problems import field_problem
from webapp.api.spec import MAX_ID

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_PREFIX = "after:"


class PageQuery(BaseModel):
    cursor: str | None = Field(
        default=None, max_length=200, description="`next_cursor` of the previous page"
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    """The id the page starts after, or a 422 problem naming ``cursor`` (also for a number
    beyond an INTEGER column: PostgreSQL's driver failed on it with a 500)."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        number = text.removeprefix(_PREFIX)
        digits = number.isascii() and number.isdigit() and len(number) < 12
        if text.startswith(_PREFIX) and digits and int(number) <= MAX_ID:
            return int(number)
    except ValueError:
        pass
    raise field_problem("cursor", "not a cursor of this list; pass next_cursor unchanged")


def page(
    session: Session,
    query: Select[Any],
    id_column: Any,
    paging: PageQuery,
    *,
    newest_first: bool = False,
) -> tuple[list[Any], str | None]:
    """The rows after the cursor (at most ``limit``) and the next page's cursor, if any."""
    after = decode(paging.cursor)
    if after is not None:
        query = query.where(id_column < after if newest_first else id_column > after)
    order = id_column.desc() if newest_first else id_column
    rows = list(session.scalars(query.order_by(order).limit(paging.limit + 1)))
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    return rows, encode(rows[-1].id) if more else None
