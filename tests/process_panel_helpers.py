"""Set-up shared by the tests of the panel's process screens: the process world of
``process_helpers`` in the panel's database, deliveries, and the users of the panel."""

from __future__ import annotations

from sqlalchemy import select

from core.audit import audit_query
from core.engine.campaigns import CampaignConfig, create_campaign
from core.models import Contact, Role, User
from plugins.processes.models import Delivery, DeliveryChannel, DeliveryState
from webapp.i18n import set_anonymous_language, stored_text

from panel_helpers import ROLE_USERS
from process_helpers import World, build_world, campaign


def world(panel) -> World:
    with panel.runtime.database.session() as session:
        return build_world(session)


def user_id(panel, role: Role) -> int:
    with panel.runtime.database.session() as session:
        return session.scalar(select(User.id).where(User.username == ROLE_USERS[role]))


def add_campaign(panel, name: str = "Infobrief", **fields) -> int:
    with panel.runtime.database.session() as session:
        return campaign(session, name, **fields).id


def add_delivery(panel, campaign_id: int, label: str = "Brief", **fields) -> int:
    values = {"channel": DeliveryChannel.DIRECT_MAIL} | fields
    with panel.runtime.database.session() as session:
        delivery = Delivery(campaign_id=campaign_id, label=label, **values)
        session.add(delivery)
        session.flush()
        return delivery.id


def audit_actions(panel) -> list[str]:
    with panel.runtime.database.session() as session:
        return [entry.action for entry in session.scalars(audit_query())]


def audit_summaries(panel, language: str) -> list[str]:
    """The audit entries' summaries, newest first, as the audit log shows them in
    ``language``."""
    with panel.runtime.database.session() as session:
        entries = [
            (entry.summary_message, entry.summary) for entry in session.scalars(audit_query())
        ]
    with panel.app.test_request_context():
        set_anonymous_language(language)
        return [stored_text(message, summary) for message, summary in entries]


def confirmable(panel, contacts: int = 3) -> tuple[int, int]:
    """An SMS delivery without a planned start, approved and waiting for confirmation, of a
    campaign over every contact managed by the campaign manager "mia"."""
    with panel.runtime.database.session() as session:
        for n in range(contacts):
            session.add(Contact(number=f"K-{n}", last_name=f"Weiß{n}", attributes={}))
        owner = create_campaign(
            session,
            panel.runtime.plugins,
            CampaignConfig(
                datasource="query",
                datasource_settings={"definition": {"root": "contacts"}},
                action="print_reports",
                action_settings={"report": "Informationsschreiben"},
            ),
            panel.runtime.clock.now(),
            name="Erinnerung",
        )
        owner.manager_id = session.scalar(select(User.id).where(User.username == "mia"))
    delivery_id = add_delivery(panel, owner.id, "SMS", channel=DeliveryChannel.SMS)
    with panel.runtime.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        for state in (DeliveryState.APPROVED, DeliveryState.PENDING_CONFIRMATION):
            delivery.move_to(state, panel.runtime.clock.now())
    return owner.id, delivery_id
