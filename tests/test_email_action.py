"""The "email" action: settings, and whole campaigns through real workers against a real SMTP
server on loopback (STARTTLS with a self-signed certificate and a login), on SQLite and
PostgreSQL."""

from __future__ import annotations

import collections
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
import test_print_action
from sqlalchemy import insert, select, update
from test_webapp_campaigns import campaign_form

import plugins.actions.email as email_action
import plugins.actions.print_reports as print_reports
import plugins.stores.filesystem as filesystem
from core import SettingsError
from core.clock import FrozenClock
from core.config import DEVELOPMENT_SENDER, Settings
from core.documents.archive import open_store, read_document
from core.engine import dispatch
from core.engine.dispatch import process_chunk, recover_runs
from core.engine.runs import retry_failed, start_run
from core.models import (
    ArchivedDocument,
    Campaign,
    Contact,
    DocumentKind,
    ItemStatus,
    Run,
    RunState,
)
from core.validation import problem_text
from plugins.actions import TRANSLATIONS
from plugins.actions.email import Email
from plugins.demo.default_reports import install_default_reports
from webapp.i18n import render_stored

from panel_helpers import body, browser_form, field_errors, post, shown_details
from smtp_server import mail_env
from waiting import stop_group, wait_for

SUBJECT = "Neuigkeiten für {{ first_name or 'Sie' }} aus {{ city }}"
TEXT = "Hallo {{ first_name }} {{ last_name }},\nwir haben Neuigkeiten.\n{{ campaign.name }}"
HTML = "<p>Hallo <b>{{ first_name }} {{ last_name }}</b>,</p><p>wir haben Neuigkeiten.</p>"


@pytest.fixture
def settings(settings_with_mail: Settings) -> Settings:
    return settings_with_mail


@pytest.fixture
def mailing(engine):
    plugins = engine.runtime.plugins
    for name, module in [
        ("plugins.actions.email", email_action),
        ("plugins.actions.print_reports", print_reports),
        ("plugins.stores.filesystem", filesystem),
        ("printable_contacts", test_print_action),
    ]:
        plugins.add(module, name, "test")
    assert plugins.errors == []
    return engine


def add_people(engine, people: list[dict]) -> list[int]:
    rows = [
        {
            "number": f"K-{index:05d}",
            "first_name": "Erika",
            "last_name": f"Weiß{index}",
            "street": f"Große Straße {index}",
            "postcode": f"{50000 + index}",
            "city": "Köln",
            "attributes": {},
        }
        | person
        for index, person in enumerate(people, start=1)
    ]
    with engine.runtime.database.session() as session:
        return list(session.scalars(insert(Contact).returning(Contact.id), rows))


SHORT = {"subject": "Hallo {{ last_name }}", "text": "Neuigkeiten aus {{ city }}", "html": ""}
"""For the engine's test source, whose records have last_name, email and city only."""


def email_campaign(engine, datasource="test_printable_contacts", name=None, **settings) -> int:
    return engine.campaign(
        action="email",
        action_settings={"subject": SUBJECT, "text": TEXT, "html": HTML} | settings,
        datasource=datasource,
        name=name,
    )


def items(engine, run_id):
    return {item.key: item for item in engine.items(run_id)}


def archived(engine, run_id, kind=DocumentKind.EMAIL) -> list[ArchivedDocument]:
    with engine.runtime.database.session() as session:
        return session.scalars(
            select(ArchivedDocument)
            .where(ArchivedDocument.run_id == run_id, ArchivedDocument.kind == kind)
            .order_by(ArchivedDocument.id)
        ).all()


def stored(engine, document: ArchivedDocument) -> bytes:
    store = open_store(engine.runtime.plugins, engine.runtime.settings, document.store)
    return read_document(store, document)


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"subject": "Hallo {{ first_name }"}, "subject: line 1: syntax error: unexpected '}'"),
        (
            {"html": "<p>\n{% if x %}\n</p>"},
            "html: line 3: syntax error: 'if' is not closed (endif missing)",
        ),
        ({"text": "{{ x|center(9) }}"}, "text: line 1: syntax error: no filter 'center'"),
        ({"text": "", "html": ""}, "give an HTML body, a plain-text body or both"),
        ({"sender": "Kampagne"}, "sender: 'Kampagne' is not an e-mail address"),
        ({"reply_to": "a@b"}, "reply_to: 'a@b' is not an e-mail address"),
        ({"attachment": {}}, "attachment: name the letter's report, campaign or run"),
    ],
)
def test_settings_are_checked_when_the_campaign_is_saved(settings, problem):
    with pytest.raises(SettingsError) as caught:
        Email({"subject": SUBJECT, "text": TEXT} | settings)
    assert problem in str(caught.value)


