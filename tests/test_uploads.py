"""core.uploads.deliver: one delivery per key, retries, manifest and record, on SQLite and
PostgreSQL, with the real folder and HTTP targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import plugins.targets.folder as folder
import plugins.targets.http_upload as http_upload
from core import SettingsError
from core.clock import FrozenClock
from core.models import FileDelivery, FileDeliveryStatus
from core.uploads import MANIFEST_SUFFIX, UploadError, UploadUnclear, deliver, file_digest

from panel_helpers import shown_details
from upload_servers import RecordingHttpServer

KEY = "run-3/group:"


@pytest.fixture
def runtime(runtime_factory):
    return runtime_factory(
        ("plugins.targets.folder", folder), ("plugins.targets.http_upload", http_upload)
    )


@pytest.fixture
def server():
    server = RecordingHttpServer()
    yield server
    server.close()


@pytest.fixture
def local(tmp_path):
    path = tmp_path / "run" / "Kampagne-3.csv"
    path.parent.mkdir()
    path.write_text("Nummer;Name\r\nK-1;Weiß\r\n", encoding="utf-8")
    return path


def record(runtime) -> FileDelivery:
    with runtime.database.session() as session:
        return session.scalars(select(FileDelivery).where(FileDelivery.key == KEY)).one()


def to_folder(runtime, local, inbox, **options):
    return deliver(
        runtime,
        key=KEY,
        target="folder",
        settings={"path": str(inbox)},
        path=local,
        remote_name="Kampagne-3.csv",
        **options,
    )


def test_a_file_and_its_manifest_arrive_and_are_recorded(runtime, local, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    runtime.clock = FrozenClock(datetime(2026, 11, 24, 9, 30, tzinfo=UTC))

    delivered = to_folder(runtime, local, inbox, manifest={"rows": 1}, run_id=None)

    size, sha256 = file_digest(local)
    assert (inbox / "Kampagne-3.csv").read_bytes() == local.read_bytes()
    manifest = json.loads((inbox / f"Kampagne-3.csv{MANIFEST_SUFFIX}").read_text())
    assert manifest == {
        "file": "Kampagne-3.csv",
        "size": size,
        "sha256": sha256,
        "rows": 1,
        "created_at": "2026-11-24T09:30:00+00:00",
    }
    assert delivered.location == str(inbox / "Kampagne-3.csv")
    assert delivered.manifest_location == str(inbox / f"Kampagne-3.csv{MANIFEST_SUFFIX}")
    assert (delivered.size, delivered.sha256, delivered.repeated) == (size, sha256, False)
    stored = record(runtime)
    assert (stored.status, stored.attempts, stored.manifest) == (
        FileDeliveryStatus.DONE,
        2,
        manifest,
    )


def test_the_same_key_is_delivered_once(runtime, local, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = to_folder(runtime, local, inbox)
    (inbox / "Kampagne-3.csv").unlink()  # the provider took the file away

    again = to_folder(runtime, local, inbox)

    assert again.repeated and again.id == first.id and again.location == first.location
    assert list(inbox.iterdir()) == []


def test_a_failed_delivery_is_tried_again_and_a_landed_file_is_not_sent_twice(
    runtime, local, server
):
    server.answer(("status", 201), ("status", 403))
    options = {
        "key": KEY,
        "target": "http",
        "settings": {"url": server.url()},
        "path": local,
        "remote_name": "Kampagne-3.csv",
        "manifest": {"rows": 1},
    }

    with pytest.raises(UploadError, match=r"Kampagne-3.csv.manifest.json; the server answered 403"):
        deliver(runtime, **options)
    failed = record(runtime)
    assert failed.status == FileDeliveryStatus.FAILED
    assert failed.file_location == server.url("/inbox/Kampagne-3.csv")
    assert "403" in failed.detail

    delivered = deliver(runtime, **options)

    assert [request.path for request in server.requests] == [
        "/inbox/Kampagne-3.csv",
        "/inbox/Kampagne-3.csv.manifest.json",
        "/inbox/Kampagne-3.csv.manifest.json",
    ]
    assert delivered.attempts == 3
    assert record(runtime).status == FileDeliveryStatus.DONE


def test_a_failed_delivery_reads_in_the_readers_language(runtime, local, tmp_path, panel_app):
    """The target by its title, the file, the target's reason and the tries as parts the
    panel translates one by one; the record and the exception keep the English."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "Kampagne-3.csv").write_text("gestern")

    with pytest.raises(UploadError) as caught:
        to_folder(runtime, local, inbox)

    english = (
        f"folder ({inbox}): Kampagne-3.csv; already exists (overwrite is off): "
        f"{inbox / 'Kampagne-3.csv'}; after 1 attempt"
    )
    assert str(caught.value) == record(runtime).detail == english
    assert shown_details(panel_app, "de", [english]) == [
        f"Ordner ({inbox}): Kampagne-3.csv; gibt es schon (Überschreiben ist aus): "
        f"{inbox / 'Kampagne-3.csv'}; nach 1 Versuch"
    ]
    assert shown_details(panel_app, "en", [english]) == [english.replace("folder", "Folder", 1)]
    again = english.replace("after 1 attempt", "after 3 attempts")
    assert shown_details(panel_app, "de", [again])[0].endswith("; nach 3 Versuchen")
    assert shown_details(panel_app, "en", [again])[0].endswith("; after 3 attempts")


