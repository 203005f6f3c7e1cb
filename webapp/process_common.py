"""What the campaign-process screens share: who is acting, loading a row or answering 404,
and the choices their selects offer (managers, programs, provider services)."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import (
    CostCategory,
    CostCategoryKind,
    Plan,
    Program,
    Provider,
    ProviderService,
    Role,
    User,
    UserGroup,
)
from webapp.context import current_user, db_session

M = TypeVar("M")

Choices = list[tuple[Any, str]]
GroupedChoices = list[tuple[str, Choices]]

MANAGER_ROLES = (Role.CAMPAIGN_MANAGER, Role.ADMIN)


def acting_user() -> User:
    user = current_user()
    assert user is not None  # every process view requires a login
    return user


def username() -> str:
    return acting_user().username


def get_or_404(model: type[M], row_id: int) -> M:
    row = db_session().get(model, row_id)
    if row is None:
        abort(404)
    return row


def user_label(user: User) -> str:
    return f"{user.display_name} ({user.username})" if user.display_name else user.username


def manager_choices(session: Session) -> Choices:
    """Active users who may manage plans, programs and campaigns."""
    users = session.scalars(
        select(User).where(User.active, User.role.in_(MANAGER_ROLES)).order_by(User.username)
    )
    return [(user.id, user_label(user)) for user in users]


def user_choices(session: Session) -> Choices:
    users = session.scalars(select(User).where(User.active).order_by(User.username))
    return [(user.id, user_label(user)) for user in users]


def group_choices(session: Session) -> Choices:
    groups = session.scalars(select(UserGroup).order_by(UserGroup.name))
    return [(group.id, group.name) for group in groups]


def program_choices(session: Session) -> GroupedChoices:
    """Programs grouped by their plan, for a campaign's program."""
    rows = session.execute(
        select(Program.id, Program.name, Plan.name.label("plan"))
        .join(Plan, Program.plan_id == Plan.id)
        .order_by(Plan.name, Program.name)
    ).all()
    grouped: dict[str, Choices] = {}
    for row in rows:
        grouped.setdefault(row.plan, []).append((row.id, row.name))
    return list(grouped.items())


def service_choices(session: Session, kind: CostCategoryKind | None = None) -> GroupedChoices:
    """Provider services grouped by provider; with ``kind``, only services that have a cost
    category of that kind (a task's service prices days, an SMS delivery's mobile messages)."""
    query = (
        select(ProviderService.id, ProviderService.name, Provider.name.label("provider"))
        .join(Provider, ProviderService.provider_id == Provider.id)
        .order_by(Provider.name, ProviderService.name)
    )
    if kind is not None:
        query = query.where(
            ProviderService.id.in_(select(CostCategory.service_id).where(CostCategory.kind == kind))
        )
    grouped: dict[str, Choices] = {}
    for row in session.execute(query):
        grouped.setdefault(row.provider, []).append((row.id, row.name))
    return list(grouped.items())


def choice_ids(choices: Choices | GroupedChoices) -> set[int]:
    """The values of flat or grouped choices."""
    ids: set[int] = set()
    for value, label in choices:
        if isinstance(label, list):
            ids.update(inner for inner, _text in label)
        else:
            ids.add(value)
    return ids
