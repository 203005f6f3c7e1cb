"""What a person does to campaigns and runs in the panel and the HTTP API, each with its
audit entry, so that a change made by either is checked, done and logged the same way.

Each function adds its audit entry to the caller's ``session`` and leaves the commit to the
caller (after the change it describes); ``via`` is as for ``core.engine.operations.create``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from core.audit import record_audit
from core.engine.campaigns import (
    CampaignConfig,
    apply_config,
    check_name,
    copy_campaign,
    normalized,
)
from core.engine.operations import Via, with_via
from core.engine.runs import (
    QueueDeferredError,
    cancel_run,
    confirm_run,
    discard_run,
    resume_run,
    retry_failed,
    start_run,
)
from core.engine.sending_window import SendingWindow
from core.messages import stored
from core.models import Campaign, Run
from core.plugins import PluginHost
from core.runtime import Runtime


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
    of it validates (``CampaignError``)."""
    before = CampaignConfig.of(campaign).snapshot()
    new_config = normalized(plugins, config)
    if name is not None:
        campaign.name = check_name(session, name, campaign.id)
    if description is not None:
        campaign.description = description
    apply_config(campaign, new_config)
    session.flush()
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
        with_via({"before": before, "after": after} if before != after else None, via),
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
        with_via({"source_id": campaign.id}, via),
    )
    return duplicate


def set_sending_window(
    session: Session,
    campaign: Campaign,
    window: SendingWindow | None,
    actor: str,
    *,
    via: Via = None,
) -> None:
    """Set (or with None remove) the days and hours the campaign's next runs may reach
    people; an unchanged window writes nothing."""
    wanted = window.to_json() if window else None
    if wanted == campaign.sending_window:
        return
    campaign.sending_window = wanted
    record_audit(
        session,
        actor,
        "campaign.sending_window",
        "campaign",
        campaign.id,
        stored("{campaign}: sending window set", campaign=campaign.name)
        if wanted
        else stored("{campaign}: sending window removed", campaign=campaign.name),
        with_via({"sending_window": wanted}, via),
    )


def set_hourly_limit(
    session: Session, campaign: Campaign, limit: int | None, actor: str, *, via: Via = None
) -> None:
    """Set (or with None remove) how many sends the campaign's next runs make in any hour at
    most; an unchanged limit writes nothing."""
    if limit == campaign.hourly_limit:
        return
    campaign.hourly_limit = limit
    record_audit(
        session,
        actor,
        "campaign.hourly_limit",
        "campaign",
        campaign.id,
        stored("{campaign}: hourly limit set to {limit}", campaign=campaign.name, limit=limit)
        if limit
        else stored("{campaign}: hourly limit removed", campaign=campaign.name),
        with_via({"hourly_limit": limit}, via),
    )


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
        with_via({"run_id": run.id, "dry_run": dry_run, "limit": limit}, via),
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
        stored.plural(
            "{campaign}: run #{number}, {count} recipient",
            "{campaign}: run #{number}, {count} recipients",
            campaign=campaign.name,
            number=str(run.number),
            count=count,
        ),
        with_via({"campaign_id": campaign.id, "count": count}, via),
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
    options = {"include_unclear": include_unclear} if verb == "retry" else {}
    result = RUN_ACTIONS[verb](runtime, run.id, **options)
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
        with_via({"campaign_id": campaign.id, "result": result}, via),
    )
