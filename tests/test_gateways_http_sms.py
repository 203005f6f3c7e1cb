"""The "http" SMS gateway against a real provider stand-in on 127.0.0.1.

Timings are checked with generous margins only: they prove that a wait happened, not how
precisely.
"""

from __future__ import annotations

import base64
import email.utils
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core import SettingsError
from core.messaging.sending import MaybeSentError, NotSentError
from core.validation import problem_text
from plugins.gateways import TRANSLATIONS
from plugins.gateways.http_sms import HttpGateway, retry_after
from webapp.i18n import render_stored

from panel_helpers import detail_in
from waiting import DEADLINE

REFERENCE = "run7-contacts:1"


@dataclass(frozen=True)
class Seen:
    at: float
    connection: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up on a slow answer is expected here, not an error."""

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.provider.closed.set()  # the socket is shut: the client sees the close


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def setup(self):
        super().setup()
        self.connection_number = self.server.provider.connected()

    def do_POST(self):
        self.server.provider.handle(self)

    do_PUT = do_POST

    def log_message(self, format, *args):
        pass


class FakeProvider:
    """A loopback SMS provider: records every request and answers as scripted.

    Scripted answers are used in order, then every request is accepted. Answers:
    ``("status", code[, headers])``, ``("slow", seconds)`` (accepts, then answers late),
    ``("drop",)`` (closes the connection without an answer) and ``("ok_then_close",)``
    (accepts, then closes the kept-alive connection without saying so). Accepting
    deduplicates by the Idempotency-Key header, as a good provider does.
    """

    def __init__(self):
        self.requests: list[Seen] = []
        self.accepted: dict[str, str] = {}
        self.connections = 0
        self.closed = threading.Event()
        self.script: list[tuple] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.provider = self
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"

    def answer(self, *answers: tuple) -> None:
        with self.lock:
            self.script.extend(answers)

    def connected(self) -> int:
        with self.lock:
            self.connections += 1
            return self.connections

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self.lock:
            self.requests.append(
                Seen(
                    time.monotonic(),
                    handler.connection_number,
                    handler.command,
                    handler.path,
                    dict(handler.headers),
                    json.loads(raw) if raw else None,
                )
            )
            answer = self.script.pop(0) if self.script else ("ok",)
        kind = answer[0]
        if kind == "drop":
            handler.close_connection = True
            return
        if kind == "status":
            self.reply(handler, answer[1], {"error": "scripted"}, answer[2] if answer[2:] else {})
            return
        message_id = self.accept(handler.headers.get("Idempotency-Key") or f"none-{len(raw)}")
        if kind == "slow":
            time.sleep(answer[1])
        self.reply(handler, 200, {"messages": [{"id": message_id}]}, {})
        if kind == "ok_then_close":
            handler.close_connection = True

    def accept(self, key: str) -> str:
        with self.lock:
            return self.accepted.setdefault(key, f"msg-{len(self.accepted) + 1}")

    @staticmethod
    def reply(handler, status: int, document: Any, headers: dict[str, str]) -> None:
        body = json.dumps(document).encode()
        try:
            handler.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            handler.close_connection = True

    def keys(self) -> list[str]:
        return [seen.headers.get("Idempotency-Key") for seen in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    provider = FakeProvider()
    yield provider
    provider.close()


@pytest.fixture
def make_gateway(provider):
    gateways = []

    def make(**settings) -> HttpGateway:
        gateway = HttpGateway(
            {
                "url": provider.url,
                "message_id_path": "messages.0.id",
                "backoff": 0.05,
                "timeout": 2,
                **settings,
            }
        )
        gateways.append(gateway)
        return gateway

    yield make
    for gateway in gateways:
        gateway.close()


def test_a_message_is_posted_as_the_rendered_body_with_the_idempotency_key(provider, make_gateway):
    gateway = make_gateway(
        sender="Campaign",
        headers={"X-Account": "42"},
        body={
            "recipient": {"msisdn": "{number}", "all": ["{number}", 7]},
            "message": "Text: {text}",
            "ref": "{reference}",
            "from": "{sender}",
            "flash": False,
        },
    )
    text = 'Hallo {number} {{ x }} "€" 😀'
    assert gateway.send("+491712345678", text, REFERENCE) == "msg-1"
    (seen,) = provider.requests
    assert (seen.method, seen.path) == ("POST", "/v1/sms")
    assert seen.body == {
        "recipient": {"msisdn": "+491712345678", "all": ["+491712345678", 7]},
        "message": f"Text: {text}",  # braces in the text are not placeholders
        "ref": REFERENCE,
        "from": "Campaign",
        "flash": False,
    }
    assert seen.headers["Idempotency-Key"] == REFERENCE
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Account"] == "42"
    assert "Authorization" not in seen.headers


def test_the_default_body_and_no_message_id_path(provider, make_gateway):
    gateway = make_gateway(message_id_path="", method="PUT", idempotency_header="X-Ref")
    assert gateway.send("+491712345678", "Hi", REFERENCE) == ""
    (seen,) = provider.requests
    assert seen.method == "PUT"
    assert seen.headers["X-Ref"] == REFERENCE
    assert seen.body == {"to": "+491712345678", "from": "", "text": "Hi", "reference": REFERENCE}


def test_a_missing_message_id_is_reported_as_unknown(provider, make_gateway):
    assert make_gateway(message_id_path="data.id").send("+491712345678", "Hi", REFERENCE) == ""


def test_basic_auth(provider, make_gateway):
    make_gateway(auth="basic", username="shop", secret="s3cret").send("+4917", "x", REFERENCE)
    expected = base64.b64encode(b"shop:s3cret").decode()
    assert provider.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_bearer_auth_with_the_secret_in_the_environment(provider, make_gateway, monkeypatch):
    monkeypatch.setenv("SMS_TOKEN", "tok-123")
    make_gateway(auth="bearer", secret_env="SMS_TOKEN").send("+4917", "x", REFERENCE)
    assert provider.requests[0].headers["Authorization"] == "Bearer tok-123"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"url": "ftp://example.org"}, "url: needs an http:// or https:// URL"),
        ({"body": {"to": "{msisdn}"}}, "unknown placeholder msisdn"),
        ({"auth": "basic", "secret": "x"}, "basic auth needs a username"),
        ({"auth": "bearer"}, "bearer auth needs a secret or secret_env"),
        ({"secret_env": "SURELY_NOT_SET_ANYWHERE"}, "SURELY_NOT_SET_ANYWHERE is not set"),
        ({"sender": "Much too long a sender"}, "sender: a sender is up to 11"),
        ({"rate_limit": 0}, "rate_limit: Input should be greater than 0"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_settings_are_checked_with_a_clear_message(settings, problem):
    with pytest.raises(SettingsError) as caught:
        HttpGateway({"url": "http://127.0.0.1:9/sms", **settings})
    assert problem in str(caught.value)


def test_refused_settings_are_said_in_the_readers_language():
    """The gateway's own checks through the gateways' catalog, the shared credentials' through
    the panel's."""
    catalogs = {HttpGateway.__module__: [TRANSLATIONS]}
    with pytest.raises(SettingsError) as caught:
        HttpGateway({"url": "ftp://example.org", "body": {"to": "{msisdn}"}})
    with pytest.raises(SettingsError) as credentials:
        HttpGateway({"url": "http://127.0.0.1:9/sms", "auth": "bearer"})
    texts = [
        problem_text(field, message, HttpGateway.__module__)
        for refused in (caught, credentials)
        for field, message in refused.value.problems
    ]
    assert [render_stored(text, "de", catalogs) for text in texts] == [
        "url: braucht eine http://- oder https://-Adresse mit einem Server",
        "body: unbekannter Platzhalter msisdn; verfügbar sind: number, text, reference, sender",
        "(settings): die Anmeldung „bearer“ braucht ein Geheimnis (secret oder secret_env)",
    ]
    assert [render_stored(text, "en", catalogs) for text in texts] == [
        "url: needs an http:// or https:// URL with a host",
        "body: unknown placeholder msisdn; available: number, text, reference, sender",
        "(settings): bearer auth needs a secret or secret_env",
    ]


