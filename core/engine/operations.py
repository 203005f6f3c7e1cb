"""Creating a campaign with its audit entry, the same from the panel, the HTTP API and the
command line (the panel's other operations are in ``webapp.campaign_operations``).

The audit entry goes into the caller's ``session``, and the commit after the change is the
caller's. ``via`` adds to the entry's details how the person acted, e.g.
``{"api_token": "crm-sync"}`` for a call with an API token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.audit import record_audit
from core.engine.campaigns import CampaignConfig, create_campaign
from core.models import Campaign
from core.plugins import PluginHost

Via = Mapping[str, Any] | None


def with_via(details: Mapping[str, Any] | None, via: Via) -> dict[str, Any]:
    """An audit entry's details, with how the person acted."""
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
        with_via({"config": CampaignConfig.of(campaign).snapshot()}, via),
    )
    return campaign
