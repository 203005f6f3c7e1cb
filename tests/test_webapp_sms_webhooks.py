"""The SMS gateways' webhooks on the real panel: an SMS run through the "http" gateway
against a loopback provider, then the provider's signed receipts and the recipients'
replies posted to ``/sms/http/...``; what the run, the contact page, the dashboard and the
costs show afterwards; and every forged, expired, replayed or malformed request refused
without changing anything."""

from __future__ import annotations

import dataclasses
import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from test_sms_action import VALID, provider, sms_campaign, sms_engine  # noqa: F401

from core.engine.runs import start_run
from core.messaging.unsubscribe import make_token
from core.models import ChannelEvent, Contact, ContactEvent, ItemStatus, Role, RunItem
from core.sms_webhooks import MAX_BODY, SIGNATURE_HEADER, sign
from plugins.processes.consumption import direct_runs

from panel_helpers import add_role_users, body, build_panel, client_for

SECRET = "provider-webhook-secret"


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, sms_webhook_secrets={"HTTP": SECRET})


@pytest.fixture
def app(settings, sms_engine):  # noqa: F811 (the SMS tests' engine, on the same database)
    app = build_panel(settings)
    yield app
    app.extensions["campaign"].database.dispose()


@pytest.fixture
def sent(sms_engine, provider):  # noqa: F811
    """A finished SMS run whose provider bills delivered messages only: its run id."""
    settings = {"url": provider.url, "message_id_path": "messages.0.id", "billing": "delivered"}
    run = start_run(
        sms_engine.runtime, sms_campaign(sms_engine, "http", settings), confirmed_by="test"
    )
    sms_engine.work()
    return run.id


def signed(payload: object, *, secret: str = SECRET, at: float | None = None, form=False):
    """Keyword arguments of a test client's POST carrying ``payload`` signed with ``secret``."""
    data = urlencode(payload).encode() if form else json.dumps(payload).encode()
    stamp = int(time.time() if at is None else at)
    return {
        "data": data,
        "content_type": "application/x-www-form-urlencoded" if form else "application/json",
        "headers": {SIGNATURE_HEADER: sign(secret, data, stamp)},
    }


def post(client, path, **request):
    response = client.post(path, **request)
    assert "Set-Cookie" not in response.headers  # a public endpoint never starts a session
    return response


def rows(engine, run_id):
    return {item.key: item for item in engine.items(run_id)}


def lists(page: str, contact_id: int) -> bool:
    """Whether a run page's results list the contact: by its number, linked to its page, or
    by the ledger key when it has no number."""
    return f'href="/contacts/{contact_id}"' in page or f"<code>contacts:{contact_id}</code>" in page


def test_receipts_show_per_message_on_the_run_and_only_delivered_messages_cost(
    sms_engine,  # noqa: F811
    provider,  # noqa: F811
    sent,
    app,
):
    client = app.test_client()
    message_id = provider.accepted[f"run{sent}-contacts:2"]
    answers = [
        post(
            client,
            "/sms/http/receipts",
            **signed([{"reference": f"run{sent}-contacts:1", "status": "DELIVRD"}]),
        ),
        post(  # the provider's message id, as a form
            client,
            "/sms/http/receipts",
            **signed({"message_id": message_id, "status": "undeliverable"}, form=True),
        ),
        post(
            client,
            "/sms/http/receipts",
            **signed(
                {
                    "receipts": [
                        {"reference": f"run{sent}-contacts:3", "status": "accepted"},
                        {"reference": "run999-contacts:1", "status": "delivered"},
                    ]
                }
            ),
        ),
    ]
    assert [(a.status_code, a.get_json()) for a in answers] == [
        (200, {"recorded": 1, "unknown": 0}),
        (200, {"recorded": 1, "unknown": 0}),
        (200, {"recorded": 1, "unknown": 1}),
    ]
    items = rows(sms_engine, sent)
    assert {key: item.delivery for key, item in items.items() if item.status == "done"} == {
        "contacts:1": "delivered",
        "contacts:2": "undeliverable",
        "contacts:3": None,  # "accepted" says nothing yet: still pending
        "contacts:7": None,
    }
    assert all(item.status == ItemStatus.DONE for key, item in items.items() if item.units)

    (direct,) = [run for run in direct_runs_of(sms_engine) if run.run_id == sent]
    assert (direct.quantities.messages, direct.quantities.units) == (1, 1)  # delivered only

    add_role_users(app.extensions["campaign"].database)
    viewer = client_for(app, Role.VIEWER)
    campaign_id = sms_engine.run(sent).campaign_id
    page = body(viewer.get(f"/campaigns/{campaign_id}/runs/{sent}"))
    for field, count in (("delivered", 1), ("pending", 2), ("bounced", 1)):
        assert f'data-field="{field}">{count}<' in page
    delivered = body(viewer.get(f"/campaigns/{campaign_id}/runs/{sent}?feedback=delivered"))
    assert lists(delivered, 1) and not lists(delivered, 2)
    bounced = body(viewer.get(f"/campaigns/{campaign_id}/runs/{sent}?feedback=bounced"))
    assert lists(bounced, 2) and not lists(bounced, 1)
    pending = body(viewer.get(f"/campaigns/{campaign_id}/runs/{sent}?feedback=pending"))
    assert lists(pending, 3) and lists(pending, 7) and not lists(pending, 1)

    dashboard = body(viewer.get("/"))
    assert f'data-run="{sent}"' in dashboard
    assert "25,0 %" in dashboard  # one bounce of four messages sent


