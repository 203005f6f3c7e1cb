"""Recording what comes back from SMS: receipts on the ledger row they belong to, stop words
that opt every contact with the number out (with the run it answered), other replies, and
numbers nobody has kept for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from test_sms_action import sms_campaign, sms_engine  # noqa: F401

from core.engine.runs import start_run
from core.models import ChannelEvent, Contact, ContactEvent, ItemStatus
from core.sms_webhooks import InboundSms, Receipt
from webapp.sms_webhooks.feedback import e164, is_stop, record_inbound, record_receipts

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop\n", "STOPP", "abmelden", "STOP ALL", "stop   all", "UNSUBSCRIBE"],
)
def test_stop_words(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["", "Stop the spam please", "stoppen", "Danke", "STOP!!"])
def test_other_texts_are_replies(text):
    assert not is_stop(text)


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("+491712345678", "+491712345678"),
        ("491712345678", "+491712345678"),
        ("01712345678", "+491712345678"),
        ("kein", None),
    ],
)
def test_senders_in_e164(sender, expected):
    assert e164(sender) == expected


def send(engine):
    run = start_run(engine.runtime, sms_campaign(engine, "outbox", {}), confirmed_by="test")
    engine.work()
    return run.id


def test_a_receipt_finds_its_row_by_ledger_reference_or_message_id(sms_engine):  # noqa: F811
    run_id = send(sms_engine)
    items = {item.key: item for item in sms_engine.items(run_id)}
    with sms_engine.runtime.database.session() as session:
        recorded = record_receipts(
            session,
            [
                Receipt(f"run{run_id}-contacts:1", "delivered"),
                Receipt(items["contacts:2"].reference, "undeliverable", NOW),
                Receipt(f"run{run_id}-contacts:3", "pending"),
                Receipt(f"run{run_id}-contacts:4", "delivered"),  # skipped: nothing was sent
                Receipt("run12345678-contacts:1", "delivered"),
            ],
            NOW,
        )
        session.commit()
    assert (recorded.matched, recorded.unknown) == (3, 2)
    after = {
        item.key: (item.status, item.delivery, item.delivery_at)
        for item in sms_engine.items(run_id)
    }
    assert after["contacts:1"] == (ItemStatus.DONE, "delivered", NOW)
    assert after["contacts:2"] == (ItemStatus.DONE, "undeliverable", NOW)
    assert after["contacts:3"][1:] == (None, None)
    assert after["contacts:4"][1:] == (None, None)


def test_a_reference_naming_a_run_beyond_the_id_column_is_unknown_not_an_error(sms_engine):  # noqa: F811
    with sms_engine.runtime.database.session() as session:
        recorded = record_receipts(
            session,
            [
                Receipt("run99999999999-contacts:1", "delivered"),
                Receipt("run" + "9" * 18 + "-contacts:1", "delivered"),
                Receipt("run\u0661\u0662-contacts:1", "delivered"),
            ],
            NOW,
        )
        session.commit()
    assert (recorded.matched, recorded.unknown) == (0, 3)


def events(engine):
    with engine.runtime.database.session() as session:
        consent = session.execute(
            select(ContactEvent.contact_id, ContactEvent.field, ContactEvent.run_id).order_by(
                ContactEvent.contact_id
            )
        ).all()
        channel = session.execute(
            select(
                ChannelEvent.contact_id,
                ChannelEvent.kind,
                ChannelEvent.address,
                ChannelEvent.detail,
                ChannelEvent.run_id,
            )
        ).all()
        flags = dict(session.execute(select(Contact.id, Contact.opt_out_sms)).all())
    return consent, channel, flags


def test_stop_opts_out_every_contact_with_the_number_with_the_latest_run(sms_engine):  # noqa: F811
    send(sms_engine)
    latest = send(sms_engine)
    with sms_engine.runtime.database.session() as session:  # a second contact, typed otherwise
        session.execute(update(Contact).where(Contact.id == 4).values(mobile="+49 171 234 5678"))
        kind = record_inbound(
            session,
            InboundSms("491712345678", " Stop "),
            source="sms:outbox",
            sms_actions=["sms"],
            now=NOW,
        )
        session.commit()
    assert kind == "unsubscribed"
    consent, channel, flags = events(sms_engine)
    assert consent == [(1, "opt_out_sms", latest), (4, "opt_out_sms", latest)]
    assert channel == []
    assert [contact for contact, opted_out in flags.items() if opted_out] == [1, 4]


def test_replies_and_unknown_numbers_are_kept(sms_engine):  # noqa: F811
    run_id = send(sms_engine)
    with sms_engine.runtime.database.session() as session:
        kinds = [
            record_inbound(session, message, source="sms:outbox", sms_actions=["sms"], now=NOW)
            for message in (
                InboundSms("+4917612345678", "Wann öffnet der Laden?"),
                InboundSms("+4915199999999", "STOP"),
                InboundSms("Anbieter", "Ihr Guthaben"),
            )
        ]
        session.commit()
    assert kinds == ["replied", "unsubscribed", "replied"]
    consent, channel, flags = events(sms_engine)
    assert consent == []
    assert sorted(channel, key=str) == sorted(
        [
            (3, "replied", "+4917612345678", "Wann öffnet der Laden?", run_id),
            (None, "unsubscribed", "+4915199999999", "STOP", None),
            (None, "replied", "Anbieter", "Ihr Guthaben", None),
        ],
        key=str,
    )
    assert not any(flags.values())
