"""The campaign list on the left of the campaign screen: search, the campaign's state (being
edited, to validate, in progress, finished, cancelled), its latest run's state, last
execution."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.models import ACTIVE_RUN_STATES, Campaign, CampaignStatus, Run, RunState
from webapp.pagination import Page, paginate, search_argument, search_condition

STATUS_FILTERS = (
    "never",
    "active",
    *(state.value for state in RunState if state not in ACTIVE_RUN_STATES),
)
"""What the list can be filtered by: the state of each campaign's latest run."""
LIST_PAGE_SIZE = 25


@dataclass(frozen=True)
class ListedCampaign:
    id: int
    name: str
    status: str
    """"never" or the state of the latest run."""
    last_execution: datetime | None
    state: str = CampaignStatus.EDITING.value
    """The campaign's own state (``CampaignStatus``)."""


def _latest_state():
    return (
        select(Run.state)
        .where(Run.campaign_id == Campaign.id)
        .order_by(Run.number.desc())
        .limit(1)
        .correlate(Campaign)
        .scalar_subquery()
    )


def campaign_list_query(search: str, status: str, state: str = "") -> Select[Any]:
    """Campaigns by name (the unique index orders them), with their latest run's state and
    when they last ran; each subquery reads the runs index of one campaign."""
    state_filter, state = state, _latest_state()
    last = (
        select(func.max(Run.created_at))
        .where(Run.campaign_id == Campaign.id)
        .correlate(Campaign)
        .scalar_subquery()
    )
    query = select(
        Campaign.id, Campaign.name, Campaign.status, state.label("state"), last.label("last")
    )
    if state_filter in {member.value for member in CampaignStatus}:
        query = query.where(Campaign.status == CampaignStatus(state_filter))
    if search:
        query = query.where(search_condition(search, Campaign.name))
    if status == "never":
        query = query.where(state.is_(None))
    elif status == "active":
        query = query.where(state.in_([s.value for s in ACTIVE_RUN_STATES]))
    elif status in STATUS_FILTERS:
        query = query.where(state == status)
    return query.order_by(Campaign.name, Campaign.id)


def campaign_list(session: Session, args: Mapping[str, str], page: int) -> Page[ListedCampaign]:
    search = search_argument(args)
    status = args.get("status") or ""
    query = campaign_list_query(search, status, args.get("state") or "")
    result = paginate(session, query, page, LIST_PAGE_SIZE)
    items = [
        ListedCampaign(
            row.id,
            row.name,
            RunState(row.state).value if row.state else "never",
            row.last,
            CampaignStatus(row.status).value,
        )
        for row in result.items
    ]
    return Page(items, result.number, result.size, result.total)