def direct_runs_of(engine):
    with engine.runtime.database.session() as session:
        return direct_runs(session)


@pytest.mark.parametrize(
    "stop", ["STOP", " stopp ", "Abmelden", "STOP  ALL", "unsubscribe", "Stop\n"]
)
def test_a_stop_reply_opts_the_number_out_with_the_run_it_answered(
    sms_engine,  # noqa: F811
    sent,
    app,
    stop,
):
    client = app.test_client()
    answer = post(
        client, "/sms/http/inbound", **signed({"from": "491712345678", "text": stop}, form=True)
    )
    assert (answer.status_code, answer.get_json()) == (200, {"recorded": 1, "unsubscribed": 1})
    with sms_engine.runtime.database.session() as session:
        contact = session.get(Contact, 1)
        events = session.execute(
            select(ContactEvent.field, ContactEvent.source, ContactEvent.run_id).where(
                ContactEvent.contact_id == 1
            )
        ).all()
        assert contact.opt_out_sms is True
    assert events == [("opt_out_sms", "sms_reply", sent)]

    next_run = start_run(
        sms_engine.runtime,
        sms_campaign(sms_engine, "outbox", {}),
        confirmed_by="test",
    )
    sms_engine.work()
    skipped = rows(sms_engine, next_run.id)["contacts:1"]
    assert (skipped.status, skipped.detail) == (ItemStatus.SKIPPED, "reach.opt_out_sms")


def test_other_replies_are_recorded_and_shown_on_the_contact_page(sms_engine, sent, app):  # noqa: F811
    client = app.test_client()
    answer = post(
        client,
        "/sms/http/inbound",
        **signed(
            {
                "messages": [
                    {"from": "+49 176 12345678", "text": "Gilt der Gutschein auch online?"},
                    {"from": "+491609999999", "text": "Wer ist da?"},  # nobody we know
                    {"from": "+4915112345678", "text": "STOP"},
                ]
            }
        ),
    )
    assert (answer.status_code, answer.get_json()) == (200, {"recorded": 3, "unsubscribed": 1})
    with sms_engine.runtime.database.session() as session:
        events = session.execute(
            select(ChannelEvent.contact_id, ChannelEvent.kind, ChannelEvent.run_id)
        ).all()
    assert sorted(events, key=str) == sorted(
        [(3, "replied", sent), (None, "replied", None)], key=str
    )
    post(
        client,
        "/sms/http/receipts",
        **signed([{"reference": f"run{sent}-contacts:3", "status": "delivered"}]),
    )

    add_role_users(app.extensions["campaign"].database)
    viewer = client_for(app, Role.VIEWER)
    page = body(viewer.get("/contacts/3"))
    kinds = [
        line.split('data-kind="')[1].split('"')[0]
        for line in page.splitlines()
        if 'data-kind="' in line
    ]
    assert kinds == ["delivered", "replied", "sent"]  # newest first
    assert "Gilt der Gutschein auch online?" in page
    assert "SMS-Gateway http" in page
    assert "Zustellbericht des Anbieters" in page
    stopped = body(viewer.get("/contacts/2"))
    assert "Antwort per SMS (STOP)" in stopped
    campaign_id = sms_engine.run(sent).campaign_id
    replied = body(viewer.get(f"/campaigns/{campaign_id}/runs/{sent}?feedback=replied"))
    assert lists(replied, 3) and not lists(replied, 1)
    unsubscribed = body(viewer.get(f"/campaigns/{campaign_id}/runs/{sent}?feedback=unsubscribed"))
    assert lists(unsubscribed, 2) and not lists(unsubscribed, 3)