def test_refused_settings_are_said_in_the_readers_language():
    """The action's own checks through the actions' catalog (the message as the validator
    wrote it), an address through the panel's."""
    catalogs = {Email.__module__: [TRANSLATIONS]}
    with pytest.raises(SettingsError) as caught:
        Email({"subject": SUBJECT, "sender": "Kampagne", "attachment": {}})
    texts = [
        problem_text(field, message, Email.__module__) for field, message in caught.value.problems
    ]
    assert [render_stored(text, "de", catalogs) for text in texts] == [
        "sender: „Kampagne“ ist keine E-Mail-Adresse wie „Name <user@example.de>“",
        "attachment: bitte den Bericht, die Kampagne oder den Lauf des Briefs angeben",
    ]
    with pytest.raises(SettingsError) as caught:
        Email({"subject": SUBJECT})
    ((field, message),) = caught.value.problems
    text = problem_text(field, message, Email.__module__)
    assert render_stored(text, "de", catalogs) == (
        "(settings): bitte einen HTML-Text, einen reinen Text oder beides angeben"
    )
    assert render_stored(text, "en", catalogs) == (
        "(settings): give an HTML body, a plain-text body or both"
    )


def test_the_panel_saves_an_email_without_attachment_and_checks_one_begun(panel):
    """The attachment's sub-form as the browser sends it untouched (its "when missing" select
    has no empty choice) means no attachment; a changed field means one, and it is checked."""
    client = panel.client()
    switched = post(client, "/campaigns/new", campaign_form(action="email", intent=""))
    form = browser_form(body(switched), "act.subject")
    assert form["act.attachment.when_missing"] == "fail"
    form |= {"name": "Newsletter", "act.subject": SUBJECT, "act.text": TEXT, "intent": "save"}
    created = post(client, "/campaigns/new", form)
    assert created.status_code == 302, field_errors(body(created))
    with panel.runtime.database.session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == "Newsletter"))
        campaign_id = campaign.id
        assert campaign.action_settings["attachment"] is None

    setup = f"/campaigns/{campaign_id}/setup"
    form = browser_form(body(client.get(setup)), "act.subject") | {"intent": "save"}
    assert post(client, setup, form).status_code == 302
    begun = post(client, setup, form | {"act.attachment.when_missing": "skip"})
    assert begun.status_code == 422
    assert field_errors(body(begun), "act.attachment") == [
        "bitte den Bericht, die Kampagne oder den Lauf des Briefs angeben"
    ]
    named = form | {"act.attachment.report": "Informationsschreiben"}
    assert post(client, setup, named).status_code == 302
    with panel.runtime.database.session() as session:
        assert session.get(Campaign, campaign_id).action_settings["attachment"] == {
            "report": "Informationsschreiben",
            "campaign": None,
            "run": None,
            "when_missing": "fail",
        }


# --- whole campaigns -----------------------------------------------------------------------


