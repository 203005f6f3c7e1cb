"""The background queues as the administration shows them: RQ's own registries, read live.

We read RQ's data structures directly (``Queue``, ``Worker.all``, ``FailedJobRegistry``)
instead of mounting a dashboard package: rq-dashboard brings inline scripts and styles
(against the panel's content security policy), its own look in English only and actions
without our CSRF tokens and roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry

from core.jobs.embedded_redis import installation_url
from core.jobs.queue import QUEUE_NAMES, connect
from webapp.context import get_settings

EXTENSION_KEY = "campaign.redis"
EXCEPTION_LINES = 40


class QueuesUnavailable(RuntimeError):
    """Redis does not answer; the message says where it was looked for."""


def queue_connection() -> Redis:
    """The installation's Redis, one client per application (connections are pooled)."""
    client = current_app.extensions.get(EXTENSION_KEY)
    if client is None:
        settings = get_settings()
        url = installation_url(settings.redis_url, settings.data_dir)
        client = connect(url)
        current_app.extensions[EXTENSION_KEY] = client
    return client


@dataclass(frozen=True)
class QueueInfo:
    name: str
    waiting: int
    running: int
    failed: int


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    state: str
    queues: list[str]
    current_job: str | None
    last_heartbeat: datetime | None
    successful: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str
    failed_at: datetime | None
    error: str


def _guarded(action):  # type: ignore[no-untyped-def]
    try:
        return action()
    except (RedisError, OSError) as exc:
        raise QueuesUnavailable(str(exc)) from None


def queue_overview() -> list[QueueInfo]:
    connection = queue_connection()

    def read() -> list[QueueInfo]:
        result = []
        for name in QUEUE_NAMES:
            queue = Queue(name, connection=connection)
            result.append(
                QueueInfo(
                    name,
                    queue.count,
                    StartedJobRegistry(queue=queue).count,
                    FailedJobRegistry(queue=queue).count,
                )
            )
        return result

    return _guarded(read)


def failed_count() -> int:
    return sum(queue.failed for queue in queue_overview())


def workers() -> list[WorkerInfo]:
    connection = queue_connection()

    def read() -> list[WorkerInfo]:
        return [
            WorkerInfo(
                name=worker.name,
                state=str(worker.get_state()),
                queues=worker.queue_names(),
                current_job=worker.get_current_job_id(),
                last_heartbeat=worker.last_heartbeat,
                successful=worker.successful_job_count,
                failed=worker.failed_job_count,
            )
            for worker in sorted(Worker.all(connection=connection), key=lambda w: w.name)
        ]

    return _guarded(read)


def failed_jobs(queue_name: str, start: int, count: int) -> tuple[int, list[FailedJob]]:
    """One page of a queue's failed jobs, newest first, and how many there are."""
    connection = queue_connection()

    def read() -> tuple[int, list[FailedJob]]:
        registry = FailedJobRegistry(queue=Queue(queue_name, connection=connection))
        total = registry.count
        ids = registry.get_job_ids(start, start + count - 1, desc=True)
        jobs = []
        for job in Job.fetch_many(ids, connection=connection):
            if job is None:
                continue
            result = job.latest_result()
            error = (result.exc_string if result is not None else None) or ""
            jobs.append(
                FailedJob(
                    id=job.id,
                    queue=queue_name,
                    function=job.func_name or "",
                    failed_at=job.ended_at or (result.created_at if result else None),
                    error="\n".join(error.strip().splitlines()[-EXCEPTION_LINES:]),
                )
            )
        return total, jobs

    return _guarded(read)


def requeue(queue_name: str, job_id: str) -> bool:
    """Put a failed job back on its queue; False if it is no longer a failed job."""
    connection = queue_connection()

    def act() -> bool:
        registry = FailedJobRegistry(queue=Queue(queue_name, connection=connection))
        try:
            registry.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):
            return False
        return True

    return _guarded(act)


def delete_failed(queue_name: str, job_id: str) -> bool:
    """Remove a failed job and its data; False if it is no longer a failed job."""
    connection = queue_connection()

    def act() -> bool:
        registry = FailedJobRegistry(queue=Queue(queue_name, connection=connection))
        if job_id not in registry.get_job_ids(cleanup=False):
            return False
        registry.remove(job_id, delete_job=True)
        return True

    return _guarded(act)