def state_of_everything(engine):
    """Every contact's flags, every consent and channel event, every receipt."""
    with engine.runtime.database.session() as session:
        return (
            session.execute(
                select(Contact.id, Contact.opt_out_sms, Contact.opt_out_email).order_by(Contact.id)
            ).all(),
            session.execute(select(ContactEvent.id, ContactEvent.field)).all(),
            session.execute(select(ChannelEvent.id)).all(),
            session.execute(select(RunItem.key, RunItem.delivery).order_by(RunItem.id)).all(),
        )


def test_forged_expired_replayed_and_malformed_requests_change_nothing(
    sms_engine,  # noqa: F811
    sent,
    app,
):
    client = app.test_client()
    receipt = [{"reference": f"run{sent}-contacts:1", "status": "delivered"}]
    stop = {"from": "+491712345678", "text": "STOP"}
    replayed = signed(stop)
    assert post(client, "/sms/http/inbound", **replayed).status_code == 200
    before = state_of_everything(sms_engine)
    raw = json.dumps(receipt).encode()
    refused = {
        "replayed signature": ("/sms/http/inbound", replayed, 401),
        "forged signature": ("/sms/http/receipts", signed(receipt, secret="guessed"), 401),
        "expired signature": ("/sms/http/receipts", signed(receipt, at=time.time() - 600), 401),
        "signature from the future": (
            "/sms/http/receipts",
            signed(receipt, at=time.time() + 600),
            401,
        ),
        "malformed signature": (
            "/sms/http/receipts",
            {"data": raw, "headers": {SIGNATURE_HEADER: "t=soon,v1=zz"}},
            401,
        ),
        "changed body": (
            "/sms/http/receipts",
            {**signed(receipt), "data": raw.replace(b"delivered", b"undeliverable")},
            401,
        ),
        "no signature": ("/sms/http/receipts", {"data": raw}, 401),
        "wrong bearer secret": (
            "/sms/http/receipts",
            {"data": raw, "headers": {"Authorization": "Bearer guessed"}},
            401,
        ),
        "not JSON": ("/sms/http/receipts", signed_bytes(b"{receipts"), 400),
        "unknown status": (
            "/sms/http/receipts",
            signed([*receipt, {"reference": f"run{sent}-contacts:2", "status": "gelesen"}]),
            400,
        ),
        "no sender": ("/sms/http/inbound", signed({"text": "STOP"}), 400),
        "too large": ("/sms/http/inbound", signed({"text": "x" * MAX_BODY}), 413),
        "unknown gateway": ("/sms/nosuch/receipts", signed(receipt), 404),
        "gateway without a secret": ("/sms/outbox/receipts", signed(receipt), 404),
    }
    for case, (path, request, status) in refused.items():
        response = post(client, path, **request)
        assert response.status_code == status, case
        assert response.get_json()["error"], case
    assert state_of_everything(sms_engine) == before

    contact = 3
    token = make_token("test-secret-key", contact, sent)
    expired = make_token(
        "test-secret-key", contact, sent, issued=sms_engine.runtime.clock.now().replace(year=2020)
    )
    for bad in (token[:-2] + "xx", "9" + token, expired, "kein.token", "%00", "a" * 300):
        response = post(client, f"/u/{bad}", data={"List-Unsubscribe": "One-Click"})
        assert response.status_code in (400, 404), bad
    assert state_of_everything(sms_engine) == before


def signed_bytes(data: bytes):
    stamp = int(time.time())
    return {
        "data": data,
        "content_type": "application/json",
        "headers": {SIGNATURE_HEADER: sign(SECRET, data, stamp)},
    }


def test_a_bearer_secret_authenticates_providers_that_cannot_sign(sms_engine, sent, app):  # noqa: F811
    response = post(
        app.test_client(),
        "/sms/http/receipts",
        data=json.dumps({"reference": f"run{sent}-contacts:7", "status": "failed"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {SECRET}"},
    )
    assert response.get_json() == {"recorded": 1, "unknown": 0}
    assert rows(sms_engine, sent)["contacts:7"].delivery == "undeliverable"