def test_an_email_campaign_reaches_every_valid_address_once(mailing, smtp, panel_app):
    smtp.refuse = {"weg@example.de"}
    ids = add_people(
        mailing,
        [
            {"email": "erika@example.de", "last_name": "Müller & <Söhne>"},
            {"email": "max@example.de", "first_name": "Max"},
            {"email": None},
            {"email": "kein-at-zeichen.example.de"},
            {"email": "weg@example.de"},
            {"email": "jörg@müller.de", "first_name": "Jörg"},
        ],
    )
    campaign = email_campaign(mailing, name="Frühjahr", reply_to="Service <service@example.de>")
    run = start_run(mailing.runtime, campaign, confirmed_by="test")
    mailing.work()

    finished = mailing.run(run.id)
    # no address is nothing to do (skipped); a refused one is a failure
    assert (finished.state, finished.done, finished.failed, finished.skipped) == (
        RunState.COMPLETED_WITH_ERRORS,
        3,
        1,
        2,
    )
    rows = items(mailing, run.id)
    key = {n: f"contacts:{contact_id}" for n, contact_id in enumerate(ids, start=1)}
    assert [(rows[key[n]].status, rows[key[n]].detail) for n in (3, 4, 5)] == [
        (ItemStatus.SKIPPED, "reach.no_email"),
        (ItemStatus.SKIPPED, "reach.no_email"),
        (
            ItemStatus.FAILED,
            "the mail server refused the recipient 'weg@example.de': "
            "550 5.1.1 <weg@example.de>: no such mailbox",
        ),
    ]
    assert rows[key[1]].detail == "sent to: erika@example.de"
    assert shown_details(panel_app, "de", [rows[key[1]].detail, rows[key[5]].detail]) == [
        "gesendet an: erika@example.de",
        "der Mailserver hat den Empfänger „weg@example.de“ abgelehnt: "
        "550 5.1.1 <weg@example.de>: no such mailbox",
    ]

    assert smtp.connections == 1  # one chunk: one connection for every message
    inbox = {received.recipients[0]: received for received in smtp.messages}
    assert sorted(inbox) == ["erika@example.de", "jörg@müller.de", "max@example.de"]
    assert len(smtp.messages) == 3
    erika = inbox["erika@example.de"].message
    assert erika["From"] == "Kampagne <kampagne@example.de>"
    assert erika["To"] == "erika@example.de"
    assert erika["Reply-To"] == "Service <service@example.de>"
    assert erika["Subject"] == "Neuigkeiten für Erika aus Köln"
    assert erika["Message-ID"] == rows[key[1]].reference
    assert erika["Message-ID"].startswith(f"<run{run.id}-contacts=3A{ids[0]}.")
    assert erika["Message-ID"].endswith("@example.de>")
    plain = erika.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "Hallo Erika Müller & <Söhne>,\nwir haben Neuigkeiten.\nFrühjahr\n"
    html = erika.get_body(("html",)).get_content()
    assert "<b>Erika Müller &amp; &lt;Söhne&gt;</b>" in html
    assert inbox["max@example.de"].message["Subject"] == "Neuigkeiten für Max aus Köln"

    documents = archived(mailing, run.id)
    assert [(d.contact_id, d.content_type, d.filename) for d in documents] == [
        (ids[0], "message/rfc822", "k-00001.eml"),
        (ids[1], "message/rfc822", "k-00002.eml"),
        (ids[5], "message/rfc822", "k-00006.eml"),
    ]
    for document in documents:
        received = inbox[document.meta["to"]]
        assert stored(mailing, document) == received.data
        assert document.title == received.message["Subject"]
    files = list((mailing.runtime.settings.data_dir / "archive").rglob("*.eml"))
    assert len(files) == 3  # the refused message left no file

    with mailing.runtime.database.session() as session:  # even a run put back to work
        session.execute(update(Run).where(Run.id == run.id).values(state=RunState.RUNNING))
    assert process_chunk(run.id, 0).endswith("0 processed")
    assert len(smtp.messages) == 3


def test_messages_sent_together_each_get_their_own_outcome_and_archive_entry(
    mailing, smtp, monkeypatch
):
    monkeypatch.setattr(dispatch, "CLAIM_WINDOW", 60.0)  # claims grow fourfold: 1, then 4
    monkeypatch.setattr(dispatch, "STATE_CHECK", 60.0)  # the four go to the server together
    smtp.refuse, smtp.vanish = {"weg@example.de"}, {"still@example.de"}
    people = ["a", "weg", "b", "still", "c"]
    ids = add_people(mailing, [{"email": f"{name}@example.de"} for name in people])
    campaign = email_campaign(mailing)
    run = start_run(mailing.runtime, campaign, started_by="anna", confirmed_by="test")
    mailing.work()

    rows = items(mailing, run.id)
    status = {name: rows[f"contacts:{i}"].status for name, i in zip(people, ids, strict=True)}
    assert status == {
        "a": ItemStatus.DONE,
        "weg": ItemStatus.FAILED,  # refused: not sent
        "b": ItemStatus.DONE,
        "still": ItemStatus.UNCLEAR,  # taken, but the answer never came
        "c": ItemStatus.DONE,
    }
    filed = sorted(document.meta["to"] for document in archived(mailing, run.id))
    assert filed == ["a@example.de", "b@example.de", "c@example.de"]
    assert {document.created_by for document in archived(mailing, run.id)} == {"anna"}
    files = list((mailing.runtime.settings.data_dir / "archive").rglob("*.eml"))
    assert len(files) == 4  # the refused message left no file; the unclear one keeps its own
    assert sorted(received.recipients[0] for received in smtp.messages) == [
        "a@example.de",
        "b@example.de",
        "c@example.de",
        "still@example.de",
    ]


