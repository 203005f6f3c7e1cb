"""The scheduler process: enqueues each started workflow when its schedule (read from the
database at every tick, so the panel changes it without a restart) says so, and settles
runs whose workers died. One scheduler leads at a time (a Redis key with a short expiry);
even two would enqueue a due workflow once, as the database claims each due time. Why
not RQ's ``CronScheduler``: docs/workflows.md."""

from __future__ import annotations

import logging
import threading
import uuid

from core.engine.dispatch import recover_runs
from core.runtime import Runtime
from core.workflows.operating import enqueue_due, recover_workflow_runs, warn_about_stopped

log = logging.getLogger(__name__)

LEADER_KEY = "campaign:scheduler:leader"
TICK_SECONDS = 10


class Scheduler:
    def __init__(self, runtime: Runtime, tick_seconds: float = TICK_SECONDS):
        self.runtime = runtime
        self.tick_seconds = tick_seconds
        self.identity = uuid.uuid4().hex

    def is_leader(self) -> bool:
        """Take or keep the leadership; it lapses if the leader stops ticking."""
        redis = self.runtime.redis
        ttl = max(int(self.tick_seconds * 3), 3)
        if redis.set(LEADER_KEY, self.identity, nx=True, ex=ttl):
            return True
        if redis.get(LEADER_KEY) == self.identity.encode():
            redis.expire(LEADER_KEY, ttl)
            return True
        return False

    def tick(self) -> list[str]:
        """Settle stalled runs, let the plugins do their periodic work (``scheduler_tick``),
        then enqueue the workflows that are due; return their names."""
        if not self.is_leader():
            return []
        for action in recover_runs(self.runtime) + recover_workflow_runs(self.runtime):
            log.info("recovery: %s", action)
        try:
            self.runtime.plugins.hook.scheduler_tick(runtime=self.runtime)
        except Exception:
            log.exception("a scheduler_tick listener failed; the workflows are still enqueued")
        return enqueue_due(self.runtime)

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("scheduler %s started", self.identity)
        warn_about_stopped(self.runtime)
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again at the next tick")
            stop.wait(self.tick_seconds)
