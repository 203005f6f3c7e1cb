"""Calling the run lifecycle hooks with plain data, and recording the run's webhook events."""

from __future__ import annotations

import logging
from dataclasses import asdict

from core.events import RunEvent
from core.models import Campaign, Run
from core.runtime import Runtime
from core.webhooks import record_run_event

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
    """Call ``run_started`` or ``run_finished``; a failing listener is logged, not fatal."""
    with runtime.database.session() as session:
        run = session.get(Run, run_id)
        campaign_name = session.get(Campaign, run.campaign_id).name
        event = run_event(run, campaign_name)
    try:
        getattr(runtime.plugins.hook, hook_name)(run=event)
    except Exception:
        log.exception("a %s listener failed for run %s", hook_name, run_id)
    data = {**asdict(event), "counts": dict(event.counts)}
    try:
        record_run_event(runtime, hook_name, data)
    except Exception:
        log.exception("the %s webhook event of run %s was not recorded", hook_name, run_id)
