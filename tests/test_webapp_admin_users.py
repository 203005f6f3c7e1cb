"""webapp.admin.users: changing users, with the rules that keep the administrator who is making
the change."""

from __future__ import annotations

import pytest

from core.models import Role
from webapp.accounts import AccountError, create_user
from webapp.admin.users import update_user

PASSWORD = "correct horse battery staple"


def settings(**changes):
    values = {
        "role": Role.VIEWER,
        "display_name": "",
        "email": None,
        "language": "de",
        "active": True,
    }
    return values | changes


def test_changes_are_applied_and_reported(database):
    with database.session() as session:
        admin = create_user(session, "ada", PASSWORD, Role.ADMIN)
        user = create_user(session, "bob", PASSWORD, display_name="Bob")
        changed = update_user(
            user,
            admin,
            **settings(
                role="reviewer", email="bob@example.de", display_name="Bob B.", active=False
            ),
        )
        assert changed == {
            "role": ["viewer", "reviewer"],
            "display_name": ["Bob", "Bob B."],
            "email": [None, "bob@example.de"],
            "active": [True, False],
        }
        assert (
            update_user(
                user,
                admin,
                **settings(
                    role="reviewer", email="bob@example.de", display_name="Bob B.", active=False
                ),
            )
            == {}
        )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"role": Role.CAMPAIGN_MANAGER, "active": True}, "self_admin"),
        ({"role": Role.ADMIN, "active": False}, "self_deactivate"),
        ({"role": Role.ADMIN, "email": "not-an-address"}, "email"),
    ],
)
def test_an_admin_keeps_their_own_role_and_account(database, changes, code):
    with database.session() as session:
        admin = create_user(session, "ada", PASSWORD, Role.ADMIN)
        with pytest.raises(AccountError) as raised:
            update_user(admin, admin, **settings(**changes))
        assert raised.value.code == code
        assert admin.role is Role.ADMIN and admin.active


def test_unknown_roles_and_languages_are_refused(database):
    with database.session() as session:
        admin = create_user(session, "ada", PASSWORD, Role.ADMIN)
        user = create_user(session, "bob", PASSWORD)
        with pytest.raises(AccountError, match="unknown role 'boss'"):
            update_user(user, admin, **settings(role="boss"))
        with pytest.raises(AccountError, match="unknown language 'fr'"):
            update_user(user, admin, **settings(language="fr"))
