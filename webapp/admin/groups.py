"""User groups on the administration screen: which rows name each group, and the users a
group's form offers as members."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, func, or_, select
from sqlalchemy.orm import Session

from core.models import Base, User, UserGroup
from core.models.users import user_group_members
from webapp.editing import Choices, user_label
from webapp.i18n import known, t

USED_BY = "admin.groups.used_by."
"""A catalog names the rows of a table that refer to a group as ``<USED_BY><table>``, with
their ``{count}``: the panel's for its tables, a plugin's for its own."""


def group_columns() -> list[Column[Any]]:
    """The columns of every loaded model (the panel's and its plugins') with a foreign key to
    ``user_groups``, found in the metadata; a group's members are not among them."""
    return [
        column
        for table in Base.metadata.sorted_tables
        if table is not user_group_members
        for column in table.columns
        if any(key.references(UserGroup.__table__) for key in column.foreign_keys)
    ]


def group_uses(session: Session, group_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """``{group id: {table: rows}}``: how many rows of each table refer to each group.

    The tables are those of ``group_columns``, so a plugin's approval reviewers or stock
    lines count without the panel knowing them.
    """
    wanted = list(group_ids)
    uses: dict[int, dict[str, int]] = {}
    if not wanted:
        return uses
    for column in group_columns():
        counted = session.execute(
            select(column, func.count()).where(column.in_(wanted)).group_by(column)
        )
        for group_id, count in counted:
            found = uses.setdefault(group_id, {})
            found[column.table.name] = found.get(column.table.name, 0) + count
    return uses


def uses_text(uses: dict[str, int]) -> str:
    """``{"stock_lines": 2}`` as "Artikel: 2" in the reader's language; a table no catalog
    names under ``USED_BY`` by its name."""
    return ", ".join(
        t(USED_BY + table, count=count) if known(USED_BY + table) else f"{table}: {count}"
        for table, count in sorted(uses.items())
    )


def member_counts(session: Session, group_ids: Iterable[int]) -> dict[int, int]:
    column = user_group_members.c.group_id
    query = select(column, func.count()).where(column.in_(list(group_ids))).group_by(column)
    return {group_id: count for group_id, count in session.execute(query)}


def member_choices(session: Session, group: UserGroup | None) -> Choices:
    """The active users, and the group's inactive members (marked) so that saving keeps
    them unless their box is cleared."""
    current = [user.id for user in group.members] if group is not None else []
    users = session.scalars(
        select(User).where(or_(User.active, User.id.in_(current))).order_by(User.username)
    )
    return [
        (
            user.id,
            user_label(user)
            if user.active
            else t("admin.groups.inactive_member", name=user_label(user)),
        )
        for user in users
    ]
