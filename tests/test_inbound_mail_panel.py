"""The panel's "Inbound e-mail" page on SQLite and PostgreSQL: the mail nobody could match
comes first with its text to read, the bounces link their contact, and only campaign
managers see it."""

from __future__ import annotations

from sqlalchemy import insert

from core.models import Contact, Role
from plugins.workflows.inbound_mail.classification import digest
from plugins.workflows.inbound_mail.models import InboundMail

from mail_samples import reply
from panel_helpers import body


def add(panel, **fields) -> int:
    values = {
        "digest": digest(repr(fields).encode()),
        "received_at": panel.runtime.clock.now(),
    } | fields
    with panel.runtime.database.session() as session:
        mail = InboundMail(**values)
        session.add(mail)
        session.flush()
        return mail.id


def test_unmatched_mail_is_listed_first_and_readable_bounces_link_the_contact(panel):
    with panel.runtime.database.session() as session:
        (erika,) = session.scalars(
            insert(Contact).returning(Contact.id),
            [{"number": "K-7", "first_name": "Erika", "last_name": "Muster", "attributes": {}}],
        )
    raw = reply("fremd@example.net", "service@example.de", "Bitte rufen Sie mich an, Grüße")
    question = add(
        panel,
        kind="unmatched",
        sender="fremd@example.net",
        subject="Re: Neuigkeiten",
        raw=raw,
        size=len(raw),
    )
    bounce = add(
        panel,
        kind="hard_bounce",
        sender="mailer-daemon@mx.example.net",
        subject="Undelivered Mail Returned to Sender",
        status="5.1.1",
        address="erika@example.org",
        contact_id=erika,
        size=2000,
        detail="'erika@example.org' marked undeliverable",
    )
    client = panel.client(Role.CAMPAIGN_MANAGER)
    first = body(client.get("/inbound/"))
    assert f'data-mail="{question}"' in first and f'data-mail="{bounce}"' not in first
    assert "Zur Durchsicht" in first
    text = body(client.get(f"/inbound/{question}"))
    assert "Bitte rufen Sie mich an, Grüße" in text
    bounces = body(client.get("/inbound/?kind=hard_bounce"))
    assert f'href="/contacts/{erika}"' in bounces and "Harter Rückläufer" in bounces
    assert "5.1.1" in bounces
    bounced = body(client.get(f"/inbound/{bounce}"))
    assert "nur bei nicht zugeordneten" in bounced
    assert "<dt>Ergebnis</dt>" in bounced
    assert '<dd id="mail-detail">„erika@example.org“ als unzustellbar markiert</dd>' in bounced
    everything = body(client.get("/inbound/?kind=nonsense"))  # an unknown kind: the default
    assert f'data-mail="{question}"' in everything
    answer = add(panel, kind="reply", sender="k7@example.org", subject="Frage", contact_id=erika)
    shown = body(client.get(f"/inbound/{answer}"))  # one mail's kind, in the singular
    assert '<span class="badge badge-muted">Antwort</span>' in shown
    assert client.get("/inbound/999999").status_code == 404
    assert panel.client(Role.VIEWER).get("/inbound/").status_code == 403
