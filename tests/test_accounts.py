"""Creating users: the rules of ``webapp.accounts``."""

from __future__ import annotations

import pytest

from webapp.accounts import AccountError, create_user

PASSWORD = "correct horse battery staple"


def test_a_malformed_e_mail_address_is_refused(database):
    with database.session() as session:
        with pytest.raises(AccountError) as raised:
            create_user(session, "eve", PASSWORD, email="eve@")
        assert raised.value.code == "email"
