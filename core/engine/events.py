"""Recording a run's start and end as domain events, and calling the run lifecycle hooks
with plain data."""

from __future__ import annotations

import logging
from dataclasses import asdict

from core.events import DomainEvent, RunEvent, record_events
from core.models import Run
from core.runtime import Runtime

log = logging.getLogger(__name__)

COUNTS = ("targeted", "held_out", "done", "failed", "skipped", "unclear")


def run_event(run: Run, campaign_name: str) -> RunEvent:
    action = run.config.get("action", "")
    counts = {name: getattr(run, name) for name in COUNTS}
    return RunEvent(run.id, run.campaign_id, campaign_name, action, run.state.value, counts)


def notify(runtime: Runtime, run_id: int, hook_name: str) -> None:
    """Record the run's event (``run.started``, ``run.finished`` or ``run.failed``), then
    call ``run_started`` or ``run_finished``; a failing listener is logged, not fatal."""
    with runtime.database.session() as session:
        run = session.get(Run, run_id)
        event = run_event(run, run.campaign.name)
    if hook_name == "run_started":
        name = "run.started"
    else:
        name = "run.failed" if event.state == "failed" else "run.finished"
    data = {**asdict(event), "counts": dict(event.counts)}
    try:
        with runtime.database.session() as session:
            record_events(session, [DomainEvent(name, data, runtime.clock.now())])
    except Exception:
        log.exception("the %s event of run %s was not recorded", hook_name, run_id)
    try:
        getattr(runtime.plugins.hook, hook_name)(run=event)
    except Exception:
        log.exception("a %s listener failed for run %s", hook_name, run_id)
