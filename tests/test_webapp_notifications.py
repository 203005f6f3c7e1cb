"""The user's notifications through the Flask test client, on SQLite and PostgreSQL: only
their own, the unread count in the top bar, links to what they are about, marking read, the
link of a notification e-mail, and a list of 100,000 rows paged from the index."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, insert, select

from core.models import Campaign, Notification, Role, Run, RunState
from core.notifications import open_url
from webapp.testing import login

from panel_helpers import PASSWORD, ROLE_USERS, body, post
from process_panel_helpers import audit_actions, user_id


def note(panel, user: int, subject: str, **fields) -> int:
    values = {"kind": "stock_alert", "created_at": panel.runtime.clock.now()} | fields
    with panel.runtime.database.session() as session:
        row = Notification(user_id=user, subject=subject, **values)
        session.add(row)
        session.flush()
        return row.id


def a_run(panel) -> Run:
    with panel.runtime.database.session() as session:
        campaign = Campaign(name="Rundbrief", datasource="query", action="print_reports")
        run = Run(campaign=campaign, number=1, config={}, state=RunState.AWAITING_CONFIRMATION)
        session.add(run)
        session.flush()
        session.expunge(run)
        return run


def test_the_user_sees_their_own_notifications_with_links_and_the_unread_count(panel):
    rita = user_id(panel, Role.REVIEWER)
    note(
        panel,
        rita,
        "Approval needed: content of delivery 'Brief'",
        kind="approval_request",
        object_type="delivery",
        object_id=7,
    )
    note(panel, rita, "Stock low", object_type="stock_line", object_id=3, body="Kuvert DL")
    note(panel, rita, "Old news", read_at=panel.runtime.clock.now())
    run = a_run(panel)
    note(panel, rita, "Confirm the send", object_type="run", object_id=run.id)
    note(panel, rita, "A run since deleted", object_type="run", object_id=run.id + 1)
    note(panel, user_id(panel, Role.VIEWER), "Not for Rita")
    client = panel.client(Role.REVIEWER)
    html = body(client.get("/notifications/"))
    assert "Not for Rita" not in html
    assert 'href="/deliveries/7"><strong>Approval needed' in html
    assert 'href="/stocks/lines/3"' in html and "Kuvert DL" in html
    assert f'href="/campaigns/{run.campaign_id}/runs/{run.id}"><strong>Confirm the send' in html
    assert "<strong>A run since deleted" in html  # without a link
    assert "Freigabe angefordert" in html and "Lagerwarnung" in html
    assert html.count('class="is-unread"') == 4
    assert 'data-unread="4"' in body(client.get("/"))  # the top bar, on every page
    unread = body(client.get("/notifications/?unread=1"))
    assert "Old news" not in unread and "Stock low" in unread


def test_every_kind_the_workflows_notify_about_is_named_in_german(panel):
    rita = user_id(panel, Role.REVIEWER)
    kinds = {
        "approval_overdue": "Freigabe überfällig",
        "delivery_failed": "Versand fehlgeschlagen",
        "delivery_to_confirm": "Start bestätigen",
        "run_to_confirm": "Versand bestätigen",
        "provider_result": "Ergebnis des Dienstleisters",
        "provider_step_unclear": "Schritt beim Dienstleister unklar",
    }
    for kind in kinds:
        note(panel, rita, f"Betreff {kind}", kind=kind)
    html = body(panel.client(Role.REVIEWER).get("/notifications/"))
    for kind, label in kinds.items():
        assert f'<span class="badge badge-muted">{label}</span>' in html
        assert kind not in html.replace(f"Betreff {kind}", "")


def test_a_stored_notification_reads_in_the_readers_language(panel):
    """Subject and body are kept as messages and shown in the reader's language; a row
    written before notifications were stored that way is shown as written."""
    from core.messages import stored_for
    from core.models import User
    from core.notifications import notify

    stored = stored_for("plugins.processes.approvals")
    rita = user_id(panel, Role.REVIEWER)
    with panel.runtime.database.session() as session:
        notify(
            session,
            kind="approval_request",
            subject=stored(
                "Approval needed: {approval}",
                approval=stored(
                    "{step} of delivery '{delivery}' ({campaign})",
                    step=stored("content"),
                    delivery="Brief",
                    campaign="Herbst",
                ),
            ),
            body=stored("Comment: {comment}", comment="bitte bis Freitag"),
            now=panel.runtime.clock.now(),
            users=[rita],
        )
    note(panel, rita, "Stock low: Kuvert DL")
    client = panel.client(Role.REVIEWER)
    german = body(client.get("/notifications/"))
    assert "Freigabe erforderlich: Inhalt von Versand „Brief“ (Herbst)" in german
    assert "Kommentar: bitte bis Freitag" in german and "Stock low: Kuvert DL" in german
    with panel.runtime.database.session() as session:
        session.get(User, rita).language = "en"
    english = body(client.get("/notifications/"))
    assert "Approval needed: content of delivery &#39;Brief&#39; (Herbst)" in english
    assert "Comment: bitte bis Freitag" in english


def test_marking_read_one_or_all(panel):
    rita = user_id(panel, Role.REVIEWER)
    first = note(panel, rita, "Eins")
    note(panel, rita, "Zwei")
    note(panel, rita, "Drei")
    other = note(panel, user_id(panel, Role.VIEWER), "Fremd")
    client = panel.client(Role.REVIEWER)
    assert post(client, f"/notifications/{other}/read").status_code == 404
    marked = post(client, f"/notifications/{first}/read", {"unread": "1"})
    assert marked.headers["Location"] == "/notifications/?unread=1"
    assert 'data-unread="2"' in body(client.get("/"))
    assert post(client, "/notifications/read-all").status_code == 302
    assert "2 Benachrichtigungen als gelesen markiert." in body(client.get("/notifications/"))
    assert "data-unread" not in body(client.get("/"))
    with panel.runtime.database.session() as session:
        assert session.get(Notification, other).read_at is None
    assert audit_actions(panel) == ["notification.read_all", "notification.read"]
    assert post(panel.client(Role.VIEWER), "/notifications/read-all").status_code == 302


def mailed_link(notification_id: int) -> str:
    """The path of the link a notification e-mail carries."""
    return urlsplit(open_url("https://kampagne.example.de", notification_id)).path


def test_the_link_of_a_notification_mail_marks_it_read_and_opens_what_it_is_about(panel):
    rita = user_id(panel, Role.REVIEWER)
    delivery = note(panel, rita, "Delivery started", object_type="delivery", object_id=7)
    approval = note(panel, rita, "Approval needed", object_type="approval", object_id=3)
    run = a_run(panel)
    confirm = note(panel, rita, "Confirm the send", object_type="run", object_id=run.id)
    gone = note(panel, rita, "A run since deleted", object_type="run", object_id=run.id + 1)
    other = note(panel, user_id(panel, Role.VIEWER), "Not for Rita", object_type="delivery")
    client = panel.client(Role.REVIEWER)

    assert mailed_link(delivery) == f"/notifications/{delivery}/open"
    assert client.get(mailed_link(delivery)).headers["Location"] == "/deliveries/7"
    opened = client.get(mailed_link(confirm))
    assert opened.headers["Location"] == f"/campaigns/{run.campaign_id}/runs/{run.id}"
    assert client.get(mailed_link(gone)).headers["Location"] == "/notifications/"
    assert client.get(mailed_link(delivery)).headers["Location"] == "/deliveries/7"  # again
    assert client.get(mailed_link(approval)).headers["Location"] == "/approvals/3"
    assert "data-unread" not in body(client.get("/"))
    assert audit_actions(panel) == ["notification.read"] * 4  # once each

    assert client.get(mailed_link(other)).status_code == 404
    assert client.get(mailed_link(other + 1)).status_code == 404
    with panel.runtime.database.session() as session:
        assert session.get(Notification, other).read_at is None


def test_the_link_of_a_notification_mail_opens_after_logging_in(panel):
    rita = user_id(panel, Role.REVIEWER)
    notification = note(panel, rita, "Approval needed", object_type="delivery", object_id=7)
    client = panel.app.test_client()

    asked = client.get(mailed_link(notification))
    assert asked.status_code == 302
    login_page = urlsplit(asked.headers["Location"])
    assert login_page.path == "/login"
    [target] = parse_qs(login_page.query)["next"]
    assert target == mailed_link(notification)
    assert f'value="{target}"' in body(client.get(asked.headers["Location"]))

    logged_in = login(client, ROLE_USERS[Role.REVIEWER], PASSWORD, next=target)
    assert logged_in.headers["Location"] == target
    assert client.get(target).headers["Location"] == "/deliveries/7"
    with panel.runtime.database.session() as session:
        assert session.get(Notification, notification).read_at is not None


def test_a_hundred_thousand_notifications_page_from_the_index(panel):
    rita = user_id(panel, Role.REVIEWER)
    now = panel.runtime.clock.now()
    rows = [
        {
            "user_id": rita,
            "kind": "approval_reminder",
            "subject": f"Reminder {number}",
            "body": "",
            "created_at": now - timedelta(minutes=number),
        }
        for number in range(100_000)
    ]
    with panel.runtime.database.session() as session:
        session.execute(insert(Notification), rows)
        assert session.scalar(select(func.count()).select_from(Notification)) == 100_000
    client = panel.client(Role.REVIEWER)
    first = body(client.get("/notifications/"))
    assert "1 bis 25 von 100.000" in first and "Reminder 99999" in first
    deep = body(client.get("/notifications/?page=3000&unread=1"))
    assert "74.976 bis 75.000 von 100.000" in deep and "Reminder 25000" in deep
    assert 'data-unread="100000"' in first
