"""Recording a run's start and end as domain events, and calling the run lifecycle hooks
with plain data."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from core.events import DomainEvent, RunEvent, record_events
from core.models import Campaign, Run
from core.runtime import Runtime

log = logging.getLogger(__name__)


def run_event(run: Run, campaign_name: str) -> RunEvent:
    return RunEvent(
        run_id=run.id,
        campaign_id=run.campaign_id,
        campaign_name=campaign_name,
        action=run.config.get("action", ""),
        state=run.state.value,
        counts={
            "targeted": run.targeted,
            "held_out": run.held_out,
            "done": run.done,
            "failed": run.failed,
            "skipped": run.skipped,
            "unclear": run.unclear,
        },
    )


def notify(runtime: Runtime, run_id: int, hook_name: str) -> None:
    """Record the run's event (``run.started``, ``run.finished`` or ``run.failed``), then
    call ``run_started`` or ``run_finished``; a failing listener is logged, not fatal."""
    with runtime.database.session() as session:
        run = session.get(Run, run_id)
        campaign_name = session.get(Campaign, run.campaign_id).name
        event = run_event(run, campaign_name)
    try:
        with runtime.database.session() as session:
            record_events(session, [run_domain_event(event, hook_name, runtime.clock.now())])
    except Exception:
        log.exception("the %s event of run %s was not recorded", hook_name, run_id)
    try:
        getattr(runtime.plugins.hook, hook_name)(run=event)
    except Exception:
        log.exception("a %s listener failed for run %s", hook_name, run_id)


def run_domain_event(event: RunEvent, hook_name: str, now: datetime) -> DomainEvent:
    """The domain event of a run's start or end (``run.failed`` for a failed run)."""
    if hook_name == "run_started":
        name = "run.started"
    else:
        name = "run.failed" if event.state == "failed" else "run.finished"
    return DomainEvent(name, {**asdict(event), "counts": dict(event.counts)}, now)
