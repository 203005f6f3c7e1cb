"""The user's own settings: interface language, password and API tokens."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AuditEntry
from webapp.accounts import find_user
from webapp.testing import login

from panel_helpers import PASSWORD, body, field_errors, post


def test_every_role_switches_the_interface_language(client_for, database):
    for user in ("viewer", "reviewer", "manager", "admin"):
        client = client_for(user)
        assert "Eigene Einstellungen" in body(client.get("/profile/"))
        response = post(client, "/profile/language", {"language": "en"}, follow_redirects=True)
        html = body(response)
        assert '<html lang="en">' in html and "The language was saved." in html
        assert "Interface language" in html
    with database.session() as session:
        assert find_user(session, "viewer").language == "en"
        assert (
            session.scalar(select(AuditEntry.summary).where(AuditEntry.actor == "viewer"))
            == "language: German → English"
        )
    # the log names the languages, in the reader's language (the admin switched to English)
    log = body(client_for("admin").get("/admin/audit?actor=viewer"))
    assert "language: German → English" in log and "de → en" not in log


def test_the_profiles_language_replaces_the_one_chosen_on_the_login_page(panel_app, panel_users):
    client = panel_app.test_client()
    client.get("/login?lang=en")
    assert login(client, "viewer", PASSWORD).status_code == 302
    assert '<html lang="en">' in body(client.get("/profile/"))
    # her own language is German already: choosing it again is what she asks for now
    response = post(client, "/profile/language", {"language": "de"}, follow_redirects=True)
    html = body(response)
    assert '<html lang="de">' in html and "Die Sprache wurde gespeichert." in html


def test_an_unknown_language_is_refused(client_for):
    response = post(client_for("viewer"), "/profile/language", {"language": "fr"})
    assert response.status_code == 422 and field_errors(body(response)) == [
        "Keine gültige Auswahl."
    ]


def test_the_password_changes_only_with_the_current_one(client_for, panel_app, database):
    viewer = client_for("viewer")
    wrong = post(
        viewer,
        "/profile/password",
        {
            "current_password": "falsch falsch",
            "new_password": "mein neues Passwort",
            "new_password_repeat": "mein neues Passwort",
        },
    )
    assert wrong.status_code == 422
    assert field_errors(body(wrong)) == ["Das aktuelle Passwort stimmt nicht."]
    short = post(
        viewer,
        "/profile/password",
        {"current_password": PASSWORD, "new_password": "kurz", "new_password_repeat": "kurz"},
    )
    assert field_errors(body(short)) == ["Das neue Passwort braucht mindestens 10 Zeichen."]
    differing = post(
        viewer,
        "/profile/password",
        {
            "current_password": PASSWORD,
            "new_password": "mein neues Passwort",
            "new_password_repeat": "mein neues Paßwort",
        },
    )
    assert field_errors(body(differing)) == ["Die beiden Passwörter stimmen nicht überein."]
    everything = post(  # every problem is named at once
        viewer,
        "/profile/password",
        {"current_password": "falsch", "new_password": "kurz", "new_password_repeat": "anders"},
    )
    assert field_errors(body(everything)) == [
        "Das aktuelle Passwort stimmt nicht.",
        "Das neue Passwort braucht mindestens 10 Zeichen.",
        "Die beiden Passwörter stimmen nicht überein.",
    ]
    other_session = panel_app.test_client()
    login(other_session, "viewer", PASSWORD)
    done = post(
        viewer,
        "/profile/password",
        {
            "current_password": PASSWORD,
            "new_password": "mein neues Passwort",
            "new_password_repeat": "mein neues Passwort",
        },
        follow_redirects=True,
    )
    assert "Ihr Passwort wurde geändert." in body(done)
    assert viewer.get("/profile/").status_code == 200  # this session goes on
    assert other_session.get("/profile/").status_code == 302  # the other one ended
    assert login(panel_app.test_client(), "viewer", "mein neues Passwort").status_code == 302
    with database.session() as session:
        assert session.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "user.password_change")
        )


def test_the_profile_is_reached_from_the_top_bar(client_for):
    assert 'href="/profile/"' in body(client_for("reviewer").get("/"))


def test_api_tokens_are_created_once_shown_and_revoked_only_by_their_owner(client_for, database):
    manager = client_for("manager")
    created = post(manager, "/profile/tokens", {"name": "crm", "role": "viewer", "days": "90"})
    assert created.status_code == 201
    assert "nur dieses eine Mal angezeigt" in body(created) and 'class="new-token"' in body(created)
    page = body(manager.get("/profile/"))
    assert "crm" in page and 'class="new-token"' not in page
    empty = post(manager, "/profile/tokens", {"name": "", "role": "viewer", "days": "90"})
    assert empty.status_code == 422 and field_errors(body(empty), "name")
    taken = post(manager, "/profile/tokens", {"name": "crm", "role": "viewer", "days": "90"})
    assert field_errors(body(taken), "name") == ["Sie haben schon ein Token mit diesem Namen."]
    too_long = post(manager, "/profile/tokens", {"name": "x", "role": "viewer", "days": "999"})
    assert too_long.status_code == 422
    with database.session() as session:
        from core.models import ApiToken

        token_id = session.scalar(select(ApiToken.id))
    other = post(client_for("viewer"), f"/profile/tokens/{token_id}/revoke", follow_redirects=True)
    assert "gibt es nicht (mehr)" in body(other)
    mine = post(manager, f"/profile/tokens/{token_id}/revoke", follow_redirects=True)
    assert "widerrufen" in body(mine) and "Sie haben keine gültigen Tokens." in body(mine)
    with database.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith("api_token."))
        ).all()
        assert actions == ["api_token.create", "api_token.revoke"]
