"""The mailer against a real SMTP server on loopback: plain, STARTTLS and implicit TLS with a
self-signed certificate, login, one connection for many messages, refusals and drops."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from core.config import Settings
from core.messaging.mail import build_message, message_id
from core.messaging.sending import MaybeSentError, NotSentError
from core.messaging.smtp import OutboxMailer, SmtpMailer, open_mailer

from smtp_server import SmtpServer

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def server_settings(tmp_path, server: SmtpServer, **extra) -> Settings:
    env = {
        "CAMPAIGN_DATA_DIR": str(tmp_path / "data"),
        "CAMPAIGN_SMTP_URL": server.url,
        "CAMPAIGN_MAIL_FROM": "Kampagne <kampagne@example.de>",
        "CAMPAIGN_SMTP_CA_FILE": str(server.ca_file) if server.ca_file else "",
    }
    return Settings.from_env(env | {f"CAMPAIGN_{key}": value for key, value in extra.items()})


def message(to="erika@example.de", number=1, **fields):
    return build_message(
        sender="Kampagne <kampagne@example.de>",
        to=to,
        subject=f"Nachricht {number}",
        message_id=message_id(f"test-{number}", "example.de"),
        date=NOW,
        text=f"Hallo, das ist Nachricht {number}.\n.\nEine Zeile mit Punkt.",
        **fields,
    )


@pytest.fixture(params=["pipelining", "one command at a time"])
def plain(tmp_path, request):
    server = SmtpServer(tmp_path / "plain", pipelining=request.param == "pipelining")
    yield server
    server.close()


@pytest.fixture
def starttls(tmp_path):
    server = SmtpServer(tmp_path / "starttls", tls="starttls", users={"campaign": "g3heim!"})
    yield server
    server.close()


def test_many_messages_go_over_one_connection_unchanged(tmp_path, plain):
    with open_mailer(server_settings(tmp_path, plain)) as mailer:
        sent = [message(number=n) for n in range(25)]
        for item in sent:
            assert mailer.send(item) == {}
    assert plain.connections == 1
    assert [received.data for received in plain.messages] == [m.data for m in sent]
    first = plain.messages[0]
    assert (first.sender, first.recipients) == ("kampagne@example.de", ["erika@example.de"])
    text = first.message.get_content().replace("\r\n", "\n")
    assert text == "Hallo, das ist Nachricht 0.\n.\nEine Zeile mit Punkt.\n"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd does
@pytest.mark.parametrize("tls", ["starttls", "tls"])  # not see that implicit TLS is TLS
def test_tls_with_a_verified_certificate_and_a_login(tmp_path, tls):
    server = SmtpServer(tmp_path / tls, tls=tls, users={"campaign": "g3heim!"})
    try:
        with open_mailer(server_settings(tmp_path, server)) as mailer:
            mailer.send(message(number=1))
            mailer.send(message(number=2))
        assert [m.message["Subject"] for m in server.messages] == ["Nachricht 1", "Nachricht 2"]
        assert server.connections == 1
    finally:
        server.close()


def test_an_untrusted_certificate_is_refused(tmp_path, starttls):
    settings = server_settings(tmp_path, starttls, SMTP_CA_FILE="")
    with open_mailer(settings) as mailer, pytest.raises(NotSentError) as refused:
        mailer.send(message())
    assert "certificate of the mail server '127.0.0.1:" in str(refused.value)
    assert "is not trusted" in str(refused.value)
    assert starttls.messages == []


def test_a_wrong_password_is_refused_with_the_servers_answer(tmp_path, starttls):
    url = starttls.url.replace("g3heim!", "falsch")
    mailer = open_mailer(server_settings(tmp_path, starttls, SMTP_URL=url))
    with mailer, pytest.raises(NotSentError, match="refused the login: 535"):
        mailer.send(message())


def test_a_server_without_starttls_is_not_used_in_plain(tmp_path, plain):
    url = plain.url.replace("starttls=0", "starttls=1")
    mailer = open_mailer(server_settings(tmp_path, plain, SMTP_URL=url))
    with mailer, pytest.raises(NotSentError, match="does not offer STARTTLS"):
        mailer.send(message())


def test_a_refused_recipient_fails_alone_and_the_connection_goes_on(tmp_path, plain):
    plain.refuse = {"weg@example.de"}
    with open_mailer(server_settings(tmp_path, plain)) as mailer:
        with pytest.raises(NotSentError) as refused:
            mailer.send(message(to="weg@example.de"))
        assert str(refused.value) == (
            "the mail server refused the recipient 'weg@example.de': "
            "550 5.1.1 <weg@example.de>: no such mailbox"
        )
        mailer.send(message(to="erika@example.de"))
        both = message(to=["erika@example.de", "weg@example.de"], number=3)
        assert mailer.send(both) == {
            "weg@example.de": "550 5.1.1 <weg@example.de>: no such mailbox"
        }
    assert [m.recipients for m in plain.messages] == [["erika@example.de"]] * 2
    assert plain.connections == 1


def test_a_dropped_connection_is_connected_again(tmp_path, plain):
    with open_mailer(server_settings(tmp_path, plain)) as mailer:
        mailer.send(message(number=1))
        plain.drop_connections()
        mailer.send(message(number=2))
        assert mailer.connections == 2
    assert len(plain.messages) == 2
    assert plain.connections == 2


def test_a_message_without_confirmation_is_unclear_and_not_sent_again(tmp_path, plain):
    plain.vanish = {"erika@example.de"}
    with open_mailer(server_settings(tmp_path, plain)) as mailer:
        with pytest.raises(MaybeSentError, match="ended before the server confirmed"):
            mailer.send(message())
        mailer.send(message(to="max@example.de", number=2))  # a new connection
    assert [m.recipients for m in plain.messages] == [["erika@example.de"], ["max@example.de"]]


def test_no_answer_within_the_timeout_is_unclear(tmp_path, plain):
    plain.hold = {"erika@example.de"}
    url = plain.url + "&timeout=0.5"
    mailer = open_mailer(server_settings(tmp_path, plain, SMTP_URL=url))
    with mailer, pytest.raises(MaybeSentError, match="ended before the server confirmed"):
        mailer.send(message())
    assert len(plain.messages) == 1


def test_an_unreachable_server_fails_fast_for_a_while(tmp_path, plain):
    plain.close()
    mailer = open_mailer(server_settings(tmp_path, plain))
    with pytest.raises(NotSentError, match=r"cannot connect to the mail server '127\.0\.0\.1:"):
        mailer.send(message())
    with pytest.raises(NotSentError, match="cannot connect"):
        mailer.send(message(number=2))
    assert isinstance(mailer, SmtpMailer) and mailer.connections == 0


def test_non_ascii_addresses_need_smtputf8(tmp_path, plain):
    with open_mailer(server_settings(tmp_path, plain)) as mailer:
        mailer.send(message(to="jörg@müller.de"))
    (received,) = plain.messages
    assert received.recipients == ["jörg@müller.de"]
    assert received.message["To"] == "jörg@müller.de"


def test_without_a_mail_server_messages_go_to_the_outbox_once(tmp_path):
    settings = Settings.from_env({"CAMPAIGN_DATA_DIR": str(tmp_path / "data")})
    mailer = open_mailer(settings)
    assert isinstance(mailer, OutboxMailer)
    first = message()
    mailer.send(first)
    mailer.send(message())  # the same Message-ID: already there
    files = list((tmp_path / "data" / "outbox" / "mail").iterdir())
    assert [path.name for path in files] == ["test-1@example.de.eml"]
    assert files[0].read_bytes() == first.data


def test_mailers_are_independent_per_thread_of_use(tmp_path, plain):
    """Two workers are two mailers: each keeps its own connection."""
    settings = server_settings(tmp_path, plain)

    def send(start):
        with open_mailer(settings) as mailer:
            for number in range(start, start + 5):
                mailer.send(message(number=number))

    threads = [threading.Thread(target=send, args=(start,)) for start in (0, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(plain.messages) == 10
    assert plain.connections == 2
