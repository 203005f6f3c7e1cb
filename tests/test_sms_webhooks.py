"""What a provider posts back, read in the platform's format: receipts and inbound messages as
JSON or form bodies, provider status words, and the signature or secret that proves the
sender."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from core.sms_webhooks import (
    MAX_ITEMS,
    SIGNATURE_HEADER,
    InboundSms,
    Receipt,
    WebhookRefused,
    WebhookRequest,
    check_signature,
    sign,
    standard_inbound,
    standard_receipts,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SECRET = "s3cret"


def json_request(body: bytes, **headers: str) -> WebhookRequest:
    return WebhookRequest(body, "application/json", {k.lower(): v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"reference": "run1-contacts:2", "status": "DELIVRD"}',
            [("run1-contacts:2", "delivered")],
        ),
        (
            b'[{"message_id": "abc", "status": "EXPIRED"},'
            b' {"reference": "r", "status": "enroute"}]',
            [("abc", "undeliverable"), ("r", "pending")],
        ),
        (b'{"receipts": [{"reference": "r", "status": "failed"}]}', [("r", "undeliverable")]),
    ],
)
def test_receipts_in_json(body, expected):
    assert [(r.reference, r.status) for r in standard_receipts(json_request(body))] == expected


def test_a_receipt_as_a_form_with_its_time():
    request = WebhookRequest(
        b"reference=run3-contacts%3A9&status=delivered&at=2026-12-05T11:59:00Z",
        "application/x-www-form-urlencoded",
    )
    assert standard_receipts(request) == [
        Receipt("run3-contacts:9", "delivered", datetime(2026, 12, 5, 11, 59, tzinfo=UTC))
    ]


def test_inbound_messages_with_unix_times():
    request = json_request(
        b'{"messages": [{"from": "+4917112345", "text": "STOP", "at": 1764936000}]}'
    )
    assert standard_inbound(request) == [
        InboundSms("+4917112345", "STOP", datetime.fromtimestamp(1764936000, UTC))
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "neither JSON nor a form"),
        (b"[" * 100_000, "neither JSON nor a form"),
        (b'"text"', "no object or list"),
        (b"[]", "1 to"),
        (b'[{"reference": "r", "status": "read"}]', "unknown receipt status 'read'"),
        (b'[{"status": "delivered"}]', "no 'reference' or 'message_id'"),
        (b'[{"reference": {"a": 1}, "status": "delivered"}]', "'reference' must be text"),
        (b'[{"reference": "r", "status": "delivered", "at": "yesterday"}]', "is not a time"),
        (b'[{"reference": "' + b"r" * 201 + b'", "status": "delivered"}]', "longer than 200"),
    ],
)
def test_unreadable_receipts_are_refused_with_the_problem(body, problem):
    with pytest.raises(WebhookRefused, match=problem) as refused:
        standard_receipts(json_request(body))
    assert not refused.value.unauthenticated


def test_a_request_carries_a_bounded_number_of_items():
    body = b"[" + b",".join([b'{"reference": "r", "status": "delivered"}'] * (MAX_ITEMS + 1)) + b"]"
    with pytest.raises(WebhookRefused, match="1 to 1000 items"):
        standard_receipts(json_request(body))


def test_a_signature_holds_for_its_body_and_time_only():
    body = b'{"reference": "r", "status": "delivered"}'
    stamp = int(NOW.timestamp())
    header = sign(SECRET, body, stamp)
    assert check_signature(json_request(body, **{SIGNATURE_HEADER: header}), SECRET, NOW)
    refusals = {
        "wrong signature": json_request(body + b" ", **{SIGNATURE_HEADER: header}),
        "expired": json_request(body, **{SIGNATURE_HEADER: sign(SECRET, body, stamp - 301)}),
        "malformed": json_request(body, **{SIGNATURE_HEADER: "v1=abc"}),
        "signature has expired": json_request(
            body, **{SIGNATURE_HEADER: sign(SECRET, body, 999_999_999_999)}
        ),
        "no valid signature": json_request(body),
    }
    for problem, request in refusals.items():
        with pytest.raises(WebhookRefused, match=problem) as refused:
            check_signature(request, SECRET, NOW)
        assert refused.value.unauthenticated
    with pytest.raises(WebhookRefused, match="wrong signature"):
        check_signature(json_request(body, **{SIGNATURE_HEADER: header}), "other", NOW)
    # a signature five minutes old still counts (the caller accepts each one only once)
    assert check_signature(
        json_request(body, **{SIGNATURE_HEADER: header}), SECRET, NOW + timedelta(minutes=5)
    )


def test_a_bearer_or_basic_secret_for_providers_that_cannot_sign():
    basic = base64.b64encode(f"provider:{SECRET}".encode()).decode()
    for authorization in (f"Bearer {SECRET}", f"Basic {basic}"):
        assert (
            check_signature(json_request(b"{}", Authorization=authorization), SECRET, NOW) is None
        )
    for authorization in ("Bearer guess", "Basic !!!", f"Token {SECRET}"):
        with pytest.raises(WebhookRefused):
            check_signature(json_request(b"{}", Authorization=authorization), SECRET, NOW)


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ('"reference": "r\\u0000"', "'reference' holds a NUL or an invalid character"),
        ('"reference": "\\ud800"', "'reference' holds a NUL or an invalid character"),
        ('"reference": true', "'reference' must be text"),
        ('"reference": "r", "at": "0001-01-01T00:30+01:00"', "is not a time"),
        ('"reference": "r", "at": "9999-12-31T23:59-01:00"', "is not a time"),
        ('"reference": "r", "at": 1e20', "is not a time"),
        ('"reference": "r", "at": "\u00b2"', "is not a time"),
        ('"reference": "r", "at": true', "is not a time"),
    ],
)
def test_values_no_database_can_store_are_refused_before_anything_is_recorded(field, problem):
    body = ("{" + field + ', "status": "delivered"}').encode()
    with pytest.raises(WebhookRefused, match=problem) as refused:
        standard_receipts(json_request(body))
    assert not refused.value.unauthenticated


def test_a_time_with_a_zone_is_read_in_utc():
    body = b'{"reference": "r", "status": "delivered", "at": "2026-12-05T13:00:00+01:00"}'
    [receipt] = standard_receipts(json_request(body))
    assert receipt.at == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert receipt.at.tzinfo is UTC


@pytest.mark.parametrize("stamp", ["\u00b2", "\u0661\u0662\u0663", "-5", "1e9", "9" * 13])
def test_a_signature_time_that_is_no_plain_number_is_malformed(stamp):
    request = json_request(b"{}", **{SIGNATURE_HEADER: f"t={stamp},v1=ab"})
    with pytest.raises(WebhookRefused, match="malformed") as refused:
        check_signature(request, SECRET, NOW)
    assert refused.value.unauthenticated
