"""SMS gateway "http": any provider with a JSON-over-HTTP API, described by settings.

Every message carries the ledger reference as idempotency key (a header, and
``{reference}`` in the body), so a provider that deduplicates makes a repeated request
harmless. Retries follow from what is known about the failed attempt:

- nothing reached the provider (connection refused, no route, connect timeout): retry;
- the provider answered 429 or 5xx: retry after its Retry-After or an exponential backoff;
- the request went out but no answer came back (read timeout, dropped connection): the
  provider may have taken it. Retry only with ``retry_unclear`` (the default), i.e. when the
  provider honours the idempotency key; otherwise report the message as unclear;
- any other answer (4xx): the provider refused; no retry.

What the provider sends back comes to the panel's webhooks ``/sms/http/receipts`` and
``/sms/http/inbound`` (secret ``CAMPAIGN_SMS_WEBHOOK_SECRET_HTTP``), in the platform's
format, which this gateway takes as it is (``core.sms_webhooks``, docs/sms.md):

- a JSON object, a list of objects, or ``{"receipts": [...]}`` / ``{"messages": [...]}``,
  or one item as a form; signed with ``X-Campaign-Signature: t=<unix>,v1=<hex
  HMAC-SHA256(secret, "<t>." + body)>``, or ``Authorization: Bearer <secret>``;
- a receipt: ``reference`` (the ``{reference}`` this gateway sent) or ``message_id`` (the
  answer's id at ``message_id_path``), ``status`` (``delivered``/``DELIVRD``,
  ``undeliverable``/``UNDELIV``/``failed``/``rejected``/``expired``, or a pending word such
  as ``accepted``), optional ``at``;
- an inbound message: ``from``, ``text``, optional ``at``.

``billing: delivered`` says the provider bills delivered messages only: the costs then
count a message once its receipt says so.

One keep-alive connection per gateway instance (one per chunk job) saves a TCP and TLS
handshake per message. The rate limit is a token bucket per endpoint shared by the threads
of one process: with RQ's forking worker that is one worker at a time, so N workers send
up to N times ``rate_limit``.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator

from core import SmsGateway, hookimpl
from core.http_requests import HttpCredentials, retry_after
from core.messages import ExplainedError, stored_for
from core.messaging.sending import MaybeSentError, NotSentError
from core.messaging.sms import check_sender
from plugins.gateways import TRANSLATIONS

log = logging.getLogger(__name__)
stored = stored_for(__name__)

PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
PLACEHOLDERS = ("number", "text", "reference", "sender")
DEFAULT_BODY = {"to": "{number}", "from": "{sender}", "text": "{text}", "reference": "{reference}"}


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*map(_placeholders, value.values()))
    if isinstance(value, list):
        return set().union(*map(_placeholders, value))
    return set()


def render_body(template: Any, values: Mapping[str, str]) -> Any:
    """``template`` with ``{name}`` replaced in every string; no format specs, so a text
    with braces of its own cannot break out."""
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda match: values[match[1]], template)
    if isinstance(template, Mapping):
        return {key: render_body(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [render_body(value, values) for value in template]
    return template


class HttpParams(HttpCredentials):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The provider's endpoint for sending one message (http/https).")
    method: Literal["POST", "PUT"] = "POST"
    sender: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] = Field(
        default_factory=lambda: dict(DEFAULT_BODY),
        description="JSON body; strings may contain {number}, {text}, {reference}, {sender}.",
    )
    idempotency_header: str = "Idempotency-Key"
    success_statuses: list[int] = Field(default_factory=lambda: [200, 201, 202], min_length=1)
    message_id_path: str = Field(
        "", description='Dotted path of the message id in the JSON answer, e.g. "messages.0.id".'
    )
    timeout: float = Field(10.0, gt=0, le=120, description="Seconds to connect and to answer.")
    max_retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(0.5, ge=0, le=60, description="First wait between tries; doubles.")
    max_wait: float = Field(
        30.0, ge=0, le=600, description="Longest wait between tries; a longer Retry-After fails."
    )
    rate_limit: float | None = Field(
        None, gt=0, description="Messages per second per worker process."
    )
    billing: Literal["sent", "delivered"] = Field(
        "sent",
        description="What the provider bills: every message sent, or only those its delivery "
        "receipts report delivered (the costs then count only those).",
    )
    retry_unclear: bool = Field(
        True,
        description="Retry a request that may have reached the provider; only safe when the "
        "provider deduplicates by the idempotency key.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("needs an http:// or https:// URL with a host")
        return url

    @field_validator("sender")
    @classmethod
    def _sender(cls, sender: str) -> str:
        return check_sender(sender) if sender else sender

    @field_validator("body")
    @classmethod
    def _known_placeholders(cls, body: dict[str, Any]) -> dict[str, Any]:
        unknown = _placeholders(body) - set(PLACEHOLDERS)
        if unknown:
            raise ExplainedError(
                stored.plural(
                    "unknown placeholder {names}; available: {available}",
                    "{count} unknown placeholders: {names}; available: {available}",
                    count=len(unknown),
                    names=sorted(unknown),
                    available=list(PLACEHOLDERS),
                )
            )
        return body


class TokenBucket:
    """Spaces requests ``1 / rate`` seconds apart: a bucket holding one token, so a pause
    never lets a burst through that the provider would count against the next second."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


