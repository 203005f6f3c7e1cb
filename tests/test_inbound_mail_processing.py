"""What the inbound mailbox says lands on the contacts: hard bounces mark the address
undeliverable, soft bounces count up to the limit, unsubscribe mails opt out, the rest is kept
for a person; each with the run it answered, and nothing twice (maildir on both backends)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.config import Settings
from core.messaging.bounces import make_bounce_token, verp_address
from core.messaging.unsubscribe import make_token
from core.models import Campaign, ChannelEvent, Contact, ContactEvent, Run, RunItem
from core.plugin_base import Channel
from core.reach import SkipReason, skip_reason
from plugins.workflows import TRANSLATIONS
from plugins.workflows.inbound_mail.classification import Kind
from plugins.workflows.inbound_mail.mailboxes import Maildir
from plugins.workflows.inbound_mail.models import InboundMail
from plugins.workflows.inbound_mail.processing import InboundResult, process_mailbox
from webapp.run_feedback import feedback_counts

from mail_samples import auto_reply, dsn, exim_bounce, postfix_text_bounce, reply, unsubscribe_mail
from panel_helpers import detail_in

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
BOUNCES = "bounces@example.de"
MAILTO = "abmelden@example.de"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, bounce_address=BOUNCES, unsubscribe_mailto=MAILTO)


@pytest.fixture
def maildir(tmp_path) -> Maildir:
    return Maildir(tmp_path / "inbound")


@pytest.fixture
def people(database):
    """Two contacts and a run that e-mailed both (ledger rows with their Message-IDs)."""
    with database.session() as session:
        campaign = Campaign(name="Neuigkeiten", datasource="query", action="email")
        session.add(campaign)
        session.flush()
        run = Run(campaign_id=campaign.id, number=1, config={})
        erika = Contact(number="K-1", last_name="Muster", email="Erika@example.org", attributes={})
        max_ = Contact(number="K-2", last_name="Mann", email="max@example.org", attributes={})
        session.add_all([run, erika, max_])
        session.flush()
        for contact in (erika, max_):
            session.add(
                RunItem(
                    run_id=run.id,
                    key=f"contacts:{contact.id}",
                    action="email",
                    entity="contacts",
                    entity_id=contact.id,
                    reference=message_id(run.id, contact.id),
                )
            )
        return run.id, erika.id, max_.id


def message_id(run_id: int, contact_id: int) -> str:
    return f"<run{run_id}-contacts=3A{contact_id}.18a2b@example.de>"


def deliver(maildir: Maildir, *messages: bytes) -> None:
    for index, data in enumerate(messages):
        name = f"{datetime.now().timestamp():.6f}.{index}.test"
        (maildir.path / "tmp" / name).write_bytes(data)
        (maildir.path / "tmp" / name).rename(maildir.path / "new" / name)


def process(database, settings, maildir):
    return process_mailbox(database, settings, maildir, NOW)


def contact_state(database, contact_id):
    with database.session() as session:
        contact = session.get(Contact, contact_id)
        events = session.execute(
            select(ContactEvent.field, ContactEvent.source, ContactEvent.run_id)
            .where(ContactEvent.contact_id == contact_id)
            .order_by(ContactEvent.id)
        ).all()
        data = {"email": contact.email, "email_undeliverable": contact.email_undeliverable}
        return skip_reason(data, Channel.EMAIL), contact.opt_out_email, [tuple(e) for e in events]


NONE_ELSE = "0 hard bounces, 0 soft bounces, 0 delay notices, 0 auto-replies, 0 unsubscribe mails"
KEINE_SONST = (
    "0 harte Rückläufer, 0 weiche Rückläufer, 0 Verzögerungsmeldungen, "
    "0 automatische Antworten, 0 Abmeldemails"
)


def results_in_german(database) -> list[str]:
    """What the pass did with each mail, as the mail's page says it in German."""
    with database.session() as session:
        details = session.scalars(select(InboundMail.detail).order_by(InboundMail.id)).all()
    return [detail_in("de", detail, TRANSLATIONS) for detail in details]


@pytest.mark.parametrize(
    ("count", "english", "german"),
    [
        (1, f"1 message read; {NONE_ELSE}, 1 contact reply, 0 kept for a person",
         f"1 Nachricht gelesen; {KEINE_SONST}, 1 Antwort eines Kontakts, "
         "0 zur Durchsicht behalten"),
        (3, f"3 messages read; {NONE_ELSE}, 3 contact replies, 0 kept for a person",
         f"3 Nachrichten gelesen; {KEINE_SONST}, 3 Antworten von Kontakten, "
         "0 zur Durchsicht behalten"),
    ],
)  # fmt: skip
def test_a_pass_summary_counts_in_the_readers_language(count, english, german):
    """No "message(s)": each count in its form, in English and in German."""
    assert InboundResult(Counter({Kind.REPLY: count})).summary() == english
    assert detail_in("de", english, TRANSLATIONS) == german
    assert detail_in("en", english, TRANSLATIONS) == english


