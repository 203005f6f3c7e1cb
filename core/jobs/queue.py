"""Redis connections and the RQ queues the platform uses."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from core.config import ConfigError

URGENT = "urgent"
DEFAULT = "default"
BULK = "bulk"
QUEUE_NAMES = (URGENT, DEFAULT, BULK)
"""Workers listen in this order, so bulk runs never hold up urgent work."""


def connect(url: str) -> Redis:
    return Redis.from_url(url)


def check(connection: Redis, variable: str = "CAMPAIGN_REDIS_URL") -> None:
    """Fail fast, naming the variable, when Redis does not answer."""
    try:
        connection.ping()
    except RedisError as exc:
        raise ConfigError(variable, f"cannot reach Redis: {exc}") from None


def get_queue(connection: Redis, name: str = DEFAULT) -> Queue:
    return Queue(name, connection=connection)