_buckets: dict[tuple[str, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(url: str, rate: float) -> TokenBucket:
    """The process-wide bucket of one endpoint and rate."""
    with _buckets_lock:
        return _buckets.setdefault((url, rate), TokenBucket(rate))


class Unanswered(Exception):
    """An attempt got no HTTP answer; ``maybe_sent`` if the request may have arrived."""

    def __init__(self, problem: str, maybe_sent: bool):
        super().__init__(problem)
        self.maybe_sent = maybe_sent


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the provider closed the connection without an answer"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _is_dropped(sock: socket.socket) -> bool:
    """An idle keep-alive socket that is readable was closed by the server (or is broken)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def find_path(document: Any, path: str) -> Any:
    """The value at a dotted path ("messages.0.id") in parsed JSON, or None."""
    for part in path.split("."):
        if isinstance(document, Mapping):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


class HttpGateway(SmsGateway):
    name = "http"
    title = "HTTP API"
    description = (
        "Sends each message as a JSON request to a provider's HTTP API, with the ledger "
        "reference as idempotency key, retries with backoff and an optional rate limit."
    )
    Params = HttpParams
    params: HttpParams

    def __init__(self, params: Any = None):
        super().__init__(params)
        parts = urlsplit(self.params.url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._where = self._host if self._port is None else f"{self._host}:{self._port}"
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = self._fixed_headers()
        self._bucket = (
            bucket_for(self.params.url, self.params.rate_limit) if self.params.rate_limit else None
        )
        self._connection: http.client.HTTPConnection | None = None

    def _fixed_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return headers | self.params.authorization() | self.params.headers

    def send(self, number: str, text: str, reference: str) -> str:
        values = {
            "number": number,
            "text": text,
            "reference": reference,
            "sender": self.params.sender,
        }
        body = json.dumps(render_body(self.params.body, values), ensure_ascii=False).encode()
        headers = dict(self._headers)
        if self.params.idempotency_header:
            headers[self.params.idempotency_header] = reference
        maybe_sent = False
        for attempt in range(1, self.params.max_retries + 2):
            if self._bucket is not None:
                self._bucket.take()
            wait = None
            try:
                status, answer_headers, payload = self._exchange(body, headers)
            except Unanswered as exc:
                maybe_sent = maybe_sent or exc.maybe_sent
                problem = str(exc)
                if exc.maybe_sent and not self.params.retry_unclear:
                    break
            else:
                if status in self.params.success_statuses:
                    return self._message_id(payload)
                problem = (
                    f"the provider answered {status}: {payload[:200].decode(errors='replace')}"
                )
                if status != 429 and status < 500:
                    break
                wait = retry_after(answer_headers.get("Retry-After"))
            if attempt > self.params.max_retries:
                break
            if wait is not None and wait > self.params.max_wait:
                problem += f"; it asks to wait {wait:.0f} s, more than max_wait"
                break
            time.sleep(wait if wait is not None else self._backoff(attempt))
        # parts between "; " that the panel translates one by one (a run item's detail)
        if maybe_sent:
            raise MaybeSentError(
                f"{problem}; attempt {attempt}; an attempt may have reached the provider"
            )
        raise NotSentError(f"{problem}; attempt {attempt}")

    def _backoff(self, attempt: int) -> float:
        return min(self.params.backoff * 2 ** (attempt - 1), self.params.max_wait)

    def _open(self) -> http.client.HTTPConnection:
        """The kept-alive connection, or a new one; an OSError here means nothing was sent."""
        connection = self._connection
        if connection is not None and connection.sock is not None and _is_dropped(connection.sock):
            connection.close()
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self.params.timeout)
            self._connection = connection
        if connection.sock is None:
            connection.connect()
        return connection

    def _exchange(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        try:
            connection = self._open()
        except OSError as exc:
            self.close()
            problem = _describe(exc, self.params.timeout)
            raise Unanswered(
                f"cannot connect to the provider '{self._where}': {problem}", maybe_sent=False
            ) from exc
        try:
            connection.request(self.params.method, self._target, body, headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Unanswered(_describe(exc, self.params.timeout), maybe_sent=True) from exc

    def _message_id(self, payload: bytes) -> str:
        if not self.params.message_id_path:
            return ""
        try:
            found = find_path(json.loads(payload), self.params.message_id_path)
        except ValueError:
            found = None
        if found is None:
            log.warning(
                "the provider's answer has no %r: %.200r", self.params.message_id_path, payload
            )
            return ""
        return str(found)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@hookimpl
def register_sms_gateways(register: Callable[[type[SmsGateway]], None]) -> None:
    register(HttpGateway)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
