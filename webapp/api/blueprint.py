"""The API's blueprints: token authentication before every endpoint but the document and its
reference page, no CSRF check (no cookie is read), and every error as a problem.

:class:`ApiBlueprint` is also how a plugin adds operations to the API (docs/plugins.md,
"API operations"): it registers one through ``register_blueprints`` like a panel screen, and
its operations are served under ``/api/v1/`` and described in the OpenAPI document of every
app that registered it, and absent from the apps that did not (a disabled plugin).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException

from core.models import Role
from webapp.api.auth import authenticate
from webapp.api.problems import ApiProblem, problem_response
from webapp.api.spec import operation
from webapp.context import get_campaign
from webapp.security import csrf

API_PREFIX = "/api/v1"
PUBLIC = frozenset({"api.openapi_document", "api.reference"})
"""The OpenAPI document and its reference page describe the API and hold no data."""


class ApiBlueprint(Blueprint):
    """A blueprint of API operations under ``/api/v1``: each call authenticated by its bearer
    token (never the session), no CSRF, every error a problem (``application/problem+json``).

    Declare endpoints with :meth:`operation`; register the blueprint with the
    ``register_blueprints`` hook (a plugin) or in ``PANEL_AREAS`` (the panel's own ``api``).
    """

    def __init__(self, name: str, import_name: str, **kwargs: Any) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX, **kwargs)
        csrf.exempt(self)
        self.record_once(lambda state: get_campaign(state.app).token_prefixes.add(f"{API_PREFIX}/"))
        self.before_request(_authenticate)
        self.register_error_handler(ApiProblem, problem_response)
        self.register_error_handler(HTTPException, _http_error)
        self.register_error_handler(500, _http_error)

    def operation(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        tag: str,
        role: Role | None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        media_type: str = "application/json",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare an endpoint (``webapp.api.spec.operation``): the view gets ``query=`` and
        ``body=`` as parsed models (bad input is a 422 problem naming the field), is called
        only with a token of ``role`` or above, and returns a ``response`` model; its
        docstring is the operation's description in the OpenAPI document."""
        return operation(
            self,
            method,
            rule,
            summary=summary,
            tag=tag,
            role=role,
            query=query,
            body=body,
            response=response,
            status=status,
            media_type=media_type,
        )


def _authenticate() -> None:
    if request.endpoint not in PUBLIC:
        authenticate()


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    detail = {
        404: "nothing here; see /api/v1/openapi.json",
        405: f"{request.method} is not allowed here",
        413: "the body is too large",
        500: "the server failed; the error is logged",
    }.get(code, error.description or "")
    return problem_response(ApiProblem(code, detail))


bp = ApiBlueprint("api", __name__, template_folder="templates")
