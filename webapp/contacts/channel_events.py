"""The contact page's channel events: every message sent to the contact, what the provider
said about its delivery, bounces, opt-outs and replies, newest first, each with its source
(the run, the provider's receipt, the unsubscribe link, the SMS gateway)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from core import Channel
from core.models import (
    Campaign,
    ChannelEvent,
    Contact,
    ContactEvent,
    ItemStatus,
    ReceiptStatus,
    Run,
    RunItem,
)
from webapp.context import db_session, get_plugins
from webapp.i18n import t

LIMIT = 200
FLAG_CHANNELS = {"post": "postal", "email": "email", "sms": "mobile", "phone": "phone"}
"""The channel of an opt-out flag (``opt_out_sms``), in the actions' terms."""


@dataclass(frozen=True)
class ChannelEntry:
    at: datetime
    kind: str
    """sent, delivered, bounced, unsubscribed or replied."""
    channel: str
    source: str
    detail: str = ""
    run: Run | None = None
    campaign: str = ""


def channel_events(contact: Contact) -> list[ChannelEntry]:
    session = db_session()
    rows_of = [and_(RunItem.entity == "contacts", RunItem.entity_id == contact.id)]
    contract_ids = [contract.id for contract in contact.contracts]
    if contract_ids:
        rows_of.append(and_(RunItem.entity == "contracts", RunItem.entity_id.in_(contract_ids)))
    sent = session.execute(
        select(RunItem, Run, Campaign.name)
        .join(Run, Run.id == RunItem.run_id)
        .join(Campaign, Campaign.id == Run.campaign_id)
        .where(
            or_(*rows_of),
            RunItem.status == ItemStatus.DONE,
            Run.dry_run.is_(False),
            Run.superseded_at.is_(None),
        )
        .order_by(RunItem.id.desc())
        .limit(LIMIT)
    ).all()
    plugins = get_plugins()
    held = plugins.held_back(session, (run.id for _, run, _ in sent))
    entries = []
    for item, run, campaign in sent:
        if run.id in held:  # done, but nobody reached yet
            continue
        channel = (plugins.run_channel(run.config) or Channel.NONE).value
        source = t("contacts.channel_events.source.run")
        at = item.finished_at or run.created_at
        entries.append(ChannelEntry(at, "sent", channel, source, run=run, campaign=campaign))
        if item.delivery:
            kind = "delivered" if item.delivery == ReceiptStatus.DELIVERED.value else "bounced"
            receipt = t("contacts.channel_events.source.receipt")
            entries.append(
                ChannelEntry(
                    item.delivery_at or at, kind, channel, receipt, run=run, campaign=campaign
                )
            )
    runs = {entry.run.id: (entry.run, entry.campaign) for entry in entries if entry.run}
    for event in session.scalars(
        select(ChannelEvent)
        .where(ChannelEvent.contact_id == contact.id)
        .order_by(ChannelEvent.at.desc())
        .limit(LIMIT)
    ):
        run, campaign = _run(runs, event.run_id)
        entries.append(
            ChannelEntry(
                event.at,
                event.kind,
                event.channel,
                _source(event.source),
                event.detail or "",
                run,
                campaign,
            )
        )
    for event in session.scalars(
        select(ContactEvent)
        .where(
            ContactEvent.contact_id == contact.id,
            ContactEvent.field.like("opt\\_out\\_%", escape="\\"),
            ContactEvent.new_value.is_(True),
        )
        .order_by(ContactEvent.at.desc())
        .limit(LIMIT)
    ):
        run, campaign = _run(runs, event.run_id)
        entries.append(
            ChannelEntry(
                event.at,
                "unsubscribed",
                FLAG_CHANNELS.get(event.field.removeprefix("opt_out_"), "none"),
                t("contacts.consent_events.source." + event.source),
                run=run,
                campaign=campaign,
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:LIMIT]


def _run(runs: dict[int, tuple[Run, str]], run_id: int | None) -> tuple[Run | None, str]:
    if run_id is None:
        return None, ""
    if run_id not in runs:
        found = (
            db_session()
            .execute(
                select(Run, Campaign.name)
                .join(Campaign, Campaign.id == Run.campaign_id)
                .where(Run.id == run_id)
            )
            .first()
        )
        runs[run_id] = (found[0], found[1]) if found else (None, "")  # type: ignore[assignment]
    return runs[run_id]


def _source(source: str) -> str:
    """``sms:<gateway>`` as "SMS gateway <gateway>"; other sources as the catalog has them."""
    kind, _, name = source.partition(":")
    if kind == "sms" and name:
        return t("contacts.channel_events.source.sms", gateway=name)
    return t("contacts.channel_events.source." + kind)
