"""The workflow inboundMail end to end: a real e-mail run through the SMTP server on loopback,
a bounce built for one of the sent messages with its real envelope sender, put into a real
IMAP server (Dovecot on loopback); a pass of the workflow marks the address undeliverable,
and the next run skips that contact with the reason on the run's page."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from sqlalchemy import select
from test_email_action import add_people, email_campaign, items, mailing  # noqa: F401

import plugins.workflows.inbound_mail as inbound_mail
from core.config import Settings
from core.engine.runs import start_run
from core.jobs.functions import install_runtime
from core.models import ContactEvent, ItemStatus, Role, WorkflowRunStatus
from core.workflows.operating import run_inline
from plugins.workflows.inbound_mail.models import InboundMail
from webapp.i18n import item_detail, use_language, workflow_log

from mail_samples import dsn, reply
from panel_helpers import add_role_users, body, build_panel, client_for
from process_helpers import run_pass

BOUNCES = "bounces@kampagne.example.de"


@pytest.fixture
def settings(settings_with_mail: Settings, imap, monkeypatch) -> Settings:
    monkeypatch.setenv("CAMPAIGN_INBOUND_URL", imap.url)  # read by the workflow's pass
    return dataclasses.replace(settings_with_mail, bounce_address=BOUNCES)


@pytest.fixture
def bouncing(mailing):  # noqa: F811
    mailing.runtime.plugins.add(inbound_mail, "plugins.workflows.inbound_mail", "test")
    assert mailing.runtime.plugins.errors == []
    install_runtime(mailing.runtime)
    return mailing


def send(engine, **settings) -> int:
    run = start_run(engine.runtime, email_campaign(engine, **settings), confirmed_by="test")
    engine.work()
    return run.id


def test_a_bounce_of_a_sent_message_makes_the_next_run_skip_the_contact(bouncing, smtp, imap):
    erika, max_ = add_people(
        bouncing,
        [{"email": "erika@example.org"}, {"email": "max@example.org", "first_name": "Max"}],
    )
    first = send(bouncing)
    sent = {received.recipients[0]: received for received in smtp.messages}
    envelope = sent["erika@example.org"].sender
    assert envelope.startswith("bounces+") and envelope.endswith("@kampagne.example.de")
    assert sent["max@example.org"].sender not in (envelope, BOUNCES)
    original = sent["erika@example.org"].message["Message-ID"]
    imap.deliver(
        dsn(envelope, "erika@example.org", "5.1.1", original_message_id=original),
        reply("max@example.org", "service@example.de", "Bitte rufen Sie mich an"),
    )

    summary = run_pass("inboundMail")
    assert summary.startswith("2 messages read; 1 hard bounce")
    assert "1 contact reply, 0 kept for a person" in summary  # Max's reply, his event
    assert (imap.count("INBOX"), imap.count("Processed")) == (0, 2)
    assert run_pass("inboundMail").startswith("0 messages read")  # nothing twice
    with bouncing.runtime.database.session() as session:
        events = session.execute(
            select(ContactEvent.contact_id, ContactEvent.field, ContactEvent.run_id)
        ).all()
        assert events == [(erika, "email_undeliverable", first)]
        kinds = dict(session.execute(select(InboundMail.kind, InboundMail.contact_id)).all())
        assert kinds == {"hard_bounce": erika, "reply": max_}  # kept, and his reply

    smtp.messages.clear()
    second = send(bouncing, subject="Noch mehr Neuigkeiten")
    assert [received.recipients[0] for received in smtp.messages] == ["max@example.org"]
    row = items(bouncing, second)[f"contacts:{erika}"]
    assert (row.status, row.detail) == (ItemStatus.SKIPPED, "reach.email_undeliverable")

    app = build_panel(bouncing.runtime.settings)
    try:
        add_role_users(app.extensions["campaign"].database)
        viewer = client_for(app, Role.VIEWER)
        campaign_id = bouncing.run(second).campaign_id
        page = body(viewer.get(f"/campaigns/{campaign_id}/runs/{second}?status=skipped"))
        assert "E-Mail-Adresse unzustellbar" in page
        contact_page = body(viewer.get(f"/contacts/{erika}"))
        assert "Rückläufer" in contact_page
        assert f'data-run="{first}"' in contact_page
    finally:
        app.extensions["campaign"].database.dispose()


def test_a_mailbox_that_cannot_be_read_is_logged_and_failed_in_the_readers_language(
    bouncing, imap, monkeypatch
):
    monkeypatch.setenv("CAMPAIGN_INBOUND_URL", imap.url.replace("geheim%21", "falsch"))
    run = run_inline(bouncing.runtime, "inboundMail", "test")
    assert run.status == WorkflowRunStatus.FAILED

    app = build_panel(bouncing.runtime.settings)
    try:
        with app.test_request_context():
            use_language("de")
            (line,) = workflow_log(run.log_messages, run.log)
            error = item_detail(run.error_line)
    finally:
        app.extensions["campaign"].database.dispose()
    refusal = f"das Postfach „127.0.0.1:{imap.port}“ lässt sich nicht lesen: "
    assert line.startswith(f"das Postfach kann nicht gelesen werden: {refusal}")
    assert error.startswith(f"plugins.workflows.inbound_mail.mailboxes.MailboxError: {refusal}")
    assert run.log[0].startswith(
        f"the mailbox cannot be read: cannot read the mailbox at '127.0.0.1:{imap.port}': "
    )


def test_a_bad_inbound_mailbox_stops_a_command_as_it_starts(tmp_path):
    env = {**os.environ, "CAMPAIGN_DATA_DIR": str(tmp_path), "CAMPAIGN_INBOUND_URL": "pop3://u@h"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "plugins"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "CAMPAIGN_INBOUND_URL: 'pop3://u@h' is not a maildir://" in result.stderr
    disabled = {**env, "CAMPAIGN_DISABLE_PLUGINS": "plugins.workflows.inbound_mail"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "plugins"], env=disabled, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
