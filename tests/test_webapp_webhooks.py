"""The webhooks screen (administrators only): register a URL with its events (the secret
shown once), the SSRF check's refusal next to the field, allowed internal hosts, and the
deliveries with every attempt, in German."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from core.audit import audit_query
from core.clock import utcnow
from core.events import DomainEvent, record_events
from core.models import Role
from plugins.webhooks.models import Webhook, WebhookAllowedHost
from plugins.webhooks.service import dispatch_due

from panel_helpers import body, field_errors, post


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback HTTP server that answers 204 and keeps the bodies."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_port}/in", bodies
    server.shutdown()
    server.server_close()


def test_only_administrators_see_webhooks(panel):
    manager = panel.client(Role.CAMPAIGN_MANAGER)
    assert manager.get("/admin/webhooks/").status_code == 403
    assert 'href="/admin/webhooks/"' not in body(manager.get("/"))
    assert 'href="/admin/webhooks/"' in body(panel.client(Role.ADMIN).get("/")), "in the menu"
    html = body(panel.client(Role.ADMIN).get("/admin/webhooks/"))
    assert "Noch kein Webhook registriert." in html and "Lauf gestartet" in html


def test_a_webhook_for_an_internal_host_needs_the_host_allowed_first(panel, receiver):
    url, _bodies = receiver
    admin = panel.client(Role.ADMIN)

    refused = post(admin, "/admin/webhooks/", {"url": url, "events": ["contact.unsubscribed"]})
    assert refused.status_code == 422
    assert field_errors(unescape(body(refused)), "url") == [
        "localhost zeigt auf 127.0.0.1, eine Loopback-, private, link-lokale oder reservierte "
        "Adresse. Erlauben Sie den Host unten, wenn der Empfänger intern ist."
    ]
    assert url in body(refused), "what was typed stays"
    none = post(admin, "/admin/webhooks/", {"url": "https://hooks.example.org/"})
    assert field_errors(body(none), "events") == ["Wählen Sie mindestens ein Ereignis."]

    assert post(admin, "/admin/webhooks/hosts", {"host": "LocalHost"}).status_code == 302
    twice = post(admin, "/admin/webhooks/hosts", {"host": "localhost"})
    assert field_errors(body(twice), "host") == ["localhost ist bereits erlaubt."]
    created = body(post(admin, "/admin/webhooks/", {"url": url, "events": ["run.started"]}))
    with panel.runtime.database.session() as session:
        webhook = session.scalars(select(Webhook)).one()
        assert webhook.events == ["run.started"] and webhook.secret in created
        assert [entry.action for entry in session.scalars(audit_query())][:2] == [
            "webhook.create",
            "webhook.allow_host",
        ]
    assert webhook.secret not in body(admin.get("/admin/webhooks/")), "shown once"


def test_overlong_webhook_input_is_refused_at_its_field_and_stores_nothing(panel):
    admin = panel.client(Role.ADMIN)
    url = "https://hooks.example.org/" + "a" * 2000
    long_url = post(admin, "/admin/webhooks/", {"url": url, "events": ["run.started"]})
    assert long_url.status_code == 422
    assert field_errors(body(long_url), "url") == ["Höchstens 2000 Zeichen."]
    long_host = post(admin, "/admin/webhooks/hosts", {"host": "h" * 2001})
    assert long_host.status_code == 422
    assert field_errors(body(long_host), "host") == ["Höchstens 2000 Zeichen."]
    with panel.runtime.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Webhook)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookAllowedHost)) == 0


def test_deliveries_and_their_attempts_are_visible(panel, receiver):
    url, bodies = receiver
    admin = panel.client(Role.ADMIN)
    post(admin, "/admin/webhooks/hosts", {"host": "localhost"})
    post(admin, "/admin/webhooks/", {"url": url, "events": ["delivery.state_changed"]})
    with panel.runtime.database.session() as session:
        webhook_id = session.scalar(select(Webhook.id))
    post(admin, f"/admin/webhooks/{webhook_id}/enabled", {"enabled": "false"})
    assert "Ausgeschaltet" in body(admin.get("/admin/webhooks/"))
    post(admin, f"/admin/webhooks/{webhook_id}/enabled", {"enabled": "true"})

    with panel.runtime.database.session() as session:
        changed = DomainEvent("delivery.state_changed", {"delivery_id": 1}, utcnow())
        record_events(session, [changed])
    assert dispatch_due(panel.runtime) == 1
    panel.work()

    html = body(admin.get("/admin/webhooks/"))
    assert "Zustand einer Aussendung geändert" in html and "Zugestellt" in html
    assert "Antwort HTTP 204" in html
    assert len(bodies) == 1

    assert post(admin, f"/admin/webhooks/{webhook_id}/delete").status_code == 302
    assert "Noch keine Zustellungen." in body(admin.get("/admin/webhooks/"))
