"""The scheduler process: enqueues each registered workflow when its interval has passed,
and settles campaign runs whose workers died (``core.engine.dispatch.recover_runs``).

Only one scheduler leads at a time (a Redis key with a short expiry), and
``core.jobs.run_workflow`` holds a lock per workflow, so however many schedulers
and workers run, one instance of a workflow runs at a time.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import datetime

from core.engine.dispatch import recover_runs
from core.jobs import run_workflow
from core.queue import DEFAULT, get_queue
from core.runtime import Runtime

log = logging.getLogger(__name__)

LEADER_KEY = "campaign:scheduler:leader"
LAST_ENQUEUED_KEY = "campaign:scheduler:last-enqueued"
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

    def due_workflows(self, now: datetime) -> list[str]:
        last = self.runtime.redis.hgetall(LAST_ENQUEUED_KEY)
        due = []
        for workflow in self.runtime.plugins.workflows:
            previous = last.get(workflow.name.encode())
            if previous is None or (
                now - datetime.fromisoformat(previous.decode()) >= workflow.default_interval
            ):
                due.append(workflow.name)
        return due

    def tick(self) -> list[str]:
        """Recover stalled runs, then enqueue the workflows that are due; return their names."""
        if not self.is_leader():
            return []
        for action in recover_runs(self.runtime):
            log.info("recovery: %s", action)
        now = self.runtime.clock.now()
        queue = get_queue(self.runtime.redis, DEFAULT)
        due = self.due_workflows(now)
        for name in due:
            job_id = f"workflow-{re.sub(r'[^A-Za-z0-9_-]', '-', name)}-{int(now.timestamp())}"
            queue.enqueue(run_workflow, name, job_id=job_id)
            self.runtime.redis.hset(LAST_ENQUEUED_KEY, name, now.isoformat())
            log.info("enqueued workflow %s", name)
        return due

    def run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("scheduler %s started", self.identity)
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again at the next tick")
            stop.wait(self.tick_seconds)
