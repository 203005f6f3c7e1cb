"""The "sftp" upload target against a real SSH server (asyncssh) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import threading
from pathlib import Path

import asyncssh
import pytest

from core import SettingsError
from core.uploads import Upload, UploadError
from plugins.targets import TRANSLATIONS
from plugins.targets.sftp import Sftp

from panel_helpers import detail_in
from upload_servers import SftpTestServer

PASSWORD = "Geheim-123"


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "server"
    (root / "incoming").mkdir(parents=True)
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    server = SftpTestServer(root, {"upload": PASSWORD}, {"keyed": [client_key.convert_to_public()]})
    server.client_key = client_key
    yield server
    server.close()


@pytest.fixture
def payload(tmp_path) -> Upload:
    path = tmp_path / "local" / "extraction.csv"
    path.parent.mkdir()
    path.write_bytes(os.urandom(300_000))
    return Upload.of(path, "extraction.csv", "run-1/group:")


def target(server: SftpTestServer, **settings) -> Sftp:
    return Sftp(
        {
            "host": "127.0.0.1",
            "port": server.port,
            "username": "upload",
            "password": PASSWORD,
            "directory": "incoming",
            "host_key": server.public_key,
            "timeout": 10,
        }
        | settings
    )


def upload(target: Sftp, payload: Upload) -> str:
    try:
        return target.upload(payload)
    finally:
        target.close()


def test_a_file_arrives_whole_under_its_name_and_nothing_else_is_left(server, payload):
    location = upload(target(server), payload)

    assert location == f"sftp://127.0.0.1:{server.port}/incoming/extraction.csv"
    assert server.files() == {"incoming/extraction.csv": payload.path.read_bytes()}
    assert hashlib.sha256(server.files()["incoming/extraction.csv"]).hexdigest() == payload.sha256
    (opened,), (renamed,) = [
        [operation for operation in server.operations if operation[0] == kind]
        for kind in ("open", "rename")
    ]
    temporary = opened[1]
    assert re.fullmatch(r"incoming/\.extraction\.csv\.[0-9a-f]{8}\.part", temporary)
    assert renamed == ("rename", temporary, "incoming/extraction.csv")


def test_an_upload_works_from_a_thread_that_already_runs_an_event_loop(server, payload):
    async def inside_a_running_loop() -> str:
        return upload(target(server), payload)

    locations = []
    thread = threading.Thread(target=lambda: locations.append(asyncio.run(inside_a_running_loop())))
    thread.start()
    thread.join()

    assert locations[0].endswith("/incoming/extraction.csv")
    assert server.files() == {"incoming/extraction.csv": payload.path.read_bytes()}


def test_the_server_key_can_be_pinned_by_its_fingerprint_or_a_known_hosts_file(
    server, payload, tmp_path
):
    upload(target(server, host_key="", host_key_fingerprint=server.fingerprint), payload)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {server.public_key}\n")
    second = Upload.of(payload.path, "second.csv", "run-1/group:")
    upload(target(server, host_key="", known_hosts=str(known_hosts)), second)
    assert set(server.files()) == {"incoming/extraction.csv", "incoming/second.csv"}


def test_a_server_with_another_key_is_refused_and_named(server, payload):
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()

    with pytest.raises(UploadError, match="host key is not trusted") as caught:
        upload(target(server, host_key=impostor), payload)

    assert server.fingerprint in str(caught.value)
    assert not caught.value.transient
    assert server.files() == {}


def test_an_unknown_server_is_trusted_only_when_the_settings_say_so(server, payload):
    with pytest.raises(SettingsError, match="the server's key cannot be checked"):
        target(server, host_key="")
    upload(target(server, host_key="", accept_unknown_host=True), payload)
    assert list(server.files()) == ["incoming/extraction.csv"]


def test_wrong_credentials_give_a_clear_error(server, payload):
    with pytest.raises(UploadError) as caught:
        upload(target(server, password="falsch"), payload)

    assert str(caught.value) == (
        "authentication failed (wrong password or key or the user may not log in): upload"
    )
    assert not caught.value.transient


def test_a_private_key_logs_in(server, payload):
    key = server.client_key.export_private_key().decode()
    upload(target(server, username="keyed", password="", private_key=key), payload)
    assert list(server.files()) == ["incoming/extraction.csv"]


def test_an_existing_file_is_replaced_only_with_overwrite(server, payload):
    existing = server.root / "incoming" / "extraction.csv"
    existing.write_bytes(b"yesterday's file")

    with pytest.raises(UploadError, match="already exists on the server"):
        upload(target(server), payload)
    assert server.files() == {"incoming/extraction.csv": b"yesterday's file"}

    upload(target(server, overwrite=True), payload)
    assert server.files() == {"incoming/extraction.csv": payload.path.read_bytes()}
    assert server.operations[-1][0] == "posix_rename"  # atomic replacement


def test_a_write_refused_midway_leaves_nothing_behind(server, payload):
    server.quota = 100_000

    with pytest.raises(UploadError, match="quota exceeded") as caught:
        upload(target(server), payload)

    assert caught.value.transient
    assert server.files() == {}


def test_a_connection_cut_midway_leaves_nothing_under_the_final_name(server, payload):
    server.drop_after = 100_000

    with pytest.raises(UploadError) as caught:
        upload(target(server), payload)

    assert caught.value.transient
    assert "incoming/extraction.csv" not in server.files()
    leftovers = [name for name in server.files() if name.startswith("incoming/.extraction.csv.")]
    assert all(name.endswith(".part") for name in leftovers)


def test_a_missing_directory_is_created_when_asked(server, payload):
    with pytest.raises(UploadError, match="the server refused"):
        upload(target(server, directory="outbox/today"), payload)
    upload(target(server, directory="outbox/today", create_directory=True), payload)
    assert list(server.files()) == ["outbox/today/extraction.csv"]


def test_why_a_file_did_not_arrive_reads_in_german(server, payload):
    """The reasons a run item's detail shows, through the targets' catalog."""
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    (server.root / "incoming" / "extraction.csv").write_bytes(b"yesterday's file")
    problems = []
    for settings in (
        {"host_key": impostor},
        {"password": "falsch"},
        {},
        {"directory": "outbox/today"},
    ):
        with pytest.raises(UploadError) as caught:
            upload(target(server, **settings), payload)
        problems.append(str(caught.value))

    shown = [detail_in("de", problem, TRANSLATIONS) for problem in problems]
    assert shown[:3] == [
        "dem Schlüssel des Servers wird nicht vertraut (bitte host_key / host_key_fingerprint / "
        f"known_hosts prüfen): {server.fingerprint}",
        "Anmeldung fehlgeschlagen (falsches Passwort oder falscher Schlüssel, oder der Benutzer "
        "darf sich nicht anmelden): upload",
        "gibt es auf dem Server schon (Überschreiben ist aus): incoming/extraction.csv",
    ]
    assert shown[3].startswith("der Server lehnte ab: ")


def test_a_server_that_is_not_there_is_a_transient_error(payload):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sftp = Sftp(
        {
            "host": "127.0.0.1",
            "port": port,
            "username": "upload",
            "password": PASSWORD,
            "accept_unknown_host": True,
        }
    )
    with pytest.raises(UploadError, match="refused") as caught:
        upload(sftp, payload)
    assert caught.value.transient


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"password": ""}, "needs a password, password_env, private_key or private_key_path"),
        ({"host_key": "ssh-ed25519 nonsense"}, "host_key: not an OpenSSH public key"),
        ({"host_key_fingerprint": "ab:cd"}, 'a fingerprint starts with "SHA256:"'),
        ({"password_env": "CAMPAIGN_TEST_NO_SUCH_VARIABLE"}, "is not set"),
        ({"port": 0}, "port: Input should be greater than or equal to 1"),
    ],
)
def test_bad_settings_name_the_problem(server, settings, problem):
    with pytest.raises(SettingsError, match="invalid settings for upload_target 'sftp'") as caught:
        target(server, **settings)
    assert problem in str(caught.value)


def test_where_names_user_host_and_directory_but_never_the_password(server):
    described = target(server).where()
    assert described == f"sftp://upload@127.0.0.1:{server.port}/incoming"
    assert PASSWORD not in described


def test_the_local_file_is_unchanged(server, payload):
    before = Path(payload.path).read_bytes()
    upload(target(server), payload)
    assert Path(payload.path).read_bytes() == before
