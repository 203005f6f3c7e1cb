"""Every change of a contact's dispatch block or opt-outs is recorded with who and when,
from whichever side it comes: a service, the panel, the CSV contact import."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.contact_events import set_consent
from core.models import Contact, ContactEvent
from webapp.contact_import import import_contacts, plan_contact_import


def events(session, contact_id=None) -> list[tuple]:
    query = select(ContactEvent).order_by(ContactEvent.id)
    if contact_id is not None:
        query = query.where(ContactEvent.contact_id == contact_id)
    return [
        (event.field, event.old_value, event.new_value, event.actor, event.source)
        for event in session.scalars(query)
    ]


def test_a_change_records_old_and_new_value_who_and_when(database):
    at = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    with database.session() as session:
        contact = Contact(number="E-1", last_name="Kurz", attributes={})
        session.add(contact)
        session.flush()
        changes = set_consent(
            session,
            contact,
            {"dispatch_block": True, "opt_out_post": False, "opt_out_email": True},
            actor="mia",
            source="panel",
            at=at,
        )
        assert changes == {"dispatch_block": (False, True), "opt_out_email": (False, True)}
        contact_id = contact.id
    with database.session() as session:
        assert events(session, contact_id) == [
            ("dispatch_block", False, True, "mia", "panel"),
            ("opt_out_email", False, True, "mia", "panel"),
        ]
        assert session.scalar(select(ContactEvent.at)) == at
        contact = session.get(Contact, contact_id)
        assert contact.dispatch_block and contact.opt_out_email
        assert (
            set_consent(session, contact, {"dispatch_block": True}, actor="x", source="panel") == {}
        )
        with pytest.raises(ValueError, match="not a consent flag: city"):
            set_consent(session, contact, {"city": True}, actor="x", source="panel")
    with database.session() as session:
        assert len(events(session, contact_id)) == 2  # no change, no event


def test_the_csv_import_records_the_flags_it_sets_and_changes(database):
    first = (
        "Kundennummer;Nachname;Ort;Versandsperre;Keine Post\n"
        "K-1;Schmidt;Köln;nein;ja\n"
        "K-2;Meier;Bonn;nein;nein\n"
    ).encode()
    with database.session() as session:
        import_contacts(session, plan_contact_import(session, first), actor="mia")
    with database.session() as session:
        ids = dict(session.execute(select(Contact.number, Contact.id)).all())
        assert events(session) == [("opt_out_post", None, True, "mia", "import")]
        assert session.scalar(select(ContactEvent.contact_id)) == ids["K-1"]
    change = b"Kundennummer;Versandsperre;Keine Post\nK-1;ja;nein\nK-2;nein;\n"
    with database.session() as session:
        plan = plan_contact_import(session, change, update_existing=True)
        import_contacts(session, plan, actor="adam")
    with database.session() as session:
        assert events(session, ids["K-1"])[1:] == [
            ("dispatch_block", False, True, "adam", "import"),
            ("opt_out_post", True, False, "adam", "import"),
        ]
        assert events(session, ids["K-2"]) == []  # unchanged, and an empty cell changes nothing
