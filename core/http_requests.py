"""What plugins calling HTTP services share: credentials kept in their settings or in the
environment, the Authorization header those make, and the wait a Retry-After asks for."""

from __future__ import annotations

import base64
import email.utils
import os
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from core.messages import ExplainedError, stored


class HttpCredentials(BaseModel):
    """Settings fields for basic or bearer auth; derive a plugin's settings model from it."""

    auth: Literal["none", "basic", "bearer"] = "none"
    username: str = Field("", description="User name for basic auth.")
    secret: SecretStr = Field(SecretStr(""), description="Password or token.")
    secret_env: str = Field(
        "", description="Environment variable holding the secret, so it is not stored here."
    )

    @model_validator(mode="after")
    def _credentials(self) -> HttpCredentials:
        if self.auth == "basic" and not self.username:
            raise ExplainedError(stored("basic auth needs a username"))
        if self.secret_env and self.secret_env not in os.environ:
            raise ExplainedError(
                stored("the environment variable {name} is not set", name=self.secret_env)
            )
        if self.auth != "none" and not self.secret_value:
            raise ExplainedError(stored("{auth} auth needs a secret or secret_env", auth=self.auth))
        return self

    @property
    def secret_value(self) -> str:
        return os.environ[self.secret_env] if self.secret_env else self.secret.get_secret_value()

    def authorization(self) -> dict[str, str]:
        """The Authorization header these credentials make; none without auth."""
        if self.auth == "basic":
            pair = f"{self.username}:{self.secret_value}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        if self.auth == "bearer":
            return {"Authorization": f"Bearer {self.secret_value}"}
        return {}


def retry_after(value: str | None) -> float | None:
    """Seconds asked for by a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
