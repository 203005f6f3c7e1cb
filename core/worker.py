"""The RQ worker process: plugins and connections are set up once, before any fork."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Sequence

from rq import Worker

from core import jobs
from core.query.records import prepare_loading
from core.queue import QUEUE_NAMES, get_queue
from core.runtime import Runtime

MAINTENANCE_INTERVAL_SECONDS = 30
"""Short, so jobs of a killed worker are found in seconds rather than RQ's ten minutes."""


JOB_MODULES = ("core.engine.targeting", "core.engine.dispatch")
"""Imported once before forking, so no work horse pays for importing them again."""


def build_worker(runtime: Runtime, queues: Sequence[str] = QUEUE_NAMES) -> Worker:
    jobs.install_runtime(runtime)
    for module in JOB_MODULES:
        importlib.import_module(module)
    with runtime.database.session() as session:
        prepare_loading(session)
    gc.freeze()  # a work horse's collections then leave the inherited objects (and pages) alone
    return Worker(
        [get_queue(runtime.redis, name) for name in queues],
        connection=runtime.redis,
        maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
    )


def run_worker(runtime: Runtime, queues: Sequence[str] = QUEUE_NAMES, burst: bool = False) -> bool:
    """Work until stopped (or until the queues are empty with ``burst``)."""
    worker = build_worker(runtime, queues)
    return worker.work(burst=burst, logging_level=runtime.settings.log_level)
