"""Job functions the RQ workers execute; they receive ids and names only, never objects."""

from __future__ import annotations

import logging
import os
import signal
import socket
import traceback
from typing import Any

from redis.exceptions import LockError
from redis.lock import Lock
from sqlalchemy import update

from core.config import Settings
from core.jobs.heartbeat import beating
from core.models import WorkflowRun, WorkflowRunStatus
from core.plugins import UnknownPluginError
from core.runtime import Runtime
from core.workflows.context import WorkflowContext, load_params

log = logging.getLogger(__name__)

_runtime: Runtime | None = None

WORKFLOW_LOCK_SECONDS = 60
"""A lock not renewed for this long belonged to a worker that died; it lapses by itself."""
WORKFLOW_HEARTBEAT_SECONDS = 15
WORKFLOW_JOB_TIMEOUT_SECONDS = 3600
"""RQ stops a pass that runs longer; the run is recorded as failed with the timeout."""


def install_runtime(runtime: Runtime) -> None:
    """Set the runtime jobs use; the worker calls this before it forks its work horses."""
    global _runtime
    _runtime = runtime


def current_runtime() -> Runtime:
    """The installed runtime, or one built from the environment for a plain ``rq worker``."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.start(Settings.from_env())
    return _runtime


STOP_SIGNAL = signal.SIGUSR1
"""What a stopping worker sends its work horse: finish the current recipient, then stop."""
_stopping = False


def listen_for_stop() -> None:
    """Let ``STOP_SIGNAL`` set the stop flag; set up before forking, so work horses inherit it."""
    signal.signal(STOP_SIGNAL, lambda _signum, _frame: ask_to_stop())


def ask_to_stop() -> None:
    """Set the stop flag; a work horse forked afterwards starts with it set. A plain flag,
    since signal handlers set it: one holding a lock would deadlock on a second signal."""
    global _stopping
    _stopping = True


def stop_requested() -> bool:
    """Whether this process was asked to stop; long jobs check it between recipients."""
    return _stopping


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def workflow_lock_key(name: str) -> str:
    return f"campaign:workflow-lock:{name}"


def workflow_lock_token(run_id: int) -> str:
    """What the lock holds while run ``run_id`` has it, so anyone can tell who runs."""
    return f"run-{run_id}"


def workflow_job_id(run_id: int) -> str:
    return f"workflow-run-{run_id}"


def run_workflow(run_id: int) -> str:
    """RQ job: one recorded pass of the workflow run ``run_id`` was created for."""
    run = execute_workflow_run(current_runtime(), run_id)
    return f"{run.workflow} run {run.id}: {run.status}"


def execute_workflow_run(runtime: Runtime, run_id: int) -> WorkflowRun:
    """The one path of every workflow pass, on a worker or inline: run the pass recorded as
    ``run_id`` under the workflow's lock (one instance at a time anywhere) and return its final
    record. A run no longer queued is left alone, so a job delivered twice runs once; one
    that finds the lock held is recorded as skipped; the workflow's exception is recorded."""
    with runtime.database.session() as session:
        run = session.get(WorkflowRun, run_id)
        if run is None:
            raise LookupError(f"there is no workflow run {run_id}")
        if run.status != WorkflowRunStatus.QUEUED:
            return run
        name = run.workflow
    now, worker = runtime.clock.now(), worker_identity()
    settled = {"started_at": now, "finished_at": now, "worker": worker}
    try:
        workflow_class = runtime.plugins.workflows.get(name)
    except UnknownPluginError as exc:
        _update_queued(runtime, run_id, status=WorkflowRunStatus.FAILED, error=str(exc), **settled)
        return _load(runtime, run_id)
    lock = runtime.redis.lock(
        workflow_lock_key(name), timeout=WORKFLOW_LOCK_SECONDS, thread_local=False
    )
    if not lock.acquire(blocking=False, token=workflow_lock_token(run_id)):
        holder = runtime.redis.get(workflow_lock_key(name))
        holder_text = holder.decode().replace("run-", "run ") if holder else "another run"
        summary = f"skipped: {holder_text} of '{name}' was still running"
        _update_queued(
            runtime, run_id, status=WorkflowRunStatus.SKIPPED, summary=summary, **settled
        )
        log.info("workflow %s run %s %s", name, run_id, summary)
        return _load(runtime, run_id)
    try:
        if _update_queued(
            runtime, run_id, status=WorkflowRunStatus.RUNNING, started_at=now, worker=worker
        ):
            _run_pass(runtime, run_id, name, workflow_class, lock)
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("workflow %s run %s: its lock had lapsed before the end", name, run_id)
    return _load(runtime, run_id)


def _run_pass(runtime: Runtime, run_id: int, name: str, workflow_class: type, lock: Lock) -> None:
    def renew() -> None:
        try:
            lock.extend(WORKFLOW_LOCK_SECONDS, replace_ttl=True)
        except LockError:
            log.error("workflow %s lost its lock; another instance may start", name)

    context = WorkflowContext.start(runtime, name)
    outcome: dict[str, Any]
    with beating(renew, WORKFLOW_HEARTBEAT_SECONDS):
        try:
            with runtime.database.session() as session:
                context.params = load_params(session, workflow_class)
            summary = workflow_class(context.params).run(context)
        except Exception as exc:
            outcome = {"status": WorkflowRunStatus.FAILED, "error": traceback.format_exc()}
            log.warning("workflow %s run %s failed (see its record): %r", name, run_id, exc)
        else:
            outcome = {"status": WorkflowRunStatus.SUCCEEDED, "summary": str(summary)}
            log.info("workflow %s run %s: %s", name, run_id, summary)
    with runtime.database.session() as session:
        session.execute(
            update(WorkflowRun)
            .where(WorkflowRun.id == run_id)
            .values(
                finished_at=runtime.clock.now(),
                log=list(context.lines),
                log_messages=[text.as_json() for text in context.messages],
                **outcome,
            )
        )


def _update_queued(runtime: Runtime, run_id: int, **values: Any) -> int:
    """Change the run only while it is still queued; how many rows changed (0 or 1)."""
    with runtime.database.session() as session:
        return session.execute(
            update(WorkflowRun)
            .where(WorkflowRun.id == run_id, WorkflowRun.status == WorkflowRunStatus.QUEUED)
            .values(**values)
        ).rowcount


def _load(runtime: Runtime, run_id: int) -> WorkflowRun:
    with runtime.database.session() as session:
        return session.get(WorkflowRun, run_id)
