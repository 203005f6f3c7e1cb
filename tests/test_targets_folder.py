"""The "folder" upload target on the local file system."""

from __future__ import annotations

import os
import resource
import signal

import pytest

from core import SettingsError
from core.uploads import Upload, UploadError
from plugins.targets import TRANSLATIONS
from plugins.targets.folder import Folder

from panel_helpers import detail_in


@pytest.fixture
def payload(tmp_path) -> Upload:
    path = tmp_path / "local" / "collection.pdf"
    path.parent.mkdir()
    path.write_bytes(os.urandom(200_000))
    return Upload.of(path, "collection.pdf", "run-1/group:")


def listing(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def test_a_file_arrives_whole_under_its_name_and_nothing_else_is_left(tmp_path, payload):
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    location = Folder({"path": str(inbox)}).upload(payload)

    assert location == str(inbox / "collection.pdf")
    assert listing(inbox) == {"collection.pdf": payload.path.read_bytes()}


def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path, payload):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "collection.pdf").write_bytes(b"yesterday's file")

    with pytest.raises(
        UploadError, match=r"already exists \(overwrite is off\): .*collection\.pdf$"
    ) as caught:
        Folder({"path": str(inbox)}).upload(payload)
    assert not caught.value.transient
    assert listing(inbox) == {"collection.pdf": b"yesterday's file"}

    Folder({"path": str(inbox), "overwrite": True}).upload(payload)
    assert listing(inbox) == {"collection.pdf": payload.path.read_bytes()}


def test_a_missing_directory_is_named_or_created_when_asked(tmp_path, payload):
    inbox = tmp_path / "share" / "inbox"

    with pytest.raises(UploadError, match=f"^the directory does not exist: {inbox}$"):
        Folder({"path": str(inbox)}).upload(payload)

    Folder({"path": str(inbox), "create": True}).upload(payload)
    assert list(listing(inbox)) == ["collection.pdf"]


def test_a_disk_that_fills_up_midway_leaves_nothing_behind(tmp_path, payload):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, limits[1]))
    try:
        with pytest.raises(UploadError, match="File too large") as caught:
            Folder({"path": str(inbox)}).upload(payload)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)

    assert not caught.value.transient
    assert detail_in("de", str(caught.value), TRANSLATIONS).startswith("Datei zu groß: ")
    assert listing(inbox) == {}


def test_a_local_file_that_changed_since_it_was_described_is_not_delivered(tmp_path, payload):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    payload.path.write_bytes(b"something else")

    with pytest.raises(UploadError, match="does not match the file's checksum") as caught:
        Folder({"path": str(inbox)}).upload(payload)

    assert caught.value.transient
    assert listing(inbox) == {}


def test_why_a_file_did_not_arrive_reads_in_german(tmp_path, payload):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "collection.pdf").write_bytes(b"yesterday's file")
    problems = []
    for path, local in ((inbox, payload), (tmp_path / "missing", payload)):
        with pytest.raises(UploadError) as caught:
            Folder({"path": str(path)}).upload(local)
        problems.append(caught.value)
    payload.path.write_bytes(b"something else")
    with pytest.raises(UploadError) as caught:
        Folder({"path": str(inbox), "overwrite": True}).upload(payload)
    problems.append(caught.value)

    assert [detail_in("de", str(problem), TRANSLATIONS) for problem in problems] == [
        f"gibt es schon (Überschreiben ist aus): {inbox / 'collection.pdf'}",
        f"das Verzeichnis gibt es nicht: {tmp_path / 'missing'}",
        "die Kopie passt nicht zur Prüfsumme der Datei (die lokale Datei hat sich beim Kopieren "
        "geändert): 14 Byte",
    ]


def test_settings_need_a_path_and_keep_to_the_model():
    with pytest.raises(SettingsError, match="path: Field required"):
        Folder({})
    with pytest.raises(SettingsError, match="retries: Input should be less than or equal to 10"):
        Folder({"path": "/srv/inbox", "retries": 50})
