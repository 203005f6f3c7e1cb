"""Webhooks: URLs an administrator registers for events, checked against SSRF, and the
signed deliveries sent to them from the RQ queue with retries and backoff.

Events are recorded as pending deliveries in the transaction of the change that caused
them (``plugins.webhooks.models``); ``dispatch_due`` hands each due one to a worker at every
scheduler tick, and ``send_delivery`` makes one attempt.

A receiver checks ``X-Campaign-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with
the webhook's secret, of ``<X-Campaign-Timestamp>.<body>``; it should refuse a timestamp
more than a few minutes old, so that a recorded delivery cannot be replayed.

Outgoing URLs must resolve to public addresses only (no loopback, private, link-local or
otherwise reserved address) unless an administrator allowed the host; the check runs at
registration and again before every attempt, and the connection goes to the very address
that was checked, so a DNS answer that changes in between cannot redirect it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import re
import secrets
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.jobs.functions import current_runtime
from core.jobs.queue import DEFAULT, get_queue
from core.runtime import Runtime
from plugins.webhooks.models import (
    Webhook,
    WebhookAllowedHost,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryState,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Campaign-Signature"
TIMESTAMP_HEADER = "X-Campaign-Timestamp"
EVENT_HEADER = "X-Campaign-Event"
DELIVERY_HEADER = "X-Campaign-Delivery"
MAX_ATTEMPTS = 6
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
JOB_GRACE = timedelta(minutes=10)
"""A delivery handed to a worker is handed out again if its attempt has not happened by then."""
TIMEOUT_SECONDS = 10.0
MAX_URL_LENGTH = 2000
DUE_AT_ONCE = 500
RESPONSE_READ_LIMIT = 64 * 1024
"""At most this much of a receiver's answer is read; its status is what counts."""
HOST_PATTERN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class WebhookError(ValueError):
    """A webhook or allowed host that cannot be registered: ``field`` names the input,
    ``code`` and ``params`` the problem (for the panel's translated message)."""

    def __init__(self, field: str, code: str, message: str, **params: object):
        self.field = field
        self.code = code
        self.params = params
        super().__init__(message)


class UrlRefused(WebhookError):
    """The URL is not one deliveries may go to (scheme, credentials, a private address)."""

    def __init__(self, code: str, message: str, **params: object):
        super().__init__("url", code, message, **params)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (an address that passed the check) and what to ask."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


