"""Bounces, unsubscribe mails and replies: what the inbound mailbox says about contacts.

``process_mailbox`` reads the waiting messages (``mailboxes``), classifies each
(``classification``), records it as an ``InboundMail`` and acts on it:

- a hard bounce (``5.x.x``) sets the contact's ``email_undeliverable`` to the address, so
  the reach rule skips them on e-mail (``reach.email_undeliverable``) until their address
  changes; a soft bounce (``4.x.x``) is counted, and the ``soft_bounce_limit``-th of the
  same address counts as a hard one. Each is a contact event with the run it answered.
- a mail to the unsubscribe address opts the contact out of e-mail: the one the token in
  its subject (or after the ``+`` of the address) names, else every contact whose address
  sent it.
- auto-replies and "still trying" notices are recorded and set aside.
- anything else (a person's reply, a bounce nothing identifies) is kept with its bytes for
  a person to read (the panel's "Inbound mail" page): never dropped.

The bounce is matched to the message it answers by the VERP token of the address it came
back to (run and contact, signed), else by the returned Message-ID, which is the ledger
row's reference.

Messages are recorded in one transaction per batch, then moved out of the mailbox. If the
move fails after the commit, the next pass reads them again, finds their digest recorded
and only moves them: processing is idempotent.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.contact_events import set_consent
from core.db.database import Database
from core.messages import english_plural
from core.messaging.bounces import BounceToken, read_bounce_token, verp_token
from core.messaging.unsubscribe import InvalidToken, read_token
from core.models import (
    ChannelEvent,
    ChannelEventKind,
    Contact,
    ContactEvent,
    Run,
    RunItem,
)
from core.plugin_base import Channel
from core.query import ENTITIES
from core.query.records import load_records
from core.reach import OPT_OUTS, UNDELIVERABLE_FIELD
from plugins.workflows.inbound_mail.classification import Inbound, Kind, classify, digest
from plugins.workflows.inbound_mail.classification import unsubscribe_token_in as subject_token
from plugins.workflows.inbound_mail.mailboxes import Mailbox, Waiting
from plugins.workflows.inbound_mail.models import InboundMail

ACTOR = "bounce processing"
"""``ContactEvent.actor`` of a bounce's change (the package's catalog has it)."""
SOURCE_BOUNCE = "bounce"
SOURCE_REPLY = "reply"
SOURCE_SOFT_BOUNCES = "soft_bounces"
SOURCE_UNSUBSCRIBE_MAIL = "unsubscribe_mail"
SOFT_BOUNCE_FIELD = "email_soft_bounce"
"""``ContactEvent.field`` of a soft bounce (it changes no flag, it is counted)."""
DEFAULT_LIMIT = 10_000
"""Messages one pass reads at most; the rest wait for the next pass."""
_LEDGER_MESSAGE_ID = re.compile(r"<run(\d+)-([A-Za-z0-9_=-]+)\.[A-Za-z0-9]+@[^>]+>")
"""A Message-ID of ``core.messaging.mail.message_id`` for a ledger row: run, encoded key, run
tag."""
_ENCODED = re.compile(r"(?:=[0-9A-F]{2})+")
KEEP_RAW = frozenset({Kind.UNMATCHED, Kind.REPLY})
SUMMARY_LABELS = {
    Kind.HARD_BOUNCE: ("{0} hard bounce", "{0} hard bounces"),
    Kind.SOFT_BOUNCE: ("{0} soft bounce", "{0} soft bounces"),
    Kind.DELAYED: ("{0} delay notice", "{0} delay notices"),
    Kind.AUTO_REPLY: ("{0} auto-reply", "{0} auto-replies"),
    Kind.UNSUBSCRIBE: ("{0} unsubscribe mail", "{0} unsubscribe mails"),
    Kind.REPLY: ("{0} contact reply", "{0} contact replies"),
    Kind.UNMATCHED: "kept for a person",
}
"""How a pass's summary counts each kind (the workflows' catalog translates the parts)."""


@dataclass
class InboundResult:
    counts: Counter[str] = field(default_factory=Counter)
    already: int = 0
    """Messages recorded by an earlier pass whose move had failed: only moved now."""

    def summary(self) -> str:
        parts = [
            english_plural(*label, self.counts[kind])
            if isinstance(label, tuple)
            else f"{self.counts[kind]} {label}"
            for kind, label in SUMMARY_LABELS.items()
        ]
        read = english_plural("{0} message read", "{0} messages read", sum(self.counts.values()))
        text = f"{read}; {', '.join(parts)}"
        if self.already:
            text += f"; {self.already} read before"
        return text


@dataclass(frozen=True, slots=True)
class Match:
    contact_id: int
    run_id: int | None


def process_mailbox(
    database: Database,
    settings: Settings,
    mailbox: Mailbox,
    now: datetime,
) -> InboundResult:
    """Read, record and act on up to ``DEFAULT_LIMIT`` waiting messages; see the module
    docstring."""
    result = InboundResult()
    for batch in mailbox.waiting(DEFAULT_LIMIT):
        if not batch:
            continue
        with database.session() as session:
            record_batch(session, settings, batch, now, result)
        mailbox.done([message.id for message in batch])
    return result


def record_batch(
    session: Session,
    settings: Settings,
    batch: list[Waiting],
    now: datetime,
    result: InboundResult,
) -> None:
    """Record one batch in ``session``: its contacts and runs are read in one query each,
    its records and events written in one statement each."""
    digests = {message.id: digest(message.data) for message in batch}
    known = set(
        session.scalars(select(InboundMail.digest).where(InboundMail.digest.in_(digests.values())))
    )
    fresh: dict[str, tuple[Waiting, Inbound]] = {}
    for message in batch:
        fingerprint = digests[message.id]
        if fingerprint in known or fingerprint in fresh:
            result.already += 1
            continue
        fresh[fingerprint] = (message, classify(message.data, settings.unsubscribe_mailto))
    rows = []
    # no flush before each query: the contacts' changes go in one go at the end
    with session.no_autoflush:
        work = _Batch(session, settings, now, [inbound for _, inbound in fresh.values()])
        acted = [
            (fingerprint, message, inbound, *work.act(inbound))
            for fingerprint, (message, inbound) in fresh.items()
        ]
    for fingerprint, message, inbound, kind, match, detail in acted:
        rows.append(
            {
                "digest": fingerprint,
                "received_at": now,
                "kind": kind.value,
                "sender": inbound.sender[:254],
                "subject": inbound.subject,
                "message_id": (inbound.message_id or "")[:300] or None,
                "status": inbound.status,
                "address": (inbound.address or "")[:254] or None,
                "contact_id": match.contact_id if match else None,
                "run_id": match.run_id if match else None,
                "detail": detail,
                "size": message.size,
                "raw": message.data if kind in KEEP_RAW else None,
            }
        )
        result.counts[kind.value] += 1
    answers = [
        _channel_event(inbound, kind, match, now)
        for _, _, inbound, kind, match, _ in acted
        if kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.REPLY) and match is not None
    ]
    session.flush()
    if work.events:
        session.execute(insert(ContactEvent), work.events)
    if answers:  # the contact's channel events and the runs' bounce rates count them
        session.execute(insert(ChannelEvent), answers)
    if rows:
        session.execute(insert(InboundMail), rows)


def _channel_event(inbound: Inbound, kind: Kind, match: Match, now: datetime) -> dict:
    """A bounce or a reply as the contact's channel event, with the run it answered."""
    if kind is Kind.REPLY:
        kind_, source, address, detail = (
            ChannelEventKind.REPLIED,
            SOURCE_REPLY,
            inbound.sender,
            inbound.subject[:200],
        )
    else:
        kind_, source, address, detail = (
            ChannelEventKind.BOUNCED,
            SOURCE_BOUNCE,
            inbound.address,
            inbound.status,
        )
    return {
        "contact_id": match.contact_id,
        "at": now,
        "channel": Channel.EMAIL.value,
        "kind": kind_.value,
        "source": source,
        "address": (address or "")[:254] or None,
        "detail": detail,
        "run_id": match.run_id,
    }