def test_server_errors_are_retried_with_backoff_and_the_same_key(provider, make_gateway):
    provider.answer(("status", 500), ("status", 503))
    assert make_gateway(backoff=0.1).send("+491712345678", "Hi", REFERENCE) == "msg-1"
    assert provider.keys() == [REFERENCE] * 3
    first, second, third = (seen.at for seen in provider.requests)
    assert second - first >= 0.08  # 0.1 s
    assert third - second >= 0.16  # doubled: 0.2 s


def test_too_many_requests_waits_as_long_as_the_provider_asks(provider, make_gateway):
    provider.answer(("status", 429, {"Retry-After": "1"}))
    assert make_gateway(backoff=0.01).send("+491712345678", "Hi", REFERENCE) == "msg-1"
    first, second = (seen.at for seen in provider.requests)
    assert second - first >= 0.9
    assert provider.keys() == [REFERENCE] * 2


def test_a_retry_after_beyond_max_wait_gives_up_at_once(provider, make_gateway):
    provider.answer(("status", 429, {"Retry-After": "120"}))
    started = time.monotonic()
    with pytest.raises(NotSentError, match="asks to wait 120 s, more than max_wait"):
        make_gateway(max_wait=5).send("+491712345678", "Hi", REFERENCE)
    assert time.monotonic() - started < 60  # a deadline far from 120 s, not a speed goal
    assert len(provider.requests) == 1


def test_retry_after_as_an_http_date():
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(when) <= 31
    assert retry_after("7") == 7
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_retries_end_after_max_retries(provider, make_gateway):
    provider.answer(*[("status", 502)] * 5)
    with pytest.raises(NotSentError, match=r"answered 502: .*; attempt 3$"):
        make_gateway(max_retries=2).send("+491712345678", "Hi", REFERENCE)
    assert len(provider.requests) == 3