Resolver = Callable[[str, int], Sequence[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused("unresolved", f"{host} does not resolve: {exc}", host=host) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def normalized_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def check_url(url: str, allowed_hosts: Iterable[str], resolver: Resolver = resolve) -> Target:
    """The URL's target if deliveries may go there, else ``UrlRefused`` saying why."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused("too_long", f"longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("invalid", f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("scheme", "must start with https:// or http://")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("credentials", "must not contain a user name or password")
    host = normalized_host(parts.hostname or "")
    if not host:
        raise UrlRefused("no_host", "names no host")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = list(resolver(host, port))
    if not addresses:
        raise UrlRefused("unresolved", f"{host} does not resolve", host=host)
    if host not in {normalized_host(allowed) for allowed in allowed_hosts}:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not ip.is_global or ip.is_multicast:
                raise UrlRefused(
                    "private",
                    f"{host} resolves to {address}, a loopback, private, link-local or "
                    "reserved address; an administrator can allow the host",
                    host=host,
                    address=address,
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, tuple(addresses))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of ``X-Campaign-Signature`` for a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


# -- registration --------------------------------------------------------------------------


def allowed_hosts(session: Session) -> set[str]:
    return set(session.scalars(select(WebhookAllowedHost.host)))


def register_webhook(
    session: Session,
    url: str,
    events: Sequence[str],
    known: Sequence[str],
    created_by: str | None,
    resolver: Resolver = resolve,
) -> Webhook:
    """A new webhook with a secret of its own for some of the ``known`` event types (the
    plugin host's ``event_types``), after the URL passed the SSRF check."""
    if not events:
        raise WebhookError("events", "no_events", "choose at least one event")
    unknown = [name for name in events if name not in known]
    if unknown:
        raise WebhookError(
            "events",
            "unknown_events",
            f"unknown events: {', '.join(unknown)}",
            names=", ".join(unknown),
        )
    check_url(url, allowed_hosts(session), resolver)
    webhook = Webhook(
        url=url.strip(),
        secret=secrets.token_hex(32),
        events=[name for name in known if name in events],
        enabled=True,
        created_by=created_by,
    )
    session.add(webhook)
    session.flush()
    return webhook


def allow_host(session: Session, host: str, created_by: str | None) -> WebhookAllowedHost:
    """Let deliveries to ``host`` reach private addresses (an internal receiver)."""
    name = normalized_host(host)
    if not HOST_PATTERN.match(name):
        raise WebhookError(
            "host", "host_invalid", "a host name such as hooks.intern.example.de, without a scheme"
        )
    if session.scalar(select(WebhookAllowedHost).where(WebhookAllowedHost.host == name)):
        raise WebhookError("host", "host_exists", f"{name} is allowed already", host=name)
    allowed = WebhookAllowedHost(host=name, created_by=created_by)
    session.add(allowed)
    session.flush()
    return allowed


# -- sending -------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min ... at most 1 h."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def dispatch_due(runtime: Runtime) -> int:
    """Hand every due pending delivery to a worker; returns how many were enqueued."""
    now = runtime.clock.now()
    taken = []
    with runtime.database.session() as session:
        due = session.execute(
            select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.next_attempt_at)
            .where(
                WebhookDelivery.state == WebhookDeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(DUE_AT_ONCE)
        ).all()
        for delivery_id, attempts, due_at in due:
            # conditional: of two schedulers or a run's event at the same moment, one hands out
            if session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at == due_at)
                .values(next_attempt_at=now + JOB_GRACE)
            ).rowcount:
                taken.append((delivery_id, attempts))
    # Recorded first: if Redis refuses below, the deliveries are due again after JOB_GRACE.
    queue = get_queue(runtime.redis, DEFAULT)
    for delivery_id, attempts in taken:
        queue.enqueue(
            send_delivery,
            delivery_id,
            attempts,
            job_id=f"webhook-{delivery_id}-{attempts}",
            job_timeout=int(TIMEOUT_SECONDS * 3),
        )
    return len(taken)


def send_delivery(delivery_id: int, attempt: int) -> str:
    """RQ job: attempt number ``attempt + 1`` of a delivery."""
    state = attempt_delivery(current_runtime(), delivery_id, attempt)
    return f"webhook delivery {delivery_id}: {state or 'already handled'}"


def attempt_delivery(
    runtime: Runtime, delivery_id: int, attempt: int
) -> WebhookDeliveryState | None:
    """Send the delivery once, record the attempt and decide what follows; None when this
    attempt was made already (a job delivered twice)."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.state == WebhookDeliveryState.PENDING,
                WebhookDelivery.attempts == attempt,
            )
            .values(attempts=attempt + 1, next_attempt_at=now + JOB_GRACE)
        ).rowcount
        if not claimed:
            return None
        delivery = session.get(WebhookDelivery, delivery_id)
        webhook = delivery.webhook
        url, secret, enabled = webhook.url, webhook.secret, webhook.enabled
        payload, event = delivery.payload, delivery.event
        allowed = allowed_hosts(session)
    status, error, final = None, None, False
    if not enabled:
        error, final = "the webhook is switched off", True
    else:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Campaign-Webhooks/1",
            EVENT_HEADER: event,
            DELIVERY_HEADER: str(delivery_id),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
        }
        try:
            status = post(check_url(url, allowed), body, headers)
        except UrlRefused as exc:
            error, final = str(exc), True
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if not 200 <= status < 300:
                error = f"HTTP {status}"
    attempts = attempt + 1
    if error is None:
        state = WebhookDeliveryState.SUCCEEDED
    elif final or attempts >= MAX_ATTEMPTS:
        state = WebhookDeliveryState.FAILED
    else:
        state = WebhookDeliveryState.PENDING
    with runtime.database.session() as session:
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id, attempted_at=now, status_code=status, error=error
            )
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(
                state=state,
                next_attempt_at=now + backoff(attempts) if state == "pending" else None,
                finished_at=None if state == "pending" else now,
            )
        )
    if error is not None:
        log.info("webhook delivery %s attempt %s: %s", delivery_id, attempts, error)
    return state


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address, with the URL's host name in the Host header."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.addresses[0]

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; the certificate is verified for the URL's host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.addresses[0]

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to the target (redirects are not followed) and return the status."""
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target, TIMEOUT_SECONDS)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(RESPONSE_READ_LIMIT)
        return response.status
    finally:
        connection.close()


def delete_webhook(session: Session, webhook_id: int) -> None:
    session.execute(delete(Webhook).where(Webhook.id == webhook_id))
