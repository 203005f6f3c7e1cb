"""The OpenAPI document, its reference page, and a property-based run of schemathesis
against the served document: no server error, no answer outside the schema."""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from test_api_campaigns import add_contacts, greeting_campaign
from test_api_processes import manual_delivery

from core.models import Role

from api_helpers import assert_problem

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 15
"""Per operation and backend: about half a minute for each backend on an idle machine."""


def test_the_document_is_openapi_3_1_generated_from_the_models(api):
    document = api.client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert {"/contacts/bulk", "/runs/{run_id}/start", "/queries/{saved_query_id}/preview"} <= set(
        document["paths"]
    )
    bulk = document["components"]["schemas"]["BulkUpsert"]["properties"]["rows"]
    assert bulk["maxItems"] == 10_000
    start = document["paths"]["/runs/{run_id}/start"]["post"]
    assert start["security"] == [{"bearer": []}] and "campaign manager" in start["description"]
    problem = document["paths"]["/contacts"]["get"]["responses"]["default"]["content"]
    assert "application/problem+json" in problem


def test_the_reference_page_is_rendered_on_the_server_without_outside_resources(api):
    page = api.client.get("/api/v1/").get_data(as_text=True)
    assert "POST /runs/{run_id}/start" in page and "BulkUpsert" in page
    assert "<script" not in page
    assert " style=" not in page  # the panel's Content-Security-Policy would block it
    addresses = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert addresses and all(address.startswith(("/", "#")) for address in addresses)


def test_bodies_are_bounded_before_they_are_read_and_must_be_utf_8(api):
    big = b'{"rows": [' + b'{"last_name": "x"},' * 1_000_000 + b"{}]}"
    response = api.call("POST", "/contacts/bulk", data=big, content_type="application/json")
    assert_problem(response, 413)
    nul = api.call("POST", "/contacts", json={"last_name": "a\u0000b"})
    assert_problem(nul, 422, "body")
    latin1 = api.call(
        "POST", "/contacts", data=b'{"last_name": "M\xfcller"}', content_type="application/json"
    )
    assert assert_problem(latin1, 400, "body")["detail"] == (
        "body: not UTF-8 (byte 16 is invalid); send JSON in UTF-8"
    )
    deep = "[" * 10_000 + "]" * 10_000
    nested = api.call("POST", "/contacts", data=deep, content_type="application/json")
    assert "nested deeper than 32 levels" in assert_problem(nested, 400, "body")["detail"]


def test_an_id_too_large_for_any_row_is_not_found_whatever_the_method(api):
    for method, path in [
        ("GET", "/campaigns/2147483648"),
        ("PATCH", "/campaigns/2147483648"),
        ("DELETE", "/templates/2147483648"),
        ("PATCH", "/templates/9999999999"),
        ("PATCH", "/templates/99999999999999999999"),
    ]:
        assert_problem(api.call(method, path, json={}), 404)
    assert_problem(api.call("PATCH", "/templates/2147483647", json={}), 404)
    assert_problem(api.call("PUT", "/templates/2147483647", json={}), 405)


def test_no_server_error_and_no_answer_outside_the_schema(api, tmp_path):
    """Every operation with generated parameters and bodies, valid and not, as an
    administrator (the role that reaches the most code)."""
    add_contacts(api, 2)
    greeting_campaign(api, tmp_path)
    api.call("POST", "/queries", json={"name": "alle", "definition": {"root": "contacts"}})
    if "processes_api" in api.panel.app.blueprints:  # the process bundle is not disabled
        api.call("POST", f"/deliveries/{manual_delivery(api)}/submit", json={})
    api.panel.app.config["CAMPAIGN_API_RATE_LIMIT"] = 1_000_000
    headers = {"Authorization": f"Bearer {api.token(Role.ADMIN, 'schemathesis')}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.panel.app)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}: {exc}")
    assert operations > 25
    assert not failures, "\n\n".join(failures)