def test_a_hard_bounce_to_the_verp_address_marks_the_address_undeliverable(
    database, settings, maildir, people
):
    run_id, erika, max_ = people
    to = verp_address(BOUNCES, make_bounce_token(settings.secret_key, run_id, erika))
    deliver(maildir, dsn(to, "erika@example.org", "5.1.1"))
    result = process(database, settings, maildir)
    assert result.counts == {"hard_bounce": 1}
    assert contact_state(database, erika) == (
        SkipReason.EMAIL_UNDELIVERABLE,
        False,
        [("email_undeliverable", "bounce", run_id)],
    )
    assert contact_state(database, max_) == (None, False, [])
    assert list((maildir.path / "new").iterdir()) == []
    assert [path.name.endswith(":2,S") for path in (maildir.path / "cur").iterdir()] == [True]
    with database.session() as session:
        (row,) = session.scalars(select(InboundMail))
        assert (row.kind, row.status, row.contact_id, row.run_id, row.raw) == (
            "hard_bounce",
            "5.1.1",
            erika,
            run_id,
            None,
        )
        (event,) = session.scalars(select(ChannelEvent))  # on the contact page, in the rates
        assert (event.contact_id, event.kind, event.channel, event.run_id) == (
            erika,
            "bounced",
            "email",
            run_id,
        )
        assert feedback_counts(session, [run_id])[run_id].bounced == 1
        session.get(Contact, erika).email = "erika.neu@example.org"
    assert contact_state(database, erika)[0] is None  # a new address is reachable again


def test_bounces_without_verp_are_matched_by_the_returned_message_id(
    database, settings, maildir, people
):
    run_id, erika, max_ = people
    deliver(
        maildir,
        postfix_text_bounce(BOUNCES, "erika@example.org", message_id(run_id, erika)),
        dsn(BOUNCES, "max@example.org", "5.2.1", original_message_id=message_id(run_id, max_)),
    )
    assert process(database, settings, maildir).counts == {"hard_bounce": 2}
    for contact in (erika, max_):
        assert contact_state(database, contact)[0] is SkipReason.EMAIL_UNDELIVERABLE


def test_soft_bounces_count_and_the_limit_makes_them_hard(database, settings, maildir, people):
    run_id, erika, _ = people
    settings = dataclasses.replace(settings, soft_bounce_limit=3)
    original = message_id(run_id, erika)
    for expected in (None, None, SkipReason.EMAIL_UNDELIVERABLE):
        deliver(maildir, exim_bounce(BOUNCES, "erika@example.org", original))
        assert process(database, settings, maildir).counts == {"soft_bounce": 1}
        assert contact_state(database, erika)[0] is expected
    assert contact_state(database, erika)[2] == [
        ("email_soft_bounce", "bounce", run_id),
        ("email_soft_bounce", "bounce", run_id),
        ("email_soft_bounce", "bounce", run_id),
        ("email_undeliverable", "soft_bounces", run_id),
    ]
    assert results_in_german(database) == [
        "Weicher Rückläufer 1 von 3",
        "Weicher Rückläufer 2 von 3",
        "„erika@example.org“ als unzustellbar markiert",
    ]
    deliver(maildir, exim_bounce(BOUNCES, "erika@example.org", original))
    process(database, settings, maildir)
    already = "„erika@example.org“ war schon als unzustellbar markiert"
    assert results_in_german(database)[-1] == already


def test_a_delay_notice_and_an_auto_reply_change_nothing(database, settings, maildir, people):
    run_id, erika, _ = people
    to = verp_address(BOUNCES, make_bounce_token(settings.secret_key, run_id, erika))
    deliver(
        maildir,
        dsn(to, "erika@example.org", "4.4.1", action="delayed"),
        auto_reply("erika@example.org", MAILTO),
    )
    assert process(database, settings, maildir).counts == {"delayed": 1, "auto_reply": 1}
    assert contact_state(database, erika) == (None, False, [])


def test_unsubscribe_mails_opt_out_by_token_or_by_sender(database, settings, maildir, people):
    run_id, erika, max_ = people
    token = make_token(settings.secret_key, erika, run_id, Channel.EMAIL, NOW)
    deliver(
        maildir,
        unsubscribe_mail("someone.else@example.net", MAILTO, f"unsubscribe {token}"),
        unsubscribe_mail("Max <MAX@example.org>", MAILTO),
    )
    assert process(database, settings, maildir).counts == {"unsubscribe": 2}
    assert contact_state(database, erika) == (
        None,
        True,
        [("opt_out_email", "unsubscribe_mail", run_id)],
    )
    assert contact_state(database, max_) == (
        None,
        True,
        [("opt_out_email", "unsubscribe_mail", None)],
    )
    assert results_in_german(database) == ["1 Kontakt hat E-Mails abbestellt"] * 2


def test_unmatched_mail_is_kept_with_its_bytes_and_nothing_is_processed_twice(
    database, settings, maildir, people
):
    stranger = unsubscribe_mail("stranger@example.net", MAILTO)
    forged = dsn(verp_address(BOUNCES, "1-2-aaaaaaaaaaaaaaaa"), "erika@example.org")
    answer = reply("erika@example.org", "service@example.de", "Rufen Sie mich bitte an")
    deliver(maildir, stranger, forged, answer)
    # a person's reply from a contact's address is kept too, as that contact's reply
    assert process(database, settings, maildir).counts == {"unmatched": 2, "reply": 1}
    _, erika, _ = people
    with database.session() as session:
        kept = {row.raw for row in session.scalars(select(InboundMail))}
        (replied,) = session.scalars(select(ChannelEvent))
        assert (replied.contact_id, replied.kind, replied.detail) == (
            erika,
            "replied",
            "Re: Neuigkeiten",
        )
    assert kept == {stranger, forged, answer}
    assert sorted(results_in_german(database)) == [
        "",  # a reply: its text is the result
        "Abmeldemail von einem unbekannten Absender",
        "Keine Kampagnennachricht zu diesem Rückläufer gefunden",
    ]
    assert contact_state(database, erika) == (None, False, [])

    # the move failed after the commit: the same messages are read again, and only moved
    deliver(maildir, stranger, answer)
    result = process(database, settings, maildir)
    assert (result.counts, result.already) == ({}, 2)
    assert list((maildir.path / "new").iterdir()) == []
    with database.session() as session:
        assert len(session.scalars(select(InboundMail)).all()) == 3
