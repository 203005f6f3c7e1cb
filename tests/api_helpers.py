"""Shared set-up of the API tests: the panel with one user per role and a token of each,
and a client that sends the token as a bearer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask.testing import FlaskClient

from core.models import Role
from webapp.accounts import find_user
from webapp.api.tokens import create_token

from panel_helpers import ROLE_USERS, Panel


@dataclass
class Api:
    panel: Panel
    tokens: dict[Role, str] = field(default_factory=dict)

    @property
    def client(self) -> FlaskClient:
        return self.panel.app.test_client()

    def token(self, role: Role, name: str | None = None, token_role: Role | None = None) -> str:
        """A new token of the user of ``role`` (with ``token_role``, default the same)."""
        runtime = self.panel.runtime
        with runtime.database.session() as session:
            user = find_user(session, ROLE_USERS[role])
            now = runtime.clock.now()
            return create_token(
                session,
                user,
                name or f"t-{role}-{len(self.tokens)}",
                token_role or role,
                now + timedelta(days=30),
                now,
            ).secret

    def call(self, method: str, path: str, role: Role = Role.CAMPAIGN_MANAGER, **kwargs):
        if role not in self.tokens:
            self.tokens[role] = self.token(role, name=f"{role}-token")
        headers = {"Authorization": f"Bearer {self.tokens[role]}", **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def work(self) -> None:
        self.panel.work()


def assert_problem(response, status: int, field: str | None = None) -> dict:
    """An RFC 9457 problem with this status, naming ``field`` among its errors if given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]], problem
    return problem
