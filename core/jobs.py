"""Job functions the RQ workers execute; they receive ids and names only, never objects."""

from __future__ import annotations

import logging

from core.config import Settings
from core.runtime import Runtime
from core.workflow_context import WorkflowContext

log = logging.getLogger(__name__)

_runtime: Runtime | None = None

WORKFLOW_LOCK_SECONDS = 3600


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


def workflow_lock_key(name: str) -> str:
    return f"campaign:workflow-lock:{name}"


def run_workflow(name: str) -> str:
    """Run one pass of a workflow unless another instance of it is running anywhere."""
    runtime = current_runtime()
    workflow = runtime.plugins.workflows.get(name)()
    lock = runtime.redis.lock(workflow_lock_key(name), timeout=WORKFLOW_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return f"{name}: skipped, another instance is running"
    try:
        summary = workflow.run(WorkflowContext.start(runtime, name))
    finally:
        lock.release()
    log.info("workflow %s: %s", name, summary)
    return summary
