"""Counting failed logins, to slow down password guessing.

Every failed login counts three times, and a login is refused while any of the three is
full (the limits are Flask settings, see ``webapp``):

- per account name and client address (``CAMPAIGN_LOGIN_MAX_FAILURES``, 5): somebody who
  mistypes is slowed down at their own desk;
- per client address, whatever the account name (``..._PER_ADDRESS``, 10): one machine
  trying many names (or one password against many names) is stopped;
- per account name, whatever the address (``..._PER_ACCOUNT``, 20): guessing one account's
  password from many machines is stopped. It is higher than the first, so that an attacker
  who knows a name can lock that account for others only with a sustained attack.

A successful login clears the counts of its account, never the address's: else one valid
account would let a machine reset its count between guesses at other accounts.

Two implementations share one interface, :class:`LoginRateLimiter`:

``RedisLoginRateLimiter``
    The default. The failures live in Redis (``settings.redis_url``, or else the
    installation's embedded server on its Unix socket in the data directory), so
    every gunicorn/werkzeug process and every host of the installation sees the
    same count. Should Redis be unreachable (e.g. the embedded server is not
    running), the limiter logs a warning and counts in the process's memory until
    Redis answers again: failing open would let an outage switch the protection
    off, failing closed would lock everybody out.

``MemoryLoginRateLimiter``
    The fallback, and the choice with ``CAMPAIGN_LOGIN_LIMITER = "memory"``. The
    count lives in the memory of one process: with N worker processes an attacker
    gets up to N times the allowance (requests are spread over the workers), and a
    restart forgets the count. Acceptable for a single process and for tests.

Both use a sliding window: an attempt is refused while ``max_failures`` failures
lie within the last ``window``. Refused attempts are not counted (the password is
not even checked), and a successful login clears the count. Time comes from
``core.clock`` so tests can move it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import redis

from core.clock import utcnow
from core.config import Settings
from core.jobs.embedded_redis import installation_url

log = logging.getLogger(__name__)

DEFAULT_MAX_FAILURES = 5
DEFAULT_MAX_FAILURES_PER_ADDRESS = 10
DEFAULT_MAX_FAILURES_PER_ACCOUNT = 20
DEFAULT_WINDOW = timedelta(minutes=15)
DEFAULT_REDIS_PREFIX = "campaign:login-failures:"


def _hashed(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _account(username: str) -> str:
    return username.strip().lower()


def limiter_key(username: str, address: str | None) -> str:
    """The key counting failures of one username (case-insensitive) from one client address."""
    return _hashed(_account(username), address or "unknown")


def address_key(address: str | None) -> str:
    """The key counting failures from one client address, whatever the username."""
    return "address:" + _hashed(address or "unknown")


def account_key(username: str) -> str:
    """The key counting failures of one username (case-insensitive), whatever the address."""
    return "account:" + _hashed(_account(username))


class LoginRateLimiter(ABC):
    """Allows ``max_failures`` failed logins per key within a sliding ``window``; the
    ``login_*`` methods apply the three counts of a login (see the module docstring)."""

    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window: timedelta = DEFAULT_WINDOW,
        max_failures_per_address: int = DEFAULT_MAX_FAILURES_PER_ADDRESS,
        max_failures_per_account: int = DEFAULT_MAX_FAILURES_PER_ACCOUNT,
    ):
        if min(max_failures, max_failures_per_address, max_failures_per_account) < 1:
            raise ValueError("the failures allowed must be at least 1")
        if window <= timedelta(0):
            raise ValueError("window must be positive")
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.max_failures_per_account = max_failures_per_account
        self.window = window.total_seconds()

    def login_keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        """The keys a login attempt counts under, each with its limit."""
        return [
            (limiter_key(username, address), self.max_failures),
            (address_key(address), self.max_failures_per_address),
            (account_key(username), self.max_failures_per_account),
        ]

    def login_retry_after(self, username: str, address: str | None) -> int:
        """Seconds until this username may try again from this address; 0: now."""
        return max(
            self.retry_after(key, limit) for key, limit in self.login_keys(username, address)
        )

    def login_failed(self, username: str, address: str | None) -> None:
        for key, _ in self.login_keys(username, address):
            self.record_failure(key)

    def login_succeeded(self, username: str, address: str | None) -> None:
        """Clear the account's counts; the address's stays (see the module docstring)."""
        self.reset(limiter_key(username, address))
        self.reset(account_key(username))

    @property
    def _kept(self) -> int:
        """Failures per key that can still matter to a limit."""
        return max(self.max_failures, self.max_failures_per_address, self.max_failures_per_account)

    @abstractmethod
    def retry_after(self, key: str, limit: int | None = None) -> int:
        """Seconds until the next attempt for ``key`` is allowed; 0 when it is allowed now.
        ``limit`` is the failures allowed (default ``max_failures``)."""

    @abstractmethod
    def record_failure(self, key: str) -> None:
        """Count one failed attempt for ``key``."""

    @abstractmethod
    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful login)."""

    @staticmethod
    def _now() -> float:
        return utcnow().timestamp()

    def _wait(self, failures: Sequence[float], now: float, limit: int | None) -> int:
        """How long until fewer than ``limit`` of the sorted ``failures`` are recent."""
        limit = limit or self.max_failures
        if len(failures) < limit:
            return 0
        # The attempt is allowed again once the failure that fills the allowance has expired.
        deciding = failures[len(failures) - limit]
        return max(1, math.ceil(deciding + self.window - now))


