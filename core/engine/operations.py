"""What a person does to campaigns and runs, each with its audit entry: the panel, the HTTP
API and the command line call these, so a change made by any of them is checked, done and
logged the same way.

Each function adds its audit entry to the caller's ``session`` and leaves the commit to the
caller (after the change it describes). ``via`` adds to every entry's details how the person
acted, e.g. ``{"api_token": "crm-sync"}`` for a call with an API token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.audit import record_audit
from core.engine.campaigns import (
    CampaignConfig,
    copy_campaign,
    create_campaign,
    update_campaign,
)
from core.engine.runs import (
    QueueDeferredError,
    cancel_run,
    confirm_run,
    discard_run,
    resume_run,
    retry_failed,
    start_run,
)
from core.messages import stored
from core.models import Campaign, Run
from core.plugins import PluginHost
from core.runtime import Runtime

Via = Mapping[str, Any] | None


def _details(details: Mapping[str, Any] | None, via: Via) -> dict[str, Any]:
    return {**(details or {}), **(via or {})}


def create(
    session: Session,
    plugins: PluginHost,
    config: CampaignConfig,
    now: datetime,
    actor: str,
    *,
    name: str | None = None,
    description: str = "",
    via: Via = None,
) -> Campaign:
    """A new campaign, validated by each plugin's parameter model (``CampaignError``)."""
    campaign = create_campaign(
        session, plugins, config, now, name=name, description=description, created_by=actor
    )
    record_audit(
        session,
        actor,
        "campaign.create",
        "campaign",
        campaign.id,
        campaign.name,
        _details({"config": CampaignConfig.of(campaign).snapshot()}, via),
    )
    return campaign


def update(
    session: Session,
    plugins: PluginHost,
    campaign: Campaign,
    config: CampaignConfig,
    actor: str,
    *,
    name: str | None = None,
    description: str | None = None,
    via: Via = None,
) -> Campaign:
    """Change a campaign's name, description or configuration; nothing is stored unless all
    of it validates."""
    before = CampaignConfig.of(campaign).snapshot()
    update_campaign(session, plugins, campaign, config, name=name, description=description)
    after = CampaignConfig.of(campaign).snapshot()
    record_audit(
        session,
        actor,
        "campaign.update",
        "campaign",
        campaign.id,
        stored("{campaign}: configuration", campaign=campaign.name)
        if before != after
        else stored("{campaign}: general settings", campaign=campaign.name),
        _details({"before": before, "after": after} if before != after else None, via),
    )
    return campaign


def copy(session: Session, campaign: Campaign, actor: str, *, via: Via = None) -> Campaign:
    duplicate = copy_campaign(session, campaign)
    record_audit(
        session,
        actor,
        "campaign.copy",
        "campaign",
        duplicate.id,
        stored("{copy} (copy of {campaign})", copy=duplicate.name, campaign=campaign.name),
        _details({"source_id": campaign.id}, via),
    )
    return duplicate


def start(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    actor: str,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    via: Via = None,
) -> Run:
    """Start a dry run, or a real run that stops for confirmation after targeting
    (``RunError``, ``RedisError`` if it cannot start)."""
    run = start_run(runtime, campaign.id, started_by=actor, dry_run=dry_run, limit=limit)
    record_audit(
        session,
        actor,
        "run.start",
        "campaign",
        campaign.id,
        stored("{campaign}: dry run #{number}", campaign=campaign.name, number=str(run.number))
        if dry_run
        else stored("{campaign}: run #{number}", campaign=campaign.name, number=str(run.number)),
        _details({"run_id": run.id, "dry_run": dry_run, "limit": limit}, via),
    )
    return run


def confirm(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    run: Run,
    actor: str,
    count: int,
    *,
    via: Via = None,
) -> Run:
    """A person's go with the count they saw; refused (``ConfirmationCountError``) if the run
    would reach another number. The audit entry is recorded even if only the enqueueing was
    deferred (``QueueDeferredError``, raised after the entry is added)."""
    deferred = None
    try:
        confirmed = confirm_run(runtime, run.id, actor, count)
    except QueueDeferredError as exc:
        confirmed, deferred = run, exc
    record_audit(
        session,
        actor,
        "run.confirm",
        "run",
        run.id,
        stored(
            "{campaign}: run #{number}, {count} recipients",
            campaign=campaign.name,
            number=str(run.number),
            count=count,
        ),
        _details({"campaign_id": campaign.id, "count": count}, via),
    )
    if deferred is not None:
        raise deferred
    return confirmed


RUN_ACTIONS: dict[str, Callable[..., Any]] = {
    "cancel": cancel_run,
    "resume": resume_run,
    "discard": discard_run,
    "retry": retry_failed,
}
"""The run actions by the verb their audit entry (``run.<verb>``) names."""


def act_on_run(
    runtime: Runtime,
    session: Session,
    campaign: Campaign,
    run: Run,
    verb: str,
    actor: str,
    *,
    include_unclear: bool = False,
    via: Via = None,
) -> object:
    """Cancel, resume, discard or retry the failed rows of a run; returns what the action
    returns (the rows retried). ``RunError`` if the run's state does not allow it."""
    act = RUN_ACTIONS[verb]
    result = (
        act(runtime, run.id, include_unclear=include_unclear)
        if verb == "retry"
        else act(runtime, run.id)
    )
    record_run_action(session, campaign, run, verb, actor, result, via=via)
    return result


def record_run_action(
    session: Session,
    campaign: Campaign,
    run: Run,
    verb: str,
    actor: str,
    result: object,
    *,
    via: Via = None,
) -> None:
    record_audit(
        session,
        actor,
        f"run.{verb}",
        "run",
        run.id,
        stored("{campaign}: run #{number}", campaign=campaign.name, number=str(run.number)),
        _details({"campaign_id": campaign.id, "result": result}, via),
    )