def test_an_unclear_delivery_is_repeated_only_on_request(runtime, local, server):
    server.answer(("slow", 3))
    options = {
        "key": KEY,
        "target": "http",
        "settings": {"url": server.url(), "method": "POST", "timeout": 0.5},
        "path": local,
        "remote_name": "Kampagne-3.csv",
    }

    with pytest.raises(UploadUnclear, match="the server may have taken the file"):
        deliver(runtime, **options)
    assert record(runtime).status == FileDeliveryStatus.UNCLEAR
    with pytest.raises(UploadUnclear, match="deliver again with resend"):
        deliver(runtime, **options)
    assert len(server.requests) == 1

    deliver(runtime, **options, resend=True)

    assert len(server.requests) == 2
    assert {request.headers["Idempotency-Key"] for request in server.requests} == {KEY}
    assert record(runtime).status == FileDeliveryStatus.DONE


def test_a_delivery_whose_process_died_is_unclear_and_one_under_way_is_left_alone(
    runtime, local, tmp_path
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    started = datetime.now(UTC)
    size, sha256 = file_digest(local)
    with runtime.database.session() as session:
        session.add(
            FileDelivery(
                key=KEY,
                target="folder",
                remote_name="Kampagne-3.csv",
                status=FileDeliveryStatus.CLAIMED,
                size=size,
                sha256=sha256,
                attempts=1,
                claimed_by="worker-1:4242",
                claimed_at=started,
                heartbeat_at=started,
            )
        )

    with pytest.raises(UploadError, match="by worker-1:4242 right now") as busy:
        to_folder(runtime, local, inbox)
    assert not isinstance(busy.value, UploadUnclear)

    runtime.clock = FrozenClock(started + timedelta(minutes=3))
    with pytest.raises(UploadUnclear, match="worker-1:4242 stopped while delivering"):
        to_folder(runtime, local, inbox)
    assert record(runtime).status == FileDeliveryStatus.UNCLEAR
    assert list(inbox.iterdir()) == []

    to_folder(runtime, local, inbox, resend=True)
    assert [path.name for path in inbox.iterdir()] == ["Kampagne-3.csv"]
    assert (record(runtime).status, record(runtime).attempts) == (FileDeliveryStatus.DONE, 2)


def test_bad_settings_or_names_stop_before_anything_is_recorded(runtime, local, tmp_path):
    with pytest.raises(SettingsError, match="path: Field required"):
        deliver(runtime, key=KEY, target="folder", settings={}, path=local, remote_name="x.csv")
    with pytest.raises(ValueError, match=r"'\.\./x\.csv' is not a usable file name"):
        deliver(
            runtime,
            key=KEY,
            target="folder",
            settings={"path": str(tmp_path)},
            path=local,
            remote_name="../x.csv",
        )
    with runtime.database.session() as session:
        assert session.scalars(select(FileDelivery)).all() == []


def test_a_long_transfer_keeps_its_claim_alive(runtime, local, server, monkeypatch):
    monkeypatch.setattr("core.jobs.heartbeat.BEAT_SECONDS", 0.05)
    server.answer(("slow", 1))

    deliver(
        runtime,
        key=KEY,
        target="http",
        settings={"url": server.url()},
        path=local,
        remote_name="Kampagne-3.csv",
    )

    stored = record(runtime)
    assert stored.heartbeat_at > stored.claimed_at
