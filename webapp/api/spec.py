"""The API's operations and the OpenAPI 3.1 document generated from them.

Every endpoint is declared with :func:`operation`, which registers the Flask view and
records its path, role, query, body and answer models; ``openapi()`` turns the records into
the document served at ``/api/v1/openapi.json``, with the JSON Schemas pydantic generates
from the same models that parse the requests and shape the answers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, json, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from core import json_text
from core.models import Role
from webapp.api.auth import check_role
from webapp.api.problems import MEDIA_TYPE, ApiProblem, Problem, field_problem, from_validation

API_VERSION = "1.0.0"
MAX_BODY = 16 * 1024 * 1024
"""The largest request body: 10,000 contacts of a bulk upsert fit with room to spare."""
MAX_ID = 2**31 - 1
"""The largest id a path may name (the databases' INTEGER)."""
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    endpoint: str
    summary: str
    description: str
    tag: str
    role: Role | None
    """None: public (the document and its reference page)."""
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    media_type: str
    """Of the answer: JSON, or e.g. ``application/octet-stream`` for a download."""

    @property
    def path(self) -> str:
        return _CONVERTER.sub(lambda match: "{" + match.group(2) + "}", self.rule)

    @property
    def path_parameters(self) -> list[tuple[str, str]]:
        return [(name, kind or "string") for kind, name in _CONVERTER.findall(self.rule)]


OPERATIONS: list[Operation] = []
"""Every operation declared in this process, of every API blueprint; an app's document
describes those the app serves."""


def operation(
    bp: Blueprint,
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
    """Declare an endpoint: the view gets ``query=`` and ``body=`` as parsed models and
    returns a ``response`` model (or a Flask response: a download, a 204)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Response:
            if role is not None:
                check_role(role)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            if body is not None:
                kwargs["body"] = _parse_body(body)
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            return Response(
                json.dumps(result.model_dump(mode="json")),
                status=status,
                mimetype="application/json",
            )

        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        OPERATIONS.append(
            Operation(
                method.lower(),
                bp.url_prefix + rule if bp.url_prefix else rule,
                f"{bp.name}.{view.__name__}",
                summary,
                (view.__doc__ or "").strip(),
                tag,
                role,
                query,
                body,
                response,
                status,
                media_type,
            )
        )
        return wrapped

    return decorator


def _parse_query(model: type[BaseModel]) -> BaseModel:
    known = set(model.model_fields)
    values = {name: value for name, value in request.args.items() if name in known}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise from_validation(exc) from None


def _parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body as ``model``; bounded by ``MAX_BODY`` before anything is read."""
    request.max_content_length = MAX_BODY
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiProblem(413, f"the body is larger than {MAX_BODY // (1024 * 1024)} MB")
    if not request.is_json:
        raise field_problem("body", "send JSON with Content-Type: application/json", 415)
    try:  # JSON is UTF-8 (RFC 8259); a guess would store other text garbled
        raw = request.get_data().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise field_problem(
            "body", f"not UTF-8 (byte {exc.start} is invalid); send JSON in UTF-8", 400
        ) from None
    if "\x00" in raw or "\\u0000" in raw:
        raise field_problem("body", "a NUL character (\\u0000) is not allowed in any text", 422)
    try:
        data = json_text.loads(raw)
    except ValueError as exc:  # also JsonTooDeepError, before json recurses into it
        raise field_problem("body", f"not valid JSON: {exc}", 400) from None
    if data is None:
        raise field_problem("body", "not valid JSON", 400)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None


ROLE_TEXT = {
    Role.VIEWER: "viewer or above",
    Role.REVIEWER: "reviewer or above",
    Role.CAMPAIGN_MANAGER: "campaign manager or administrator",
    Role.ADMIN: "administrator",
}


def openapi(server_url: str, endpoints: Collection[str]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the declared operations among ``endpoints`` (the app's
    view functions: a plugin's operations are in it only where its blueprint is registered)."""
    served = [op for op in OPERATIONS if op.endpoint in endpoints]
    models: dict[tuple[type[BaseModel], str], None] = {(Problem, "serialization"): None}
    for op in served:
        for model, mode in (
            (op.query, "validation"),
            (op.body, "validation"),
            (op.response, "serialization"),
        ):
            if model is not None:
                models[(model, mode)] = None
    names, schemas = models_json_schema(
        list(models), ref_template="#/components/schemas/{model}", title="Campaign API"
    )
    components = schemas.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in served:
        paths.setdefault(op.path.removeprefix("/api/v1"), {})[op.method] = _operation(
            op, names, components
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Campaign API",
            "version": API_VERSION,
            "description": (
                "Contacts, saved queries, campaigns, runs, the document archive and the "
                "workflows of a Campaign installation. Send an API token from your profile page as "
                "`Authorization: Bearer <token>`. Lists are paged with `cursor`; errors are "
                "problem details (RFC 9457)."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(op: Operation, names: dict, components: dict) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}
            if kind == "int"
            else {"type": "string", "minLength": 1},
        }
        for name, kind in op.path_parameters
    ]
    if op.query is not None:
        schema = components[names[(op.query, "validation")]["$ref"].rsplit("/", 1)[1]]
        required = set(schema.get("required", ()))
        for name, field_schema in schema.get("properties", {}).items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": field_schema,
                    **(
                        {"description": field_schema["description"]}
                        if "description" in field_schema
                        else {}
                    ),
                }
            )
    problem = {"content": {MEDIA_TYPE: {"schema": names[(Problem, "serialization")]}}}
    responses: dict[str, Any] = {"default": {"description": "A problem", **problem}}
    if op.response is not None:
        content = {"application/json": {"schema": names[(op.response, "serialization")]}}
    else:
        content = {op.media_type: {"schema": {"type": "string", "format": "binary"}}}
    responses[str(op.status)] = {"description": "Done"}
    if op.status != 204:  # No Content: nothing to describe
        responses[str(op.status)]["content"] = content
    result: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
    }
    description = op.description
    if op.role is not None:
        result["security"] = [{"bearer": []}]
        description = f"{description}\n\nRole: {ROLE_TEXT[op.role]}.".strip()
    else:
        result["security"] = []
    if description:
        result["description"] = description
    if op.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": names[(op.body, "validation")]}},
        }
    return result
