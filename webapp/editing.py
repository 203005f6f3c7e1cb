"""What the panel's editing screens share: who is acting, loading a row or answering 404,
the choices their selects offer (users, managers, groups), and storing a form's row with
its audit entry and its summary of a change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.messages import StoredText, stored
from core.models import Role, User, UserGroup
from webapp.context import current_user, db_session
from webapp.forms import PanelForm
from webapp.i18n import t

M = TypeVar("M")

Choices = list[tuple[Any, str]]
GroupedChoices = list[tuple[str, Choices]]

MANAGER_ROLES = (Role.CAMPAIGN_MANAGER, Role.ADMIN)


def acting_user() -> User:
    user = current_user()
    assert user is not None  # every editing view requires a login
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


def names_by_id(column: Any, ids: set[int | None]) -> dict[int, str]:
    """``{id: name}`` of the rows with these ids (``column`` is e.g. ``Campaign.name``), for
    the rows of one page: a list pages through its own table and looks names up after."""
    wanted = ids - {None}
    if not wanted:
        return {}
    key = column.class_.id
    return dict(db_session().execute(select(key, column).where(key.in_(wanted))).all())


def choice_ids(choices: Choices | GroupedChoices) -> set[int]:
    """The values of flat or grouped choices."""
    ids: set[int] = set()
    for value, label in choices:
        if isinstance(label, list):
            ids.update(inner for inner, _text in label)
        else:
            ids.add(value)
    return ids


def check_unique(form: PanelForm, model: type, row: Any, name: str, **scope: Any) -> None:
    """Report on the ``name`` input when another row (within ``scope``, e.g. the same plan)
    already has the submitted value; names are unique in the database too."""
    column = getattr(model, name)
    query = select(model.id).where(
        column == form[name].data,
        model.id != (row.id if row is not None else -1),
        *(getattr(model, key) == value for key, value in scope.items()),
    )
    if db_session().scalar(query) is not None:
        form.add_error(name, t("forms.taken"))


def save_row(
    model: type[M],
    row: M | None,
    fields: dict[str, Any],
    summary: Callable[[M], str],
    details: Callable[[M], dict[str, Any]] | None = None,
    target: str | None = None,
) -> tuple[M, bool]:
    """Create the row from ``fields`` (``row`` None) or update it, record
    ``<target>.create`` or ``<target>.update`` in the audit log and commit; returns the row
    and whether it was created. ``target`` defaults to the table's name in the singular."""
    session = db_session()
    created = row is None
    if row is None:
        row = model(**fields)
        session.add(row)
    else:
        for key, value in fields.items():
            setattr(row, key, value)
    session.flush()
    kind = target or model.__tablename__.removesuffix("s")  # type: ignore[attr-defined]
    record_audit(
        session,
        username(),
        f"{kind}.{'create' if created else 'update'}",
        kind,
        row.id,  # type: ignore[attr-defined]
        summary(row),
        details(row) if details is not None else None,
    )
    session.commit()
    return row, created


def change_summary(
    changes: Mapping[str, Any],
    fields: Mapping[str, StoredText],
    titles: Mapping[str, Mapping[Any, StoredText]] | None = None,
) -> StoredText:
    """``{"role": ["viewer", "admin"]}`` as ``role: viewer → administrator`` for an entry's
    summary, each field named by its label in ``fields``, a yes/no value and a code with a
    title in ``titles`` (field → code → title) in the reader's language."""
    each = [
        stored(
            "{field}: {old} → {new}",
            field=fields[name],
            old=_shown_value(old, (titles or {}).get(name, {})),
            new=_shown_value(new, (titles or {}).get(name, {})),
        )
        for name, (old, new) in changes.items()
    ]
    return stored("Changed: {changes}", changes=each)


def _shown_value(value: Any, titles: Mapping[Any, StoredText]) -> Any:
    if isinstance(value, bool):
        return stored("yes") if value else stored("no")
    return titles.get(value, value)
