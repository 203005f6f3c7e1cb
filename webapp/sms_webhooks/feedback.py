"""What comes back from SMS recipients and providers, recorded where the panel shows it.

A delivery receipt goes onto the ledger row of its message (``RunItem.delivery``), found
by the idempotency reference the gateway was given or by the provider's message id; the
run then shows each message delivered, undeliverable or pending, and a message the
provider bills only when delivered counts in the costs only then (the process bundle's
cost calculation).

An inbound message opts the sender's number out of SMS when it is a stop word, recorded
on every contact with that number with the run it answered (the latest SMS run sent to
them); any other text is recorded as a reply. A number that matches no contact is kept as
an event without contact, for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.contact_events import set_consent
from core.models import (
    ChannelEvent,
    ChannelEventKind,
    Contact,
    ItemStatus,
    ReceiptStatus,
    RunItem,
)
from core.plugin_base import Channel
from core.sms_webhooks import PENDING, InboundSms, Receipt

LEDGER_REFERENCE = re.compile(r"^run([0-9]{1,9})-(.{1,200})$")
"""``core.messaging.sending.ledger_reference``: the run and the row's key (a run id of more than
nine digits, beyond the id column, is looked up as a message id only)."""
STOP_WORDS = frozenset({"stop", "stopp", "abmelden", "stop all", "stopall", "unsubscribe"})
"""Replies that opt the sender out, compared without case and surrounding whitespace."""
ACTOR = "SMS reply"
"""``ContactEvent.actor`` of an opt-out by SMS reply (the panel's catalog has it)."""
SOURCE = "sms_reply"
"""``ContactEvent.source`` of an opt-out by SMS reply (the panel translates it)."""


@dataclass(frozen=True, slots=True)
class ReceiptsRecorded:
    matched: int
    unknown: int


def record_receipts(
    session: Session, receipts: Sequence[Receipt], now: datetime
) -> ReceiptsRecorded:
    """Note each receipt on its ledger row; a later receipt replaces an earlier one, and a
    "pending" one (accepted, buffered) changes nothing. The row's status stays: the
    message was sent either way."""
    matched = unknown = 0
    for receipt in receipts:
        values = (
            {}
            if receipt.status == PENDING
            else {"delivery": ReceiptStatus(receipt.status).value, "delivery_at": receipt.at or now}
        )
        if _note(session, receipt.reference, values):
            matched += 1
        else:
            unknown += 1
    return ReceiptsRecorded(matched, unknown)


def _note(session: Session, reference: str, values: dict[str, object]) -> bool:
    """Write ``values`` on the row the gateway sent ``reference`` for (the ledger reference:
    one unique index lookup), else on the row whose provider message id it is; False when
    there is none. Empty ``values`` only look."""
    match = LEDGER_REFERENCE.match(reference)
    wheres = []
    if match:
        wheres.append(
            (
                RunItem.run_id == int(match[1]),
                RunItem.key == match[2],
                RunItem.status.in_([ItemStatus.DONE, ItemStatus.UNCLEAR]),
            )
        )
    wheres.append((RunItem.reference == reference,))
    for where in wheres:
        if not values:
            if session.scalar(select(RunItem.id).where(*where).limit(1)) is not None:
                return True
            continue
        # a message id is unique per provider; should two rows share one, both get it
        if session.execute(update(RunItem).where(*where).values(**values)).rowcount:
            return True
    return False


def is_stop(text: str) -> bool:
    return " ".join(text.split()).casefold() in STOP_WORDS


def e164(number: str, region: str = "DE") -> str | None:
    """A sender's number in E.164 (gateways send "+4917…", "4917…" or "017…"), or None."""
    raw = number.strip()
    if raw.isdigit() and not raw.startswith("0"):
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def contacts_with_number(session: Session, number: str) -> list[Contact]:
    """Every contact whose mobile number is ``number`` (E.164), however it was typed.

    Numbers are stored as typed, so each is normalised here; the last six digits are
    compared first, which leaves the parsing to the few candidates."""
    tail = number[-6:]
    found = []
    rows = session.execute(
        select(Contact.id, Contact.mobile, Contact.country).where(Contact.mobile.is_not(None))
    )
    for contact_id, mobile, country in rows:
        digits = "".join(char for char in mobile if char.isdigit())
        if digits.endswith(tail) and e164(mobile, country or "DE") == number:
            found.append(contact_id)
    if not found:
        return []
    return list(session.scalars(select(Contact).where(Contact.id.in_(found))))


def latest_run(
    session: Session, contact_ids: Collection[int], sms_actions: Collection[str]
) -> int | None:
    """The latest run that sent one of these contacts an SMS."""
    if not contact_ids or not sms_actions:
        return None
    return session.scalar(
        select(RunItem.run_id)
        .where(
            RunItem.entity == "contacts",
            RunItem.entity_id.in_(list(contact_ids)),
            RunItem.action.in_(list(sms_actions)),
            RunItem.status == ItemStatus.DONE,
        )
        .order_by(RunItem.id.desc())
        .limit(1)
    )


def record_inbound(
    session: Session,
    message: InboundSms,
    *,
    source: str,
    sms_actions: Collection[str],
    now: datetime,
) -> str:
    """Record one inbound message; returns ``"unsubscribed"`` or ``"replied"``.

    ``source`` names the gateway (``sms:http``); ``sms_actions`` are the actions that send
    SMS, whose runs a reply can answer."""
    number = e164(message.sender) or message.sender.strip()[:40]
    contacts = contacts_with_number(session, number) if number.startswith("+") else []
    run_id = latest_run(session, [contact.id for contact in contacts], sms_actions)
    at = message.at or now
    stop = is_stop(message.text)
    kind = ChannelEventKind.UNSUBSCRIBED if stop else ChannelEventKind.REPLIED
    if stop and contacts:
        for contact in contacts:
            set_consent(
                session,
                contact,
                {"opt_out_sms": True},
                actor=ACTOR,
                source=SOURCE,
                at=at,
                run_id=run_id,
            )
        return kind.value
    for contact_id in [contact.id for contact in contacts] or [None]:
        session.add(
            ChannelEvent(
                contact_id=contact_id,
                at=at,
                channel=Channel.MOBILE.value,
                kind=kind.value,
                source=source,
                address=number,
                detail=message.text,
                run_id=run_id,
            )
        )
    return kind.value
