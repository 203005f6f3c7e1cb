"""E-mail addresses, Message-IDs and messages with both bodies and attachments."""

from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy

import pytest

from core.messaging.mail import (
    Attachment,
    build_message,
    mailbox,
    message_id,
    recipient_address,
    valid_email,
)

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no e-mail address"),
        ("  ", "no e-mail address"),
        ("erika.example.de", "'erika.example.de' is not a valid e-mail address"),
        ("erika@example", "'erika@example' is not a valid e-mail address"),
        ("erika@@example.de", "is not a valid e-mail address"),
        ('"erika mustermann"@example.de', "is not a valid e-mail address"),
    ],
)
def test_addresses_no_mail_can_go_to_are_refused_with_the_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        recipient_address(raw)


def test_a_valid_address_is_stripped():
    assert recipient_address(" erika@example.de ") == "erika@example.de"
    assert valid_email("jörg@müller.de")


def test_a_mailbox_may_carry_a_display_name():
    box = mailbox("Kundenservice Müller <service@example.de>")
    assert (box.display_name, box.addr_spec) == ("Kundenservice Müller", "service@example.de")
    assert str(mailbox("service@example.de")) == "service@example.de"
    with pytest.raises(ValueError, match="is not an e-mail address"):
        mailbox("a@example.de, b@example.de")
    with pytest.raises(ValueError, match="one line"):
        mailbox("a@example.de\nBcc: x@example.de")


def test_a_message_id_is_derived_from_its_reference_alone():
    assert message_id("run12-contacts:3", "example.de", "5f1") == (
        "<run12-contacts=3A3.5f1@example.de>"
    )
    assert message_id("import:Jörg", "example.de") == "<import=3AJ=C3=B6rg@example.de>"


def test_a_message_has_both_bodies_and_its_attachment():
    message = build_message(
        sender=mailbox("Kampagne <kampagne@example.de>"),
        to="erika@example.de",
        subject="Ihr Informationsschreiben für März",
        message_id="<m1@example.de>",
        date=NOW,
        text="Hallo Erika,\nanbei Ihr Schreiben.",
        html="<p>Hallo Erika,</p><p>anbei Ihr Schreiben.</p>",
        reply_to="service@example.de",
        attachments=[Attachment("brief.pdf", b"%PDF-1.4 letter", "application/pdf")],
    )
    data = message.data
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed["Subject"] == "Ihr Informationsschreiben für März"
    assert (parsed["From"], parsed["Reply-To"]) == (
        "Kampagne <kampagne@example.de>",
        "service@example.de",
    )
    assert parsed["Message-ID"] == "<m1@example.de>"
    assert parsed["Date"] == "Thu, 12 Mar 2026 09:30:00 +0000"
    assert parsed.get_body(("plain",)).get_content().startswith("Hallo Erika,")
    assert "<p>Hallo Erika,</p>" in parsed.get_body(("html",)).get_content()
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "brief.pdf"
    assert attachment.get_content() == b"%PDF-1.4 letter"
    assert data.isascii()  # quoted-printable and encoded words: no 8BITMIME needed
    assert (message.sender, message.recipients) == ("kampagne@example.de", ("erika@example.de",))
    assert not message.smtputf8


def parsed(message):
    return message_from_bytes(message.data, policy=policy.default)


def content(part) -> str:
    """A text part's content as written: mail has CRLF line ends."""
    return part.get_content().replace("\r\n", "\n")


def test_the_bodies_arrive_exactly_as_written():
    text = "Zeile mit Leerzeichen am Ende  \n\tEingerückt, 100 € " + "lang " * 40 + "\n.Punkt"
    html = "<p>Grüße</p>\r\n<p>=_ kein Trenner</p>\n"
    both = build_message(
        sender="a@example.de",
        to="b@example.de",
        subject="x",
        message_id="<1@example.de>",
        date=NOW,
        text=text,
        html=html,
    )
    assert max(len(line) for line in both.data.split(b"\r\n")) <= 78
    received = parsed(both)
    assert received.get_content_type() == "multipart/alternative"
    assert content(received.get_body(("plain",))) == text + "\n"
    assert content(received.get_body(("html",))) == html.replace("\r\n", "\n")
    html_only = build_message(
        sender="a@example.de",
        to="b@example.de",
        subject="x",
        message_id="<1@example.de>",
        date=NOW,
        html=html,
    )
    assert parsed(html_only).get_content_type() == "text/html"
    assert content(parsed(html_only)) == html.replace("\r\n", "\n")


def test_names_subjects_and_filenames_with_umlauts_are_encoded_words_or_rfc_2231():
    subject = "Ihr Schreiben für März, " * 6 + "Ende"
    message = build_message(
        sender=mailbox('"Müller, Service" <service@example.de>'),
        to=["Jörg Schäfer <joerg@example.de>", mailbox("Anna <anna@example.de>")],
        subject=subject,
        message_id="<m1@example.de>",
        date=NOW,
        text="Hallo",
        attachments=[Attachment("Schreiben März.pdf", b"%PDF", "application/pdf")],
    )
    assert message.data.isascii()
    assert max(len(line) for line in message.data.split(b"\r\n")) <= 78
    received = parsed(message)
    assert received["Subject"] == subject
    assert received["From"].addresses[0].display_name == "Müller, Service"
    assert [a.display_name for a in received["To"].addresses] == ["Jörg Schäfer", "Anna"]
    assert message.recipients == ("joerg@example.de", "anna@example.de")
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "Schreiben März.pdf"
    assert content(received.get_body(("plain",))) == "Hallo\n"


def test_an_address_with_umlauts_needs_smtputf8_and_stays_utf8():
    message = build_message(
        sender="kampagne@example.de",
        to="jörg@müller.de",
        subject="Hallo",
        message_id="<m1@example.de>",
        date=NOW,
        text="Hallo",
    )
    assert message.smtputf8
    assert "To: jörg@müller.de\r\n".encode() in message.data
    received = message_from_string(message.data.decode(), policy=policy.SMTPUTF8)
    assert received["To"].addresses[0].addr_spec == "jörg@müller.de"


def test_a_message_needs_a_body_and_one_line_headers():
    with pytest.raises(ValueError, match="a text or an HTML body"):
        build_message(
            sender="a@example.de",
            to="b@example.de",
            subject="x",
            message_id="<1@example.de>",
            date=NOW,
        )
    with pytest.raises(ValueError):
        build_message(
            sender="a@example.de",
            to="b@example.de",
            subject="x\nBcc: c@example.de",
            message_id="<1@example.de>",
            date=NOW,
            text="x",
        )
    with pytest.raises(ValueError, match="To: 'nobody' is not a valid e-mail address"):
        build_message(
            sender="a@example.de",
            to="nobody",
            subject="x",
            message_id="<1@example.de>",
            date=NOW,
            text="x",
        )