def test_a_refusal_is_not_retried(provider, make_gateway):
    provider.answer(("status", 400))
    with pytest.raises(NotSentError, match=r"answered 400: \{\"error\": \"scripted\"\}"):
        make_gateway().send("+491712345678", "Hi", REFERENCE)
    assert len(provider.requests) == 1


@pytest.mark.parametrize("answer", [("slow", 1.0), ("drop",)])
def test_an_unanswered_request_is_retried_when_the_provider_deduplicates(
    provider, make_gateway, answer
):
    provider.answer(answer)
    gateway = make_gateway(timeout=0.3)
    assert gateway.send("+491712345678", "Hi", REFERENCE) == "msg-1"
    assert provider.keys() == [REFERENCE] * 2
    assert len(provider.accepted) <= 1  # the provider delivered it once


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (("slow", 1.0), "no answer within 0.3 s"),
        (("drop",), "the provider closed the connection without an answer"),
    ],
)
def test_an_unanswered_request_is_unclear_without_retry_unclear(
    provider, make_gateway, answer, problem
):
    provider.answer(answer)
    with pytest.raises(
        MaybeSentError, match=f"^{problem}; attempt 1; an attempt may have reached the provider$"
    ):
        make_gateway(timeout=0.3, retry_unclear=False).send("+491712345678", "Hi", REFERENCE)
    assert len(provider.requests) == 1


def test_an_earlier_unclear_attempt_makes_a_later_refusal_unclear(provider, make_gateway):
    provider.answer(("drop",), ("status", 409))
    with pytest.raises(MaybeSentError, match="answered 409"):
        make_gateway().send("+491712345678", "Hi", REFERENCE)


def test_why_an_sms_was_not_sent_reads_in_the_readers_language(provider, make_gateway):
    """The run page shows the reason part by part through the gateways' catalog."""
    provider.answer(("status", 429, {"Retry-After": "120"}), ("drop",))
    problems = []
    for settings in ({"max_wait": 5}, {"timeout": 0.3, "retry_unclear": False}):
        with pytest.raises((NotSentError, MaybeSentError)) as caught:
            make_gateway(**settings).send("+491712345678", "Hi", REFERENCE)
        problems.append(str(caught.value))
    assert [detail_in("de", problem, TRANSLATIONS) for problem in problems] == [
        'der Anbieter antwortete 429: {"error": "scripted"}; er bittet, 120 s zu warten, länger '
        "als max_wait; Versuch 1",
        "der Anbieter hat die Verbindung ohne Antwort geschlossen; Versuch 1; ein Versuch kann "
        "den Anbieter erreicht haben",
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_retried_even_without_retry_unclear():
    port = free_port()
    gateway = HttpGateway(
        {"url": f"http://127.0.0.1:{port}/sms", "backoff": 0.01, "retry_unclear": False}
    )
    with pytest.raises(NotSentError, match=r"ConnectionRefusedError.*; attempt 4$") as caught:
        gateway.send("+491712345678", "Hi", REFERENCE)
    assert not isinstance(caught.value, MaybeSentError)
    german = detail_in("de", str(caught.value), TRANSLATIONS)
    assert german.startswith(f"keine Verbindung zum Anbieter „127.0.0.1:{port}“: ")
    assert german.endswith("; Versuch 4")


def test_one_connection_carries_many_messages(provider, make_gateway):
    gateway = make_gateway()
    ids = [gateway.send("+491712345678", "Hi", f"run1-contacts:{n}") for n in range(5)]
    assert ids == [f"msg-{n}" for n in range(1, 6)]
    assert provider.connections == 1
    assert {seen.connection for seen in provider.requests} == {1}


def test_a_connection_the_server_closed_while_idle_is_replaced_without_doubt(
    provider, make_gateway
):
    provider.answer(("ok_then_close",))
    gateway = make_gateway(retry_unclear=False)
    gateway.send("+491712345678", "Hi", "run1-contacts:1")
    assert provider.closed.wait(DEADLINE)  # the server's close reaches the client
    assert gateway.send("+491712345678", "Hi", "run1-contacts:2") == "msg-2"
    assert provider.connections == 2
    assert len(provider.requests) == 2


def test_the_rate_limit_spaces_messages(provider, make_gateway):
    gateway = make_gateway(rate_limit=20)
    started = time.monotonic()
    for n in range(10):
        gateway.send("+491712345678", "Hi", f"run1-contacts:{n}")
    assert time.monotonic() - started >= 0.4  # nine gaps of 0.05 s
    arrivals = [seen.at for seen in provider.requests]
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.025


def test_the_rate_limit_is_shared_by_the_gateways_of_one_process(provider, make_gateway):
    gateways = [make_gateway(rate_limit=20) for _ in range(2)]

    def send_five(gateway, worker):
        for n in range(5):
            gateway.send("+491712345678", "Hi", f"run1-contacts:{worker}-{n}")

    threads = [
        threading.Thread(target=send_five, args=(gateway, index))
        for index, gateway in enumerate(gateways)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(provider.requests) == 10
    assert time.monotonic() - started >= 0.4
    assert provider.connections == 2
