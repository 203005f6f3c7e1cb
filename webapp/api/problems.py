"""Errors of the API as problem details (RFC 9457, ``application/problem+json``).

Every error names what is wrong: ``title`` the kind of problem in the caller's language,
``detail`` the case, and for bad input ``errors`` lists each field (a dotted path into the
body or the parameter's name) with its message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Response, json, request
from pydantic import BaseModel, ValidationError

from core.validation import ValidationMessage
from webapp.i18n import t, validation_text

PROBLEM_TYPE = "about:blank"
MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    """The dotted path of the field (``rows.3.email``), or the parameter's name."""
    detail: str


class Problem(BaseModel):
    """A problem details object (RFC 9457) with the fields that are wrong."""

    type: str = PROBLEM_TYPE
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] = []


class ApiProblem(Exception):
    """Raise to answer with a problem: ``ApiProblem(404, "campaign 7 does not exist")``."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: Iterable[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    @classmethod
    def for_field(cls, field: str, detail: str, status: int = 422) -> ApiProblem:
        """One field is wrong (:func:`field_problem`)."""
        return field_problem(field, detail, status)

    @classmethod
    def from_message(cls, message: str, status: int = 422) -> ApiProblem:
        """A service's error such as ``"deadline: is not in the future"`` (:func:`from_message`)."""
        return from_message(message, status)


def field_problem(field: str, detail: str, status: int = 422) -> ApiProblem:
    """One field is wrong; ``detail`` names the field too, for clients that show only it."""
    return ApiProblem(status, f"{field}: {detail}", [FieldProblem(field=field, detail=detail)])


def from_message(message: str, status: int = 422) -> ApiProblem:
    """A core error such as ``"name: must not be empty"``: the part before ": " is the field
    when it looks like one."""
    field, separator, rest = message.partition(": ")
    if separator and field and " " not in field:
        return ApiProblem(status, message, [FieldProblem(field=field, detail=rest)])
    return ApiProblem(status, message)


def from_validation(exc: ValidationError) -> ApiProblem:
    """Pydantic's errors, one per field, in the token user's language and without its
    "Value error," prefix."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = validation_text(ValidationMessage.of(error))
        errors.append(FieldProblem(field=field, detail=message))
    summary = "; ".join(f"{error.field}: {error.detail}" for error in errors[:5])
    return ApiProblem(422, summary or t("api.error.422.title"), errors)


def problem_response(problem: ApiProblem) -> Response:
    title = t(f"api.error.{problem.status}.title")
    if title.startswith("api.error."):
        title = t("api.error.other.title")
    body = Problem(
        title=title,
        status=problem.status,
        detail=problem.detail,
        instance=request.path,
        errors=problem.errors,
    )
    response = Response(
        json.dumps(body.model_dump(mode="json", exclude_none=True)),
        status=problem.status,
        mimetype=MEDIA_TYPE,
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response
