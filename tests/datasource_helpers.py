"""Helpers the data-source tests share: the built-in sources added to the engine harness,
campaigns with source settings, and group listings, the contacts a run reached (no tests here)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from core.engine.campaigns import CampaignConfig, build_plugins
from core.engine.context import RunContext
from core.engine.runs import start_run
from core.models import Campaign, Contact, Run, SavedQuery
from core.plugin_base import Group
from plugins.datasources import combined, distribution_list, file_import, query, static

from engine_plugins import reset_tags, tag_counts

SOURCE_MODULES = (query, distribution_list, combined, static, file_import)


def with_sources(engine):
    """The harness with the built-in data sources registered next to the test plugins."""
    for module in SOURCE_MODULES:
        engine.runtime.plugins.add(module, module.__name__, "test")
    assert engine.runtime.plugins.errors == []
    return engine


def add_contacts(engine, *rows: dict) -> list[int]:
    """Contacts with exactly these fields (unique numbers are made up)."""
    values = [{"number": f"D-{uuid.uuid4().hex[:12]}", "attributes": {}, **row} for row in rows]
    with engine.runtime.database.session() as session:
        return list(session.scalars(insert(Contact).returning(Contact.id), values))


def save_query(engine, definition: dict, name: str = "query", distribution_list=False) -> int:
    with engine.runtime.database.session() as session:
        saved = SavedQuery(name=name, definition=definition, is_distribution_list=distribution_list)
        session.add(saved)
        session.flush()
        return saved.id


def create(engine, datasource: str, settings: dict, **options) -> int:
    """A campaign on one of the built-in sources (options as for the harness's campaign)."""
    return engine.campaign(datasource=datasource, datasource_settings=settings, **options)


def run(engine, campaign_id: int) -> Run:
    """Start the campaign, work the queues empty and return the finished run."""
    started = start_run(engine.runtime, campaign_id, confirmed_by="test")
    engine.work()
    return engine.run(started.id)


def groups(engine, campaign_id: int) -> list[Group]:
    """What the campaign screen lists under "group of data for actions"."""
    with engine.runtime.database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        built = build_plugins(engine.runtime.plugins, CampaignConfig.of(campaign))
        context = RunContext(
            runtime=engine.runtime,
            session=session,
            campaign_id=campaign_id,
            campaign_name=campaign.name,
            run_id=None,
            channel=built.action.channel,
        )
        return built.datasource.list_groups(context)


def reached(engine) -> set[int]:
    """The contacts the last runs tagged; the tags are cleared for the next run."""
    with engine.runtime.database.session() as session:
        tagged = {contact_id for contact_id, count in tag_counts(session).items() if count}
        reset_tags(session)
    return tagged
