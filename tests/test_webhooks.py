"""Webhooks sent to a real HTTP receiver on loopback (a host allowed explicitly): signed,
retried with backoff, refused for private addresses at registration and at send time, and
recorded with the state changes that cause them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import delete, select

from core.clock import FrozenClock
from core.contact_events import set_consent
from core.models import Contact, Role, User
from core.testing import Testbed
from plugins import webhooks
from plugins.processes.approvals import Reviewers, approve, configure, submit
from plugins.processes.models import (
    ApprovalMode,
    ApprovalStep,
    Delivery,
    DeliveryChannel,
    DeliveryState,
)
from plugins.webhooks.models import WebhookAllowedHost, WebhookAttempt, WebhookDelivery
from plugins.webhooks.service import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    UrlRefused,
    WebhookError,
    allow_host,
    attempt_delivery,
    check_url,
    dispatch_due,
    register_webhook,
    signature,
)
from webapp.accounts import create_user

EVENTS = (
    "run.started",
    "run.finished",
    "run.failed",
    "contact.unsubscribed",
    "delivery.state_changed",
    "approval.requested",
    "approval.answered",
)
"""The event types of the core and the process bundle (``PluginHost.event_types``)."""


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every request and answers ``statuses`` in turn
    (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str = "localhost") -> str:
        return f"http://{host}:{self.server.server_port}/hooks?source=campaign"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def testbed(campaign_settings) -> Iterator[Testbed]:
    import engine_plugins

    testbed = Testbed.start(
        campaign_settings, [("engine_plugins", engine_plugins), ("plugins.webhooks", webhooks)]
    )
    yield testbed
    testbed.close()


def loopback_webhook(testbed: Testbed, receiver: Receiver, events: list[str]) -> tuple[int, str]:
    with testbed.database.session() as session:
        allow_host(session, "localhost", "admin")
        webhook = register_webhook(session, receiver.url(), events, EVENTS, "admin")
        return webhook.id, webhook.secret


def public(_host: str, _port: int) -> list[str]:
    return ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]


@pytest.mark.parametrize(
    ("url", "addresses", "problem"),
    [
        ("http://localhost/h", ["127.0.0.1"], "localhost resolves to 127.0.0.1, a loopback"),
        ("https://intern.example/h", ["10.1.2.3"], "resolves to 10.1.2.3"),
        ("https://meta.example/h", ["169.254.169.254"], "resolves to 169.254.169.254"),
        ("https://v6.example/h", ["93.184.216.34", "::1"], "resolves to ::1"),
        ("https://cgnat.example/h", ["100.64.0.7"], "resolves to 100.64.0.7"),
        ("ftp://files.example/h", ["93.184.216.34"], "must start with https:// or http://"),
        ("https://u:p@hooks.example/h", ["93.184.216.34"], "user name or password"),
        ("https://:443/h", [], "names no host"),
    ],
)
def test_urls_reaching_private_addresses_are_refused(url, addresses, problem):
    with pytest.raises(UrlRefused, match=problem):
        check_url(url, [], lambda _host, _port: addresses)


def test_a_public_url_or_an_allowed_host_passes_and_is_connected_to_as_checked():
    target = check_url("https://Hooks.Example.org./in?x=1", [], public)
    assert (target.host, target.port, target.path) == ("hooks.example.org", 443, "/in?x=1")
    assert target.addresses[0] == "93.184.216.34"

    allowed = check_url("http://localhost:8080/", ["LOCALHOST"], lambda _h, _p: ["127.0.0.1"])
    assert allowed.addresses == ("127.0.0.1",)


def test_registration_checks_the_events_and_the_url(testbed):
    with testbed.database.session() as session:
        with pytest.raises(WebhookError, match="choose at least one event") as error:
            register_webhook(session, "https://hooks.example.org/", [], EVENTS, "admin", public)
        assert error.value.field == "events"
        with pytest.raises(WebhookError, match=r"unknown events: run\.paused"):
            register_webhook(session, "https://hooks.example.org/", ["run.paused"], EVENTS, "admin")
        with pytest.raises(UrlRefused, match="loopback"):
            register_webhook(session, "http://127.0.0.1:9/", ["run.started"], EVENTS, "admin")
        with pytest.raises(WebhookError, match="without a scheme"):
            allow_host(session, "http://localhost", "admin")
        webhook = register_webhook(
            session, "https://hooks.example.org/", ["run.failed"], EVENTS, "a", public
        )
        assert len(webhook.secret) == 64 and webhook.events == ["run.failed"]


def test_a_run_sends_signed_started_and_finished_events(testbed, receiver, tmp_path):
    _id, secret = loopback_webhook(testbed, receiver, ["run.started", "run.finished"])
    testbed.add_contacts({"last_name": "Ahrens", "email": "a@example.de"})
    campaign = testbed.create_campaign(
        "test_contacts", "test_notify", {}, {"path": str(tmp_path / "lines.txt")}
    )

    run_id = testbed.run(campaign, confirmed_by="test").run_id
    assert dispatch_due(testbed.runtime) == 2, "handed out at the scheduler's tick"
    testbed.work()

    events = [json.loads(body) for _headers, body in receiver.requests]
    assert [event["event"] for event in events] == ["run.started", "run.finished"]
    assert events[1]["data"]["run_id"] == run_id and events[1]["data"]["state"] == "completed"
    assert events[1]["data"]["counts"]["done"] == 1
    for headers, body in receiver.requests:
        timestamp = headers[TIMESTAMP_HEADER]
        assert headers[SIGNATURE_HEADER] == signature(secret, timestamp, body)
        assert abs(int(timestamp) - datetime.now(UTC).timestamp()) < 3600


def test_a_failing_receiver_is_tried_again_with_backoff_and_every_attempt_is_kept(
    testbed, receiver
):
    loopback_webhook(testbed, receiver, ["contact.unsubscribed"])
    receiver.statuses = [500, 503]
    clock = FrozenClock(datetime.now(UTC) + timedelta(minutes=1))  # the event is due by then
    testbed.runtime.clock = clock
    (contact_id,) = testbed.add_contacts({"last_name": "Ahrens"})
    with testbed.database.session() as session:
        set_consent(
            session,
            session.get(Contact, contact_id),
            {"opt_out_email": True},
            actor="unsubscribe link",
            source="unsubscribe_link",
        )

    assert dispatch_due(testbed.runtime) == 1
    testbed.work()
    assert dispatch_due(testbed.runtime) == 0, "the next attempt waits 30 seconds"
    clock.advance(timedelta(seconds=30))
    assert dispatch_due(testbed.runtime) == 1
    testbed.work()
    clock.advance(timedelta(seconds=59))
    assert dispatch_due(testbed.runtime) == 0, "then 60 seconds"
    clock.advance(timedelta(seconds=1))
    dispatch_due(testbed.runtime)
    testbed.work()

    with testbed.database.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.state, delivery.attempts) == ("succeeded", 3)
        assert [(a.status_code, a.error) for a in delivery.attempt_log] == [
            (500, "HTTP 500"),
            (503, "HTTP 503"),
            (200, None),
        ]
    body = json.loads(receiver.requests[-1][1])
    assert body["event"] == "contact.unsubscribed"
    assert body["data"] == {
        "contact_id": contact_id,
        "opt_out": "opt_out_email",
        "source": "unsubscribe_link",
        "run_id": None,
    }


def test_the_address_is_checked_again_when_sending(testbed, receiver):
    loopback_webhook(testbed, receiver, ["contact.unsubscribed"])
    (contact_id,) = testbed.add_contacts({"last_name": "Ahrens"})
    with testbed.database.session() as session:
        set_consent(
            session,
            session.get(Contact, contact_id),
            {"opt_out_sms": True},
            actor="panel",
            source="panel",
        )
        session.execute(delete(WebhookAllowedHost))
        delivery_id = session.scalar(select(WebhookDelivery.id))

    state = attempt_delivery(testbed.runtime, delivery_id, 0)

    assert state == "failed", "a refused address is not tried again"
    assert receiver.requests == []
    with testbed.database.session() as session:
        (attempt,) = session.scalars(select(WebhookAttempt)).all()
        assert "localhost resolves to 127.0.0.1" in attempt.error
    assert attempt_delivery(testbed.runtime, delivery_id, 0) is None, "done once only"


def test_a_delivery_changing_state_is_recorded_with_the_change(testbed, receiver):
    loopback_webhook(testbed, receiver, ["delivery.state_changed"])
    campaign = testbed.create_campaign("test_contacts", "test_tag")
    with testbed.database.session() as session:
        delivery = Delivery(campaign_id=campaign, label="Newsletter", channel=DeliveryChannel.EMAIL)
        session.add(delivery)
        session.flush()
        delivery.move_to(DeliveryState.APPROVED, testbed.runtime.clock.now())
        delivery_id = delivery.id
    with testbed.database.session() as session:
        session.get(Delivery, delivery_id).move_to(DeliveryState.STOPPED, datetime.now(UTC))
        session.rollback()  # not committed: no event

    dispatch_due(testbed.runtime)
    testbed.work()

    ((_headers, body),) = receiver.requests
    assert json.loads(body)["data"] == {
        "delivery_id": delivery_id,
        "campaign_id": campaign,
        "label": "Newsletter",
        "from": "editing",
        "to": "approved",
    }


def test_an_approval_asked_for_and_answered_is_recorded_with_the_change(testbed, receiver):
    loopback_webhook(testbed, receiver, ["approval.requested", "approval.answered"])
    campaign = testbed.create_campaign("test_contacts", "test_tag")
    now = testbed.runtime.clock.now()
    with testbed.database.session() as session:
        reviewer = create_user(session, "rita", "correct horse battery", role=Role.REVIEWER)
        letter = Delivery(campaign_id=campaign, label="Brief", channel=DeliveryChannel.DIRECT_MAIL)
        session.add(letter)
        session.flush()
        configure(
            session, letter, ApprovalStep.CONTENT, ApprovalMode.MANUAL, now,
            Reviewers.of(users=[reviewer]),
        )  # fmt: skip
        approval_id = submit(session, letter, ApprovalStep.CONTENT, now).id
    with testbed.database.session() as session:
        approve(session, approval_id, session.get(User, reviewer.id), now, "passt")

    dispatch_due(testbed.runtime)
    testbed.work()

    events = [json.loads(body) for _headers, body in receiver.requests]
    assert sorted((event["event"], event["data"]["state"]) for event in events) == [
        ("approval.answered", "approved"),
        ("approval.requested", "pending"),
    ]
    answered = next(event for event in events if event["event"] == "approval.answered")
    assert answered["data"] == {
        "approval_id": approval_id,
        "delivery_id": letter.id,
        "step": "content",
        "round": 1,
        "state": "approved",
        "comment": "passt",
        "user_id": reviewer.id,
    }