class MemoryLoginRateLimiter(LoginRateLimiter):
    """Failures kept in this process only (see the module docstring for the limits of that)."""

    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window: timedelta = DEFAULT_WINDOW,
        max_failures_per_address: int = DEFAULT_MAX_FAILURES_PER_ADDRESS,
        max_failures_per_account: int = DEFAULT_MAX_FAILURES_PER_ACCOUNT,
        max_keys: int = 100_000,
    ):
        super().__init__(max_failures, window, max_failures_per_address, max_failures_per_account)
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def retry_after(self, key: str, limit: int | None = None) -> int:
        now = self._now()
        with self._lock:
            failures = self._recent(key, now)
            return self._wait(list(failures), now, limit) if failures else 0

    def record_failure(self, key: str) -> None:
        now = self._now()
        with self._lock:
            failures = self._recent(key, now)
            if failures is None:
                if len(self._failures) >= self.max_keys:
                    self._prune(now)
                failures = self._failures[key] = deque()
            failures.append(now)
            while len(failures) > self._kept:  # older entries can no longer matter
                failures.popleft()

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        """Drop expired keys; if memory is still full, drop the oldest ones (bounded memory)."""
        for key in list(self._failures):
            self._recent(key, now)
        overflow = len(self._failures) - self.max_keys + 1
        if overflow > 0:
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:overflow]
            for key in oldest:
                del self._failures[key]


class RedisLoginRateLimiter(LoginRateLimiter):
    """Failures kept in a Redis sorted set per key, shared by all processes of an installation."""

    def __init__(
        self,
        client: redis.Redis,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window: timedelta = DEFAULT_WINDOW,
        max_failures_per_address: int = DEFAULT_MAX_FAILURES_PER_ADDRESS,
        max_failures_per_account: int = DEFAULT_MAX_FAILURES_PER_ACCOUNT,
        prefix: str = DEFAULT_REDIS_PREFIX,
    ):
        super().__init__(max_failures, window, max_failures_per_address, max_failures_per_account)
        self.client = client
        self.prefix = prefix
        self.fallback = MemoryLoginRateLimiter(
            max_failures, window, max_failures_per_address, max_failures_per_account
        )
        self._warned_at: float | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisLoginRateLimiter:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(client, **kwargs)

    def retry_after(self, key: str, limit: int | None = None) -> int:
        now = self._now()
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.zremrangebyscore(self.prefix + key, "-inf", now - self.window)
            pipe.zrange(self.prefix + key, 0, -1, withscores=True)
            _, entries = pipe.execute()
        except redis.RedisError as exc:
            self._warn(exc)
            return self.fallback.retry_after(key, limit)
        recent = [score for _, score in entries]
        return max(self._wait(recent, now, limit), self.fallback.retry_after(key, limit))

    def record_failure(self, key: str) -> None:
        now = self._now()
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.zremrangebyscore(self.prefix + key, "-inf", now - self.window)
            pipe.zadd(self.prefix + key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.expire(self.prefix + key, math.ceil(self.window) + 1)
            pipe.execute()
        except redis.RedisError as exc:
            self._warn(exc)
            self.fallback.record_failure(key)

    def reset(self, key: str) -> None:
        self.fallback.reset(key)
        try:
            self.client.delete(self.prefix + key)
        except redis.RedisError as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        """Log the outage at most once a minute (every login attempt would notice it)."""
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at > 60:
            self._warned_at = now
            log.warning("login rate limiter: Redis unavailable (%s); counting in this process", exc)


def make_login_limiter(settings: Settings, config: Mapping[str, Any]) -> LoginRateLimiter:
    """The limiter chosen by ``CAMPAIGN_LOGIN_LIMITER``: "auto", "redis", "memory" or an instance.

    "auto" (the default) and "redis" mean Redis: ``settings.redis_url``, or the embedded
    server's socket when no URL is set. Creating the limiter does not connect.
    """
    choice = config.get("CAMPAIGN_LOGIN_LIMITER", "auto")
    if isinstance(choice, LoginRateLimiter):
        return choice
    window = config.get("CAMPAIGN_LOGIN_FAILURE_WINDOW", DEFAULT_WINDOW)
    limits: dict[str, Any] = {
        "max_failures": int(config.get("CAMPAIGN_LOGIN_MAX_FAILURES", DEFAULT_MAX_FAILURES)),
        "max_failures_per_address": int(
            config.get("CAMPAIGN_LOGIN_MAX_FAILURES_PER_ADDRESS", DEFAULT_MAX_FAILURES_PER_ADDRESS)
        ),
        "max_failures_per_account": int(
            config.get("CAMPAIGN_LOGIN_MAX_FAILURES_PER_ACCOUNT", DEFAULT_MAX_FAILURES_PER_ACCOUNT)
        ),
        "window": window if isinstance(window, timedelta) else timedelta(seconds=window),
    }
    if choice == "memory":
        return MemoryLoginRateLimiter(**limits)
    if choice in ("auto", "redis"):
        url = installation_url(settings.redis_url, settings.data_dir)
        prefix = config.get("CAMPAIGN_LOGIN_LIMITER_PREFIX", DEFAULT_REDIS_PREFIX)
        return RedisLoginRateLimiter.from_url(url, prefix=prefix, **limits)
    raise ValueError(f"unknown CAMPAIGN_LOGIN_LIMITER {choice!r} (auto, redis or memory)")
