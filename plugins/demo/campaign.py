"""The ready campaign of the domain's worked example: the saved query "Interessenten mit
E-Mail" and the campaign "Informationskampagne" that prints the information letter for it
and archives it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.engine.campaigns import CampaignConfig, CampaignError, create_campaign
from core.models import Campaign, SavedQuery
from core.plugins import PluginHost

DEMO_QUERY = "Interessenten mit E-Mail"
DEMO_CAMPAIGN = "Informationskampagne"
DEMO_REPORT = "Informationsschreiben"
PROSPECTS_WITH_EMAIL: dict[str, Any] = {
    "root": "contacts",
    "where": {
        "op": "and",
        "conditions": [
            {"field": "status", "type": "equals", "values": ["prospect"]},
            {"field": "email", "type": "not_empty"},
        ],
    },
    "output": ["number", "first_name", "last_name", "company_name", "email", "city"],
    "sort": [{"field": "last_name"}, {"field": "first_name"}],
}


class DemoCampaign(NamedTuple):
    """The campaign (None when a plugin it needs is disabled) and the names added now."""

    campaign: Campaign | None
    added: list[str]


def install_demo_campaign(session: Session, plugins: PluginHost, now: datetime) -> DemoCampaign:
    """The saved query and the campaign, each added if no record of its name exists: what
    exists is left as it is, so running this again adds nothing.

    Needs the default reports and the plugins ``query``, ``consent`` and ``print_reports``;
    without them the campaign is left out. The caller commits.
    """
    added = []
    saved = session.scalar(select(SavedQuery).where(SavedQuery.name == DEMO_QUERY))
    if saved is None:
        saved = SavedQuery(
            name=DEMO_QUERY,
            description="Alle Interessenten, die eine E-Mail-Adresse haben.",
            definition=PROSPECTS_WITH_EMAIL,
            is_distribution_list=True,
            created_by="demo",
        )
        session.add(saved)
        session.flush()
        added.append(DEMO_QUERY)
    campaign = session.scalar(select(Campaign).where(Campaign.name == DEMO_CAMPAIGN))
    if campaign is not None:
        return DemoCampaign(campaign, added)
    config = CampaignConfig(
        datasource="query",
        datasource_settings={"saved_query_id": saved.id, "entity": "contacts"},
        filters=({"name": "consent", "settings": {}},),
        action="print_reports",
        action_settings={"report": DEMO_REPORT, "archive": True},
    )
    try:
        with session.begin_nested():
            campaign = create_campaign(
                session,
                plugins,
                config,
                now,
                name=DEMO_CAMPAIGN,
                description="Informiert alle Interessenten mit E-Mail-Adresse per Brief über "
                "Neuerungen; die Briefe werden im Dokumentenarchiv abgelegt.",
                created_by="demo",
            )
    except CampaignError:
        return DemoCampaign(None, added)  # a plugin it needs is disabled
    return DemoCampaign(campaign, [*added, DEMO_CAMPAIGN])
