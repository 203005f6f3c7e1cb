"""The API's blueprint: token authentication before every endpoint but the document and its
reference page, no CSRF check (no cookie is read), and every error as a problem."""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from webapp.api.auth import authenticate
from webapp.api.problems import ApiProblem, problem_response
from webapp.context import get_campaign
from webapp.security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")
csrf.exempt(bp)
bp.record_once(lambda state: get_campaign(state.app).token_prefixes.add(f"{bp.url_prefix}/"))

PUBLIC = frozenset({"api.openapi_document", "api.reference"})
"""The OpenAPI document and its reference page describe the API and hold no data."""


@bp.before_request
def _authenticate() -> None:
    if request.endpoint not in PUBLIC:
        authenticate()


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem) -> Response:
    return problem_response(problem)


@bp.errorhandler(HTTPException)
@bp.errorhandler(500)
def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    detail = {
        404: "nothing here; see /api/v1/openapi.json",
        405: f"{request.method} is not allowed here",
        413: "the body is too large",
        500: "the server failed; the error is logged",
    }.get(code, error.description or "")
    return problem_response(ApiProblem(code, detail))
