"""Limits of the public endpoints (the unsubscribe page, the SMS webhooks): requests per
client address and minute, the body size, and no session.

The count lives in Redis (the installation's, like the login limiter's), one counter per
address and endpoint group per minute, so every panel process sees the same count; while
Redis cannot be reached the process counts on its own (logged) rather than letting
everything through. The client address is ``request.remote_addr``, which the app's
ProxyFix takes from ``X-Forwarded-For`` when ``CAMPAIGN_TRUSTED_PROXIES`` is set.

A refused request gets 429 with ``Retry-After`` and the translated error page (or JSON).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Blueprint, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import TooManyRequests

from core.clock import utcnow
from core.config import Settings
from core.jobs.embedded_redis import installation_url
from webapp.i18n import use_language

log = logging.getLogger(__name__)

WINDOW = 60
PREFIX = "campaign:public-requests:"
PUBLIC_MAX_BODY = 16 * 1024
"""The unsubscribe form is one field; a webhook sets its own (``core.sms_webhooks``)."""
_LIMITER_KEY = "campaign_public_limiter"


class PublicRateLimiter:
    """Fixed one-minute windows per (group, address): a count above the limit is refused
    until the window ends."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX):
        self.client = client
        self.prefix = prefix
        self._memory: dict[str, int] = {}
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._warned_at: float | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> PublicRateLimiter:
        url = installation_url(settings.redis_url, settings.data_dir)
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))

    def retry_after(self, group: str, address: str | None, limit: int) -> int:
        """Count this request; seconds to wait if it is over the limit, else 0."""
        now = utcnow().timestamp()
        window = int(now // WINDOW)
        hashed = hashlib.sha256((address or "unknown").encode()).hexdigest()[:32]
        key = f"{self.prefix}{group}:{hashed}:{window}"
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, WINDOW + 1)
            count = int(pipe.execute()[0])
        except redis.RedisError as exc:
            self._warn(exc)
            count = self._count_here(key, window)
        if count <= limit:
            return 0
        return max(1, int((window + 1) * WINDOW - now))

    def first_use(self, key: str, keep_seconds: int) -> bool:
        """True the first time ``key`` is seen within ``keep_seconds`` (a signature's
        lifetime), so that a replayed request is refused."""
        full = f"{self.prefix}once:{hashlib.sha256(key.encode()).hexdigest()}"
        try:
            return bool(self.client.set(full, b"1", nx=True, ex=keep_seconds))
        except redis.RedisError as exc:
            self._warn(exc)
            with self._lock:
                now = time.monotonic()
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                if full in self._seen:
                    return False
                self._seen[full] = now + keep_seconds
                return True

    def _count_here(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._memory) > 10_000:
                suffix = f":{window}"
                self._memory = {k: v for k, v in self._memory.items() if k.endswith(suffix)}
            self._memory[key] = self._memory.get(key, 0) + 1
            return self._memory[key]

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at > 60:
            self._warned_at = now
            log.warning(
                "public rate limiter: Redis unavailable (%s); counting in this process", exc
            )


def public_limiter() -> PublicRateLimiter:
    """The app's limiter, made on first use (creating it does not connect)."""
    app = current_app
    limiter = app.extensions.get(_LIMITER_KEY)
    if limiter is None:
        limiter = app.extensions[_LIMITER_KEY] = PublicRateLimiter.for_settings(
            app.extensions["campaign"].settings
        )
    return limiter


def limit_public(
    bp: Blueprint, group: str, limit: Callable[[Settings], int], max_body: int
) -> None:
    """Rate-limit and bound every request to ``bp``'s endpoints: the check runs before every
    other ``before_request`` of the app (which may read a form), so nothing of a refused
    request is read, and no more than ``max_body`` bytes of an accepted one."""

    def _limit() -> Any:
        if request.blueprint != bp.name:
            return None
        settings = current_app.extensions["campaign"].settings
        wait = public_limiter().retry_after(group, request.remote_addr, limit(settings))
        if wait:
            log.warning("public endpoint %s: %s over the rate limit", group, request.remote_addr)
            use_language(request.args.get("lang"))  # a recipient's page says it in their language
            raise TooManyRequests(retry_after=wait)
        request.max_content_length = max_body
        request.get_data(cache=True)  # bounded; kept for the form parser and for signatures
        return None

    @bp.record_once
    def _first(state: BlueprintSetupState) -> None:
        state.app.before_request_funcs.setdefault(None, []).insert(0, _limit)
