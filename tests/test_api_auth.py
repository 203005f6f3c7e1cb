"""Who may call the API: bearer tokens from the profile page, never the panel's session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.models import ApiToken, AuditEntry, Role
from webapp import get_campaign
from webapp.accounts import find_user
from webapp.api.tokens import ApiTokenError, authenticate, create_token, hash_secret

from api_helpers import assert_problem
from panel_helpers import ROLE_USERS, body, post, token


def test_a_token_created_on_the_profile_page_is_shown_once_and_stored_hashed(api):
    client = api.panel.client(Role.CAMPAIGN_MANAGER)
    response = post(client, "/profile/tokens", {"name": "crm", "role": "viewer", "days": "30"})
    assert response.status_code == 201
    secret = re.search(r'class="new-token"[^>]*>(cmp_[\w-]+)<', body(response)).group(1)
    assert secret not in body(client.get("/profile/"))
    with api.panel.runtime.database.session() as session:
        stored = session.scalar(select(ApiToken))
        assert stored.token_hash == hash_secret(secret) and secret not in stored.token_hash
        assert stored.role is Role.VIEWER
    answer = api.client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200


def test_a_token_cannot_have_a_role_above_its_user(api):
    client = api.panel.client(Role.REVIEWER)
    response = post(client, "/profile/tokens", {"name": "x", "role": "admin", "days": "30"})
    assert response.status_code == 422
    assert "keine höhere Rolle" in body(response)
    with api.panel.runtime.database.session() as session:
        user = find_user(session, ROLE_USERS[Role.VIEWER])
        now = api.panel.runtime.clock.now()
        try:
            create_token(session, user, "x", Role.ADMIN, now + timedelta(days=1), now)
        except ApiTokenError as exc:
            assert exc.code == "role_too_high"
        else:
            raise AssertionError("a viewer got an admin token")


def test_revoked_and_expired_tokens_and_missing_ones_are_refused(api):
    secret = api.token(Role.CAMPAIGN_MANAGER, "soon-gone")
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/v1/contacts", headers=headers).status_code == 200
    client = api.panel.client(Role.CAMPAIGN_MANAGER)
    with api.panel.runtime.database.session() as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "soon-gone"))
    assert post(client, f"/profile/tokens/{token_id}/revoke").status_code == 302
    assert_problem(api.client.get("/api/v1/contacts", headers=headers), 401)
    assert_problem(api.client.get("/api/v1/contacts"), 401)
    assert_problem(api.client.get("/api/v1/contacts", headers={"Authorization": "Bearer x"}), 401)
    with api.panel.runtime.database.session() as session:
        now = api.panel.runtime.clock.now()
        assert authenticate(session, secret, now) is None


def test_the_panel_session_is_never_accepted_and_csrf_does_not_apply(api):
    client = api.panel.client(Role.ADMIN)
    assert client.get("/").status_code == 200  # logged in to the panel
    assert_problem(client.get("/api/v1/campaigns"), 401)
    response = client.post(
        "/api/v1/queries", json={"name": "q", "definition": {"root": "contacts"}}
    )
    assert_problem(response, 401)
    # with a token, a POST needs no CSRF token
    created = api.call("POST", "/queries", json={"name": "q", "definition": {"root": "contacts"}})
    assert created.status_code == 201
    assert "Set-Cookie" not in created.headers


def test_roles_are_the_panels_and_a_token_acts_with_its_own_role(api):
    new_query = {"name": "q", "definition": {"root": "contacts"}}
    assert_problem(api.call("POST", "/queries", Role.VIEWER, json=new_query), 403)
    assert_problem(api.call("POST", "/queries", Role.REVIEWER, json=new_query), 403)
    assert api.call("GET", "/queries", Role.VIEWER).status_code == 200
    weaker = api.token(Role.ADMIN, "read-only", token_role=Role.VIEWER)
    response = api.client.post(
        "/api/v1/queries", json=new_query, headers={"Authorization": f"Bearer {weaker}"}
    )
    assert_problem(response, 403)


def test_every_write_is_audited_with_the_tokens_name(api):
    api.call("POST", "/queries", json={"name": "q", "definition": {"root": "contacts"}})
    with api.panel.runtime.database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "query.create"))
        assert entry.actor == ROLE_USERS[Role.CAMPAIGN_MANAGER]
        assert entry.details["api_token"] == "campaign_manager-token"


def test_calls_are_rate_limited_per_token(api):
    from core import clock

    frozen = clock.FrozenClock(datetime.now(UTC).replace(second=30, microsecond=0))
    previous = clock.install(frozen)
    try:
        get_campaign(api.panel.app).runtime = None  # the next call builds it on this clock
        api.panel.app.config["CAMPAIGN_API_RATE_LIMIT"] = 3
        for _ in range(3):
            assert api.call("GET", "/contacts").status_code == 200
        refused = api.call("GET", "/contacts")
        problem = assert_problem(refused, 429)
        assert "3" in problem["detail"] and refused.headers["Retry-After"] == "30"
        other = api.token(Role.CAMPAIGN_MANAGER, "other")
        answer = api.client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {other}"})
        assert answer.status_code == 200
        frozen.advance(timedelta(seconds=30))  # the next minute
        assert api.call("GET", "/contacts").status_code == 200
    finally:
        clock.install(previous)


def test_the_profile_page_lists_the_tokens_without_their_secret(api):
    client = api.panel.client(Role.VIEWER)
    token(client, "/profile/")
    post(client, "/profile/tokens", {"name": "reporting", "role": "viewer", "days": "90"})
    page = body(client.get("/profile/"))
    assert "reporting" in page and "Widerrufen" in page