def test_the_worked_example_prints_the_letters_and_emails_them(mailing, smtp, panel_app):
    """Print the information letter for every prospect, then e-mail each their letter."""
    with mailing.runtime.database.session() as session:
        install_default_reports(session)
    ids = add_people(
        mailing,
        [
            {"email": "erika@example.de"},
            {"email": "max@example.de", "first_name": "Max"},
            {"email": "ohne.brief@example.de", "postcode": None},  # print skips it
        ],
    )
    printing = mailing.campaign(
        action="print_reports",
        action_settings={"report": "Informationsschreiben", "archive_only": True},
        datasource="test_printable_contacts",
        name="Informationskampagne",
    )
    printed = start_run(mailing.runtime, printing, confirmed_by="test")
    mailing.work()
    assert mailing.run(printed.id).done == 2
    letters = {d.contact_id: d for d in archived(mailing, printed.id, DocumentKind.LETTER)}

    attach = {"report": "Informationsschreiben", "campaign": "Informationskampagne"}
    mailed = email_campaign(mailing, attachment=attach)
    run = start_run(mailing.runtime, mailed, confirmed_by="test")
    mailing.work()
    rows = items(mailing, run.id)
    missing = "no archived letter; report: Informationsschreiben; campaign: Informationskampagne"
    assert rows[f"contacts:{ids[2]}"].detail == missing
    assert rows[f"contacts:{ids[2]}"].status == ItemStatus.FAILED
    dry = start_run(mailing.runtime, mailed, dry_run=True, preview_count=3)
    mailing.work()
    preview = items(mailing, dry.id)[f"contacts:{ids[2]}"].detail
    assert preview == f"preview: no e-mail: {missing}"
    assert shown_details(panel_app, "de", [missing, preview]) == [
        "kein archivierter Brief; Bericht: Informationsschreiben; Kampagne: Informationskampagne",
        "Vorschau: keine E-Mail: kein archivierter Brief; Bericht: Informationsschreiben; "
        "Kampagne: Informationskampagne",
    ]
    assert shown_details(panel_app, "en", [preview]) == [preview]
    attached = items(mailing, dry.id)[f"contacts:{ids[0]}"].detail
    assert f" bytes; attachment: {letters[ids[0]].filename}; subject: " in attached
    (german,) = shown_details(panel_app, "de", [attached])
    assert f" Byte; Anhang: {letters[ids[0]].filename}; Betreff: " in german
    assert rows[f"contacts:{ids[0]}"].detail == (
        f"sent to: erika@example.de; attachment: {letters[ids[0]].filename}"
    )
    inbox = {received.recipients[0]: received.message for received in smtp.messages}
    for contact_id, address in zip(ids, ["erika@example.de", "max@example.de"], strict=False):
        (attachment,) = inbox[address].iter_attachments()
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == letters[contact_id].filename
        assert attachment.get_content() == stored(mailing, letters[contact_id])

    skipping = email_campaign(mailing, attachment=attach | {"when_missing": "skip"})
    again = start_run(mailing.runtime, skipping, confirmed_by="test")
    mailing.work()
    assert (mailing.run(again.id).done, mailing.run(again.id).skipped) == (2, 1)