class _Batch:
    """What one batch acts on, read once: the contacts its VERP tokens name, the runs that
    still exist, the soft bounces counted so far; and the contact events it writes."""

    def __init__(self, session: Session, settings: Settings, now: datetime, inbound: list[Inbound]):
        self.session = session
        self.settings = settings
        self.now = now
        self.events: list[dict] = []
        self.soft: Counter[tuple[int, str]] = Counter()
        """Soft bounces of this batch per (contact, address), not yet in the table."""
        self.tokens = {id(item): self._token(item) for item in inbound}
        named = {token.contact_id for token in self.tokens.values() if token}
        self.contacts = self._contacts(named)
        runs = {token.run_id for token in self.tokens.values() if token}
        self.runs = set(session.scalars(select(Run.id).where(Run.id.in_(runs)))) if runs else set()

    def _token(self, inbound: Inbound) -> BounceToken | None:
        bounce_address = self.settings.bounce_address
        if not bounce_address or inbound.kind not in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE):
            return None
        for address in inbound.recipients:
            token = verp_token(address, bounce_address)
            found = token and read_bounce_token(self.settings.secret_key, token)
            if found:
                return found
        return None

    def _contacts(self, ids: set[int]) -> dict[int, Contact]:
        if not ids:
            return {}
        found = self.session.scalars(select(Contact).where(Contact.id.in_(ids)))
        return {contact.id: contact for contact in found}

    def contact(self, contact_id: int) -> Contact | None:
        if contact_id not in self.contacts:
            self.contacts.update(self._contacts({contact_id}))
        return self.contacts.get(contact_id)

    def existing(self, contact_id: int, run_id: int | None) -> Match | None:
        """The match, if the contact still exists; a deleted run is left out."""
        if self.contact(contact_id) is None:
            return None
        if run_id is not None and run_id not in self.runs:
            if self.session.scalar(select(Run.id).where(Run.id == run_id)) is None:
                run_id = None  # deleted since; the bounce still counts
            else:
                self.runs.add(run_id)
        return Match(contact_id, run_id)

    def act(self, inbound: Inbound) -> tuple[Kind, Match | None, str]:
        """What was done: the kind recorded (a bounce nothing identifies becomes unmatched),
        the contact and run it concerned, and a detail for the record."""
        if inbound.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE):
            match = self.match_bounce(inbound)
            if match is None:
                return Kind.UNMATCHED, None, "no campaign message found for the bounce"
            return inbound.kind, match, self.record_bounce(inbound, match)
        if inbound.kind is Kind.UNSUBSCRIBE:
            matches = self.unsubscribing(inbound)
            if not matches:
                return Kind.UNMATCHED, None, "unsubscribe mail from an unknown sender"
            for match in matches:
                set_consent(
                    self.session,
                    self.contact(match.contact_id),
                    {OPT_OUTS[Channel.EMAIL][0]: True},
                    actor=inbound.sender[:80] or ACTOR,
                    source=SOURCE_UNSUBSCRIBE_MAIL,
                    at=self.now,
                    run_id=match.run_id,
                )
            opted_out = english_plural(
                "{0} contact opted out of e-mail", "{0} contacts opted out of e-mail", len(matches)
            )
            return Kind.UNSUBSCRIBE, matches[0], opted_out
        if inbound.kind is Kind.UNMATCHED and inbound.sender:
            senders = self.by_sender(inbound.sender)
            if senders:
                return Kind.REPLY, senders[0], inbound.detail
        return inbound.kind, None, inbound.detail

    def match_bounce(self, inbound: Inbound) -> Match | None:
        """The contact and run a bounce answers: by the VERP token, else the Message-ID."""
        token = self.tokens.get(id(inbound))
        if token is not None:
            return self.existing(token.contact_id, token.run_id)
        if inbound.original_message_id:
            return self.by_message_id(inbound.original_message_id)
        return None

    def by_message_id(self, message_id: str) -> Match | None:
        """The ledger row whose reference is the Message-ID (``<run12-…>``), its contact."""
        found = _LEDGER_MESSAGE_ID.fullmatch(message_id.strip())
        if found is None:
            return None
        key = _ENCODED.sub(
            lambda match: bytes.fromhex(match[0].replace("=", "")).decode(errors="replace"),
            found[2],
        )
        item = self.session.execute(  # the ledger's unique (run, key, action) index
            select(RunItem.entity, RunItem.entity_id).where(
                RunItem.run_id == int(found[1]),
                RunItem.key == key,
                RunItem.reference == message_id.strip(),
            )
        ).first()
        if item is None or item.entity_id is None or item.entity not in ENTITIES:
            return None
        path = ENTITIES[item.entity].contact_path
        if path is None:
            return None
        if path == "":
            contact_id = item.entity_id
        else:
            record = load_records(self.session, item.entity, [item.entity_id]).get(item.entity_id)
            contact_id = record and record.get(f"{path}.id")
        return self.existing(contact_id, int(found[1])) if contact_id else None

    def record_bounce(self, inbound: Inbound, match: Match) -> str:
        contact = self.contact(match.contact_id)
        current = (contact.email or "").strip().lower()
        address = inbound.address or current
        if not current or address != current:
            return f"'{address}' is no longer the contact's address"
        source = SOURCE_BOUNCE
        if inbound.kind is Kind.SOFT_BOUNCE:
            self.event(contact.id, SOFT_BOUNCE_FIELD, None, SOURCE_BOUNCE, match)
            self.soft[contact.id, address] += 1
            counted = self.soft[contact.id, address] + self.session.scalar(
                select(func.count(InboundMail.id)).where(
                    InboundMail.contact_id == contact.id,
                    InboundMail.kind == Kind.SOFT_BOUNCE.value,
                    InboundMail.address == address,
                )
            )
            limit = self.settings.soft_bounce_limit
            if counted < limit:
                return f"soft bounce {counted} of {limit}"
            source = SOURCE_SOFT_BOUNCES
        if getattr(contact, UNDELIVERABLE_FIELD) == address:
            return f"'{address}' was undeliverable already"
        setattr(contact, UNDELIVERABLE_FIELD, address)
        self.event(contact.id, UNDELIVERABLE_FIELD, False, source, match)
        return f"'{address}' marked undeliverable"

    def event(
        self, contact_id: int, name: str, old: bool | None, source: str, match: Match
    ) -> None:
        self.events.append(
            {
                "contact_id": contact_id,
                "at": self.now,
                "actor": ACTOR,
                "field": name,
                "old_value": old,
                "new_value": True,
                "source": source,
                "run_id": match.run_id,
            }
        )

    def unsubscribing(self, inbound: Inbound) -> list[Match]:
        """Who an unsubscribe mail opts out: the contact its token names, else the
        contacts whose address sent it."""
        token = subject_token(inbound, self.settings.unsubscribe_mailto or "")
        if token:
            found = self.named_by(token)
            if found:
                return [found]
        return self.by_sender(inbound.sender) if inbound.sender else []

    def by_sender(self, sender: str) -> list[Match]:
        """The contacts whose address is ``sender`` (the address as the mail gave it)."""
        ids = self.session.scalars(
            select(Contact.id)
            .where(func.lower(func.trim(Contact.email)) == sender)
            .order_by(Contact.id)
        ).all()
        return [Match(contact_id, None) for contact_id in ids]

    def named_by(self, token: str) -> Match | None:
        """The contact of an unsubscribe token (the link's), or of a bounce token."""
        try:
            named = read_token(self.settings.secret_key, token)
        except (InvalidToken, ValueError):
            bounce = read_bounce_token(self.settings.secret_key, token)
            return bounce and self.existing(bounce.contact_id, bounce.run_id)
        if named.channel is not Channel.EMAIL:
            return None
        return self.existing(named.contact_id, named.run_id)


__all__ = ["InboundResult", "process_mailbox", "record_batch"]
