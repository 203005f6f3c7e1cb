"""The RQ worker process: plugins and connections are set up once, before any fork."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import Sequence

from rq import Worker, worker_registration

from core.documents.rendering import load_image_drivers
from core.engine import dispatch, targeting  # noqa: F401 (imported once, before forking)
from core.jobs import functions as jobs
from core.jobs.queue import QUEUE_NAMES, get_queue
from core.query.records import prepare_loading
from core.runtime import Runtime

MAINTENANCE_INTERVAL_SECONDS = 30
"""Short, so jobs of a killed worker are found in seconds rather than RQ's ten minutes."""

CHUNK_JOB = f"{dispatch.__name__}.{dispatch.process_chunk.__name__}"
PUBSUB_WAIT_SECONDS = 1
"""How long RQ's command listener blocks at a time; RQ's 60 s made an idle worker take a
minute to exit."""


class CampaignWorker(Worker):
    """RQ's worker, whose warm shutdown (the first SIGTERM or SIGINT) asks the work horse
    (``jobs.STOP_SIGNAL``) to stop after its current recipient: a chunk job records what it
    finished and hands its lease back for another worker; other jobs run to their end."""

    def request_stop(self, signum, frame):
        jobs.ask_to_stop()  # a work horse forked from now on starts asked
        self._ask_horse_to_stop()
        super().request_stop(signum, frame)

    def _ask_horse_to_stop(self) -> None:
        if self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, jobs.STOP_SIGNAL)

    def fork_work_horse(self, job, queue):
        """RQ's own, after a chunk's action warmed up here for its work horses. A stop asked
        while the job was taken or the horse forked reaches the horse too (it would otherwise
        work through its whole chunk): the horse inherits one asked before the fork, is sent
        one asked before its pid was known, and holds ``STOP_SIGNAL`` blocked until its
        Python can take it (one arriving earlier would be dropped)."""
        if job.func_name == CHUNK_JOB:
            dispatch.warm_up(job.args[0])
        signal.pthread_sigmask(signal.SIG_BLOCK, {jobs.STOP_SIGNAL})
        try:
            super().fork_work_horse(job, queue)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {jobs.STOP_SIGNAL})
        if jobs.stop_requested():
            self._ask_horse_to_stop()

    def setup_work_horse_signals(self):
        """RQ's own; then the stop signal blocked over the fork is taken (and one sent meanwhile
        delivered)."""
        super().setup_work_horse_signals()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {jobs.STOP_SIGNAL})

    def heartbeat(self, timeout=None, pipeline=None):
        """RQ's own, which also registers the worker again. RQ registers a worker (its hash
        and the sets ``rq:workers`` and ``rq:workers:<queue>`` that ``Worker.all``, the
        panel's queue page and ``rq info`` read) only when it starts; after Redis lost them
        (its database emptied, the server restarted without its data) the heartbeat brought
        back a bare hash, and the running worker went unseen."""
        super().heartbeat(timeout, pipeline)
        connection = pipeline if pipeline is not None else self.connection
        connection.hset(self.key, mapping=self.serialize())
        worker_registration.register(self, connection)

    def subscribe(self):
        """RQ's own, with a short wait."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAIT_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


def build_worker(runtime: Runtime, queues: Sequence[str] = QUEUE_NAMES) -> Worker:
    jobs.install_runtime(runtime)
    jobs.listen_for_stop()
    with runtime.database.session() as session:
        prepare_loading(session)
    load_image_drivers()
    gc.freeze()  # a work horse's collections then leave the inherited objects (and pages) alone
    return CampaignWorker(
        [get_queue(runtime.redis, name) for name in queues],
        connection=runtime.redis,
        maintenance_interval=MAINTENANCE_INTERVAL_SECONDS,
    )


def run_worker(runtime: Runtime, queues: Sequence[str] = QUEUE_NAMES, burst: bool = False) -> bool:
    """Work until stopped (or until the queues are empty with ``burst``); then close the
    runtime, which stops the embedded Redis server if this process started it."""
    try:
        worker = build_worker(runtime, queues)
        return worker.work(burst=burst, logging_level=runtime.settings.log_level)
    finally:
        runtime.close()
