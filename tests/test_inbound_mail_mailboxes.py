"""Reading the inbound mailbox: a maildir folder, and a real IMAP server (Dovecot on
loopback). Each gives the waiting messages, bounded in size, and moves the processed ones
out, so the next pass does not see them again."""

from __future__ import annotations

import pytest

from core.config import InboundMailbox, Settings
from plugins.workflows.inbound_mail.mailboxes import (
    MAX_MESSAGE,
    Imap,
    MailboxError,
    Maildir,
    open_mailbox,
)

from mail_samples import dsn, reply

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
    settings = Settings.from_env({"CAMPAIGN_DATA_DIR": str(tmp_path), "CAMPAIGN_SECRET_KEY": "k"})
    with open_mailbox(settings.mailbox) as mailbox:
        assert isinstance(mailbox, Maildir)
        assert mailbox.path == tmp_path / "inbound" / "mail"
        assert read_all(mailbox) == []


def test_an_imap_folder_is_read_without_flags_and_processed_mail_moves_away(imap):
    bounce = dsn("bounces@example.de", "erika@example.org")
    imap.deliver(bounce, LARGE, reply("a@example.org", "b@example.de"))
    config = Settings.from_env(
        {"CAMPAIGN_INBOUND_URL": imap.url, "CAMPAIGN_SECRET_KEY": "k", "CAMPAIGN_DATA_DIR": "/tmp"}
    ).mailbox
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
    refused = rf"cannot read the mailbox at 127.0.0.1:{imap.port}"
    with pytest.raises(MailboxError, match=refused), Imap(config) as mailbox:
        read_all(mailbox)