def test_a_print_and_an_email_campaign_reach_everyone_once(mailing, smtp, panel_app):
    """The hand-over by preferred channel: post and web get the letter, e-mail the e-mail."""
    with mailing.runtime.database.session() as session:
        install_default_reports(session)
    channels = ["post", "email", "web", "email", "post"]
    add_people(
        mailing,
        [
            {"email": f"p{n}@example.de", "preferred_channel": channel}
            for n, channel in enumerate(channels)
        ],
    )
    printing = mailing.campaign(
        action="print_reports",
        action_settings={
            "report": "Informationsschreiben",
            "archive_only": True,
            "route_email_preferring_to_email": True,
        },
        datasource="test_printable_contacts",
    )
    printed = start_run(mailing.runtime, printing, confirmed_by="test")
    mailed = start_run(
        mailing.runtime, email_campaign(mailing, only_preferring_email=True), confirmed_by="test"
    )
    mailing.work()

    reached = collections.Counter()
    for run in (printed, mailed):
        for item in mailing.items(run.id):
            if item.status == ItemStatus.DONE:
                reached[item.key] += 1
    assert sorted(reached.values()) == [1] * len(channels)
    assert sorted(m.recipients[0] for m in smtp.messages) == ["p1@example.de", "p3@example.de"]
    skipped = {i.detail for i in mailing.items(mailed.id) if i.status == ItemStatus.SKIPPED}
    assert skipped == {"prefers post", "prefers web"}
    assert shown_details(panel_app, "de", sorted(skipped)) == ["bevorzugt Post", "bevorzugt Web"]

    dry = start_run(mailing.runtime, mailed.campaign_id, dry_run=True, preview_count=5)
    mailing.work()
    previews = sorted(i.detail for i in mailing.items(dry.id) if "skipped" in i.detail)
    assert previews == ["preview: skipped: prefers post"] * 2 + ["preview: skipped: prefers web"]
    assert shown_details(panel_app, "de", previews) == (
        ["Vorschau: übersprungen: bevorzugt Post"] * 2 + ["Vorschau: übersprungen: bevorzugt Web"]
    )
    assert shown_details(panel_app, "en", previews) == previews


def test_a_dry_run_previews_without_sending(mailing, smtp, panel_app):
    add_people(mailing, [{"email": "erika@example.de"}, {"email": None}])
    run = start_run(mailing.runtime, email_campaign(mailing), dry_run=True, preview_count=2)
    mailing.work()
    details = [item.detail for item in mailing.items(run.id)]
    head, _, body = details[0].partition("\n\n")
    size = re.fullmatch(
        r"preview: e-mail to: erika@example\.de; from: Kampagne <kampagne@example\.de>; "
        r"(\d+) bytes; subject: Neuigkeiten für Erika aus Köln",
        head,
    )[1]
    assert body.startswith("Hallo Erika Weiß1,\nwir haben Neuigkeiten.\n")  # the text
    (german,) = shown_details(panel_app, "de", [details[0]])
    assert german.startswith(
        "Vorschau: E-Mail an: erika@example.de; Absender: Kampagne <kampagne@example.de>; "
        f"{size} Byte; Betreff: Neuigkeiten für Erika aus Köln\n\nHallo Erika Weiß1,"
    )
    assert shown_details(panel_app, "en", [details[0]]) == [details[0]]
    assert details[1] == "reach.no_email"  # skipped at targeting, as a real run would
    assert smtp.messages == []


def test_an_empty_subject_fails_the_recipient_with_the_reason(mailing, smtp, panel_app):
    add_people(mailing, [{"email": "erika@example.de", "postcode": None}])
    campaign = email_campaign(mailing, subject="{{ postcode or '' }}")
    run = start_run(mailing.runtime, campaign, confirmed_by="test")
    mailing.work()
    (item,) = mailing.items(run.id)
    assert (item.status, item.detail) == (ItemStatus.FAILED, "the subject is empty")
    assert shown_details(panel_app, "de", [item.detail]) == ["der Betreff ist leer"]
    assert smtp.messages == []


def test_an_unknown_placeholder_fails_each_recipient_with_its_line(mailing, smtp, panel_app):
    add_people(mailing, [{"email": "erika@example.de"}])
    campaign = email_campaign(mailing, text="Hallo\n{{ frist_name }}")
    run = start_run(mailing.runtime, campaign, confirmed_by="test")
    mailing.work()
    (item,) = mailing.items(run.id)
    assert item.detail == "text body, line 2: unknown placeholder 'frist_name'"
    dry = start_run(mailing.runtime, campaign, dry_run=True, preview_count=1)
    mailing.work()
    (preview,) = [item.detail for item in mailing.items(dry.id)]
    assert preview == f"preview: no e-mail: {item.detail}"
    assert shown_details(panel_app, "de", [preview]) == [
        "Vorschau: keine E-Mail: Textteil, Zeile 2: unbekannter Platzhalter „frist_name“"
    ]
    assert shown_details(panel_app, "en", [preview]) == [preview]
    assert smtp.messages == []


