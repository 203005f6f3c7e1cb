"""The OpenAPI document and the HTML reference page rendered from it on the server (no
script, nothing fetched from elsewhere)."""

from __future__ import annotations

from flask import Response, current_app, json, render_template, request

from webapp.api.blueprint import bp
from webapp.api.spec import openapi


def _document() -> dict:
    return openapi(request.host_url.rstrip("/") + bp.url_prefix, current_app.view_functions)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return Response(json.dumps(_document()), mimetype="application/json")


@bp.get("/")
def reference() -> str:
    document = _document()
    schemas = document["components"]["schemas"]
    operations = [
        (path, method, spec)
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    ]
    return render_template(
        "api/reference.html",
        document=document,
        operations=operations,
        schemas=schemas,
        pretty=lambda value: json.dumps(value, indent=2, ensure_ascii=False),
    )
