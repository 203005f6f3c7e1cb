"""The webhooks plugin switched off (``CAMPAIGN_DISABLE_PLUGINS=plugins.webhooks``): its
tables, screen and menu entry are absent, and the events the core and the process bundle
record reach no one while runs, contacts and deliveries work as before."""

from __future__ import annotations

from sqlalchemy import inspect, select

from core.contact_events import set_consent
from core.db.database import Database
from core.db.schema import downgrade
from core.migrations.webhook_tables import TABLES
from core.models import Contact, ContactEvent, Role
from core.plugins import PluginHost, load_plugins
from core.testing import Testbed
from plugins.processes.models import Delivery, DeliveryChannel, DeliveryState

from panel_helpers import body, open_panel


def without_webhooks() -> PluginHost:
    plugins = load_plugins(disabled=["plugins.webhooks"])
    assert not plugins.errors, plugins.errors
    return plugins


def drop_webhook_tables(database_url: str) -> None:
    """As a new database has them with the plugin disabled: not at all."""
    database = Database(database_url)
    downgrade(database.engine, "webhooks@base")
    assert not set(TABLES) & set(inspect(database.engine).get_table_names())
    database.dispose()


def test_without_the_plugin_neither_the_screen_nor_the_menu_entry_exists(settings, redis_url):
    drop_webhook_tables(settings.database_url)
    for panel in open_panel(settings, without_webhooks()):
        admin = panel.client(Role.ADMIN)
        assert 'href="/admin/webhooks/"' not in body(admin.get("/"))
        assert 'href="/admin/webhooks/"' not in body(admin.get("/admin/"))
        assert admin.get("/admin/webhooks/").status_code == 404


def test_without_the_plugin_runs_contacts_and_deliveries_work(campaign_settings):
    import engine_plugins

    drop_webhook_tables(campaign_settings.database_url)
    plugins = without_webhooks()
    plugins.add(engine_plugins, "engine_plugins", "test")
    testbed = Testbed.start(campaign_settings, plugins)
    try:
        (contact_id,) = testbed.add_contacts({"last_name": "Ahrens"})
        campaign = testbed.create_campaign("test_contacts", "test_tag")
        assert testbed.run(campaign, confirmed_by="test").state == "completed"
        with testbed.database.session() as session:
            contact = session.get(Contact, contact_id)
            set_consent(session, contact, {"opt_out_email": True}, actor="a", source="panel")
            delivery = Delivery(campaign_id=campaign, label="Brief", channel=DeliveryChannel.EMAIL)
            session.add(delivery)
            session.flush()
            delivery.move_to(DeliveryState.APPROVED, testbed.runtime.clock.now())
        with testbed.database.session() as session:
            assert session.scalar(select(ContactEvent.field)) == "opt_out_email"
            assert session.scalar(select(Delivery.state)) == DeliveryState.APPROVED
    finally:
        testbed.close()