def test_without_a_mail_server_the_messages_go_to_the_outbox(mailing, smtp):
    """``make run`` with nothing configured: the outbox directory under the data dir."""
    runtime = mailing.runtime
    runtime.settings = dataclasses.replace(
        runtime.settings, mail_server=None, mail_from=DEVELOPMENT_SENDER
    )
    mailing.add_contacts(4)  # the fourth has no e-mail address
    run = start_run(
        runtime, email_campaign(mailing, datasource="test_contacts", **SHORT), confirmed_by="test"
    )
    mailing.work()
    assert mailing.run(run.id).done == 3
    outbox = runtime.settings.data_dir / "outbox" / "mail"
    files = sorted(outbox.iterdir())
    assert len(files) == 3
    assert all(path.name.endswith("@localhost.localdomain.eml") for path in files)
    assert {path.read_bytes() for path in files} == {
        stored(mailing, document) for document in archived(mailing, run.id)
    }
    assert smtp.messages == []


# --- a worker killed while a message is on its way --------------------------------------------


def test_a_killed_worker_sends_nothing_twice(mailing, smtp, tmp_path, monkeypatch):
    for name, value in mail_env(smtp).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CAMPAIGN_PUBLIC_URL", mailing.runtime.settings.public_url)
    ids = mailing.add_contacts(6)  # p1 … p3, p5, p6 have an address
    held = "p2@example.de"
    smtp.hold = {held}
    run = start_run(
        mailing.runtime,
        email_campaign(mailing, datasource="test_contacts", **SHORT),
        confirmed_by="test",
    )
    log = tmp_path / "worker.log"
    first = mailing.start_worker_process(log)
    wait_for(lambda: smtp.to(held), "the held message to reach the server", log=log)
    mailing.kill_worker(first)  # worker and work horse, between the message and the answer
    smtp.hold = set()

    second = mailing.start_worker_process(log)
    try:
        mailing.runtime.clock = FrozenClock(datetime.now(UTC) + timedelta(minutes=3))
        recover_runs(mailing.runtime)
        final_states = (RunState.COMPLETED, RunState.COMPLETED_WITH_ERRORS)
        wait_for(lambda: mailing.run(run.id).state in final_states, "the run to end", log=log)
        finished = mailing.run(run.id)
        rows = items(mailing, run.id)
        unclear = rows[f"contacts:{ids[1]}"]
        assert unclear.status == ItemStatus.UNCLEAR
        assert "whether the action happened is unknown" in unclear.detail
        # The rows claimed with the held one are unclear too (never sent: a person decides).
        assert (finished.done + finished.unclear, finished.failed, finished.skipped) == (5, 0, 1)
        received = collections.Counter(m.recipients[0] for m in smtp.messages)
        assert set(received.values()) == {1}
        address = {f"contacts:{contact}": f"p{n}@example.de" for n, contact in enumerate(ids, 1)}
        done = {address[key] for key, row in rows.items() if row.status == ItemStatus.DONE}
        assert done <= set(received)
        assert held not in {d.meta["to"] for d in archived(mailing, run.id)}

        # Sending them again is a human decision, and the held one goes out as the same message.
        assert retry_failed(mailing.runtime, run.id, include_unclear=True) == finished.unclear
        wait_for(lambda: mailing.run(run.id).state in final_states, "the retry", log=log)
    finally:
        stop_group(second)
    received = collections.Counter(m.recipients[0] for m in smtp.messages)
    assert received == {f"p{n}@example.de": 1 for n in (1, 3, 5, 6)} | {held: 2}
    first_copy, second_copy = smtp.to(held)
    assert first_copy.message["Message-ID"] == second_copy.message["Message-ID"]
    assert items(mailing, run.id)[f"contacts:{ids[1]}"].status == ItemStatus.DONE
    assert held in {d.meta["to"] for d in archived(mailing, run.id)}
