"""Reading the inbound mailbox: a maildir folder, and a real IMAP server (Dovecot on
loopback). Each gives the waiting messages, bounded in size, and moves the processed ones
out, so the next pass does not see them again. Which mailbox: ``CAMPAIGN_INBOUND_URL``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.config import ConfigError
from plugins.workflows import TRANSLATIONS
from plugins.workflows.inbound_mail.mailboxes import (
    MAX_MESSAGE,
    Imap,
    InboundMailbox,
    MailboxError,
    Maildir,
    configured_mailbox,
    open_mailbox,
)

from mail_samples import dsn, reply
from panel_helpers import detail_in

LARGE = b"Subject: big\r\n\r\n" + b"x" * (MAX_MESSAGE + 1000)


def read_all(mailbox, limit=100):
    return [message for batch in mailbox.waiting(limit) for message in batch]


def test_a_maildir_gives_new_messages_and_files_processed_ones_as_seen(tmp_path):
    maildir = Maildir(tmp_path / "box", batch=2)
    for name, data in [
        ("1.a", reply("a@example.org", "b@example.de")),
        ("2.b", LARGE),
        ("3.c", b"x"),
    ]:
        (maildir.path / "new" / name).write_bytes(data)
    messages = read_all(maildir)
    assert [message.id for message in messages] == ["1.a", "2.b", "3.c"]
    big = messages[1]
    assert (big.size, len(big.data)) == (len(LARGE), MAX_MESSAGE)
    assert [message.id for message in read_all(maildir, limit=1)] == ["1.a"]
    maildir.done(["1.a", "2.b", "gone"])
    assert [message.id for message in read_all(maildir)] == ["3.c"]
    assert sorted(path.name for path in (maildir.path / "cur").iterdir()) == ["1.a:2,S", "2.b:2,S"]


def test_the_development_default_is_a_maildir_under_the_data_directory(tmp_path):
    with open_mailbox(configured_mailbox(tmp_path, {})) as mailbox:
        assert isinstance(mailbox, Maildir)
        assert mailbox.path == tmp_path / "inbound" / "mail"
        assert read_all(mailbox) == []


def test_an_imap_folder_is_read_without_flags_and_processed_mail_moves_away(imap):
    bounce = dsn("bounces@example.de", "erika@example.org")
    imap.deliver(bounce, LARGE, reply("a@example.org", "b@example.de"))
    config = configured_mailbox(Path("/tmp"), {"CAMPAIGN_INBOUND_URL": imap.url})
    assert (config.kind, config.folder, config.processed_folder) == ("imap", "INBOX", "Processed")
    with Imap(config, batch=2) as mailbox:
        messages = read_all(mailbox)
        assert [len(batch) for batch in mailbox.waiting(100)] == [2, 1]
        assert messages[0].data == bounce
        assert (messages[1].size, len(messages[1].data)) == (len(LARGE), MAX_MESSAGE)
        mailbox.done([messages[0].id, messages[1].id])
        assert [message.id for message in read_all(mailbox)] == [messages[2].id]
    assert (imap.count("INBOX"), imap.count("Processed")) == (1, 2)


def test_an_imap_server_that_refuses_the_login_is_a_clear_error(imap):
    config = InboundMailbox(
        "imap", host="127.0.0.1", port=imap.port, security="plain", username="bounces", password="x"
    )
    refused = rf"cannot read the mailbox at '127.0.0.1:{imap.port}': "
    with pytest.raises(MailboxError, match=refused), Imap(config) as mailbox:
        read_all(mailbox)


def test_why_the_mailbox_cannot_be_read_reads_in_german(imap):
    """The error's English (a failed pass's error, its log line) is translated by the
    workflows' catalog; the server's own answer stays as it came."""
    config = configured_mailbox(Path("/tmp"), {"CAMPAIGN_INBOUND_URL": imap.url})
    problems = []
    for wrong in ({"password": "x"}, {"folder": "Nirgends"}):
        with pytest.raises(MailboxError) as caught, Imap(replace(config, **wrong)) as mailbox:
            read_all(mailbox)
        problems.append(caught.value)
    shown = [detail_in("de", str(problem), TRANSLATIONS) for problem in problems]
    assert shown[0].startswith(f"das Postfach „127.0.0.1:{imap.port}“ lässt sich nicht lesen: ")
    assert shown[1].startswith(f"kein Ordner „Nirgends“ unter „127.0.0.1:{imap.port}“: ")
    assert str(problems[1]).startswith(f"no folder 'Nirgends' at '127.0.0.1:{imap.port}': ")


def test_the_mailbox_is_read_from_the_inbound_url(tmp_path):
    default = configured_mailbox(tmp_path, {})
    assert (default.kind, default.path) == ("maildir", tmp_path / "inbound" / "mail")
    box = configured_mailbox(
        tmp_path,
        {
            "CAMPAIGN_INBOUND_URL": "imaps://bounces%40example.de:p%3Ass@imap.example.de/Bounces"
            "?processed=Done"
        },
    )
    assert (box.kind, box.host, box.port, box.security) == ("imap", "imap.example.de", 993, "tls")
    assert (box.username, box.password) == ("bounces@example.de", "p:ss")
    assert (box.folder, box.processed_folder) == ("Bounces", "Done")
    assert "p:ss" not in repr(box)
    plain = configured_mailbox(
        tmp_path, {"CAMPAIGN_INBOUND_URL": "imap://u:p@127.0.0.1:1143?starttls=0"}
    )
    assert (plain.port, plain.security, plain.folder) == (1143, "plain", "INBOX")
    maildir = configured_mailbox(tmp_path, {"CAMPAIGN_INBOUND_URL": "maildir:///var/mail/kampagne"})
    assert (maildir.kind, str(maildir.path)) == ("maildir", "/var/mail/kampagne")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"INBOUND_URL": "pop3://u@h"}, "CAMPAIGN_INBOUND_URL: 'pop3://u@h' is not a maildir://"),
        (
            {"INBOUND_URL": "maildir://var/mail"},
            "CAMPAIGN_INBOUND_URL: 'maildir://var/mail': write",
        ),
        (
            {"INBOUND_URL": "imaps://host/INBOX"},
            "CAMPAIGN_INBOUND_URL: 'imaps://host/INBOX' names no",
        ),
        ({"INBOUND_URL": "imap://u:secret@h?x=1"}, "CAMPAIGN_INBOUND_URL: unknown option(s) x"),
        ({"INBOUND_URL": "imap://u@h/A?processed=A"}, "CAMPAIGN_INBOUND_URL: the processed folder"),
        ({"INBOUND_CA_FILE": "/nonexistent/ca.pem"}, "CAMPAIGN_INBOUND_CA_FILE: '/nonexistent/"),
    ],
)
def test_a_bad_inbound_setting_names_the_variable(tmp_path, values, message):
    with pytest.raises(ConfigError) as error:
        configured_mailbox(tmp_path, {f"CAMPAIGN_{k}": v for k, v in values.items()})
    assert str(error.value).startswith(message)
    assert "secret" not in str(error.value)
