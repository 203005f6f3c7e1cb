"""One-click unsubscription: the headers of every campaign e-mail (through a real SMTP
server on loopback), the signed tokens, and the public page of the real panel that opts the
contact out, recorded with the run, so that the next e-mail run skips them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from test_email_action import add_people, email_campaign, items, mailing  # noqa: F401

from core.clock import utcnow
from core.engine.runs import start_run
from core.messaging.unsubscribe import InvalidToken, _signature, make_token, read_token
from core.models import Contact, ContactEvent, ItemStatus, Role
from core.plugin_base import Channel

from panel_helpers import add_role_users, body, build_panel, client_for, shown_details

SECRET = "test-secret-key"
FOOTER = "Hallo {{ first_name }}\nAbmelden: {{ unsubscribe_url }}"
PUBLIC_URL = "https://kampagne.example.de"


@pytest.fixture
def settings(settings_with_mail):
    return settings_with_mail


@pytest.fixture
def app(settings, mailing):  # noqa: F811 (the e-mail tests' engine, on the same database)
    app = build_panel(settings)
    yield app
    app.extensions["campaign"].database.dispose()


def send(engine, **settings) -> int:
    run = start_run(
        engine.runtime, email_campaign(engine, text=FOOTER, **settings), confirmed_by="test"
    )
    engine.work()
    return run.id


def link_path(message) -> str:
    """The path of the HTTPS link in the List-Unsubscribe header."""
    first = message["List-Unsubscribe"].split(",")[0].strip()
    url = first.removeprefix("<").removesuffix(">")
    assert url.startswith(f"{PUBLIC_URL}/u/")
    return urlsplit(url).path


def flags_and_events(engine, contact_id):
    with engine.runtime.database.session() as session:
        contact = session.get(Contact, contact_id)
        events = session.execute(
            select(
                ContactEvent.field,
                ContactEvent.new_value,
                ContactEvent.actor,
                ContactEvent.source,
                ContactEvent.run_id,
            ).where(ContactEvent.contact_id == contact_id)
        ).all()
        return contact.opt_out_email, events


def test_one_click_post_opts_out_records_the_run_and_the_next_run_skips(mailing, smtp, app):  # noqa: F811
    erika, max_ = add_people(
        mailing, [{"email": "erika@example.de"}, {"email": "max@example.de", "first_name": "Max"}]
    )
    run_id = send(mailing)
    inbox = {received.recipients[0]: received.message for received in smtp.messages}
    message = inbox["erika@example.de"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = link_path(message)
    assert message["List-Unsubscribe"].endswith(  # the mailto's subject carries the token
        f", <mailto:abmelden@example.de?subject=unsubscribe%20{path.removeprefix('/u/')}>"
    )
    assert path != link_path(inbox["max@example.de"])
    footer = message.get_body(("plain",)).get_content()
    assert f"Abmelden: {PUBLIC_URL}{path}" in footer

    client = app.test_client()
    for _ in range(2):  # the provider's POST, then the recipient's click: harmless twice
        response = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert "Abgemeldet" in body(response)
    assert flags_and_events(mailing, erika) == (
        True,
        [("opt_out_email", True, "unsubscribe link", "unsubscribe_link", run_id)],
    )
    assert flags_and_events(mailing, max_) == (False, [])

    add_role_users(app.extensions["campaign"].database)
    viewer = client_for(app, Role.VIEWER)
    run_page = body(viewer.get(f"/campaigns/{mailing.run(run_id).campaign_id}/runs/{run_id}"))
    assert 'data-field="unsubscribed">1<' in run_page
    contact_page = body(viewer.get(f"/contacts/{erika}"))
    assert "Abmeldelink in einer E-Mail" in contact_page
    assert f'data-run="{run_id}"' in contact_page

    smtp.messages.clear()
    next_run = send(mailing, subject="Noch mehr Neuigkeiten")
    assert [received.recipients[0] for received in smtp.messages] == ["max@example.de"]
    skipped = items(mailing, next_run)[f"contacts:{erika}"]
    assert (skipped.status, skipped.detail) == (ItemStatus.SKIPPED, "reach.opt_out_email")


def test_the_page_asks_in_the_recipients_language_and_reveals_nothing(mailing, smtp, app):  # noqa: F811
    (contact,) = add_people(
        mailing, [{"email": "jane@example.de", "first_name": "Jane", "language": "en"}]
    )
    send(mailing)
    path = link_path(smtp.messages[0].message)
    client = app.test_client()

    page = client.get(path)
    assert page.status_code == 200
    html = body(page)
    assert "Unsubscribe from e-mails" in html
    for personal in ("Jane", "jane@example.de", "Weiß", "Köln", "K-0000"):
        assert personal not in html
    assert flags_and_events(mailing, contact) == (False, [])  # looking changes nothing
    assert 'name="List-Unsubscribe" value="One-Click"' in html

    done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # the page's button
    assert done.status_code == 200
    assert "You will receive no more marketing e-mails" in body(done)
    assert flags_and_events(mailing, contact)[0] is True


@pytest.mark.parametrize(
    "change",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token: "9" + token,  # another contact, same signature
        lambda token: "kein-token",
        lambda token: "ä.ö",
    ],
)
def test_a_changed_token_gets_a_400_page_and_changes_nothing(mailing, smtp, app, change):  # noqa: F811
    (contact,) = add_people(mailing, [{"email": "erika@example.de"}])
    send(mailing)
    token = link_path(smtp.messages[0].message).removeprefix("/u/")
    client = app.test_client()
    for response in (
        client.get(f"/u/{change(token)}"),
        client.post(f"/u/{change(token)}", data={"List-Unsubscribe": "One-Click"}),
    ):
        assert response.status_code == 400
        assert "Ungültiger Abmeldelink" in body(response)
    assert client.post(f"/u/{token}", data={}).status_code == 400  # no one-click body
    assert flags_and_events(mailing, contact) == (False, [])


def test_a_token_names_one_contact_and_expires_after_400_days():
    now = utcnow()
    token = make_token(SECRET, 12, 7, Channel.EMAIL, issued=now)
    found = read_token(SECRET, token, now=now + timedelta(days=399))
    assert (found.contact_id, found.channel, found.run_id) == (12, Channel.EMAIL, 7)
    assert token != make_token(SECRET, 13, 7, Channel.EMAIL, issued=now)
    with pytest.raises(InvalidToken, match="expired"):
        read_token(SECRET, token, now=now + timedelta(days=401))
    with pytest.raises(InvalidToken, match="not genuine"):
        read_token("another installation", token, now=now)
    contact, rest = token.split(".", 1)
    with pytest.raises(InvalidToken, match="not genuine"):
        read_token(SECRET, f"{int(contact, 36) + 1:x}.{rest}", now=now)


def test_expired_link_gets_the_400_page(mailing, app):  # noqa: F811
    (contact,) = add_people(mailing, [{"email": "erika@example.de"}])
    old = make_token(SECRET, contact, None, issued=utcnow() - timedelta(days=401))
    response = app.test_client().post(f"/u/{old}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert flags_and_events(mailing, contact) == (False, [])


def test_without_a_public_url_no_mail_goes_out_and_the_reason_is_given(
    mailing,  # noqa: F811
    smtp,
    panel_app,
):
    mailing.runtime.settings = dataclasses.replace(mailing.runtime.settings, public_url=None)
    (contact,) = add_people(mailing, [{"email": "erika@example.de"}])
    run_id = send(mailing)
    row = items(mailing, run_id)[f"contacts:{contact}"]
    assert row.status == ItemStatus.FAILED
    assert "CAMPAIGN_PUBLIC_URL is not set" in row.detail
    assert shown_details(panel_app, "de", [row.detail]) == [
        "CAMPAIGN_PUBLIC_URL ist nicht gesetzt, daher kann kein Abmeldelink gebaut werden; "
        "für Kampagnen-E-Mails die öffentliche Adresse des Panels setzen"
    ]
    assert smtp.messages == []


def test_a_signed_token_naming_an_impossible_row_is_invalid_not_an_error():
    # only this installation's key signs tokens, but a mistake elsewhere must not end in a 500
    now = utcnow()
    for contact_id, run_id in ((2**31, None), (12, 2**31), (10**30, 10**30)):
        with pytest.raises(InvalidToken, match="no row"):
            read_token(SECRET, make_token(SECRET, contact_id, run_id, issued=now), now=now)
    payload = "c.7.fax.1"  # signed, but not as make_token writes one
    with pytest.raises(InvalidToken, match="malformed"):
        read_token(SECRET, f"{payload}.{_signature(SECRET, payload)}", now=now)
