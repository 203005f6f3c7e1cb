"""The "outbox" SMS gateway: one JSON line per message in the data directory, once per reference."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from core import SettingsError
from core.clock import FrozenClock
from plugins.gateways.outbox_sms import OutboxGateway


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    runtime = SimpleNamespace(
        settings=SimpleNamespace(data_dir=tmp_path),
        clock=FrozenClock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    )
    monkeypatch.setattr("core.jobs.functions._runtime", runtime)
    return tmp_path


def lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_message_is_one_json_line(data_dir):
    gateway = OutboxGateway({"sender": "Campaign"})
    first = gateway.send("+491712345678", "Hallo Çağla 😀", "run1-contacts:1")
    second = gateway.send("+491512345678", "Hallo Max", "run1-contacts:2")
    assert first != second
    assert lines(data_dir / "outbox" / "sms-outbox.jsonl") == [
        {
            "id": first,
            "reference": "run1-contacts:1",
            "number": "+491712345678",
            "sender": "Campaign",
            "text": "Hallo Çağla 😀",
            "at": "2026-03-01T09:30:00+00:00",
        },
        {
            "id": second,
            "reference": "run1-contacts:2",
            "number": "+491512345678",
            "sender": "Campaign",
            "text": "Hallo Max",
            "at": "2026-03-01T09:30:00+00:00",
        },
    ]


def test_a_reference_is_written_once_also_by_another_instance(data_dir):
    first = OutboxGateway({"file": "dev.jsonl"})
    message_id = first.send("+491712345678", "Hi", "run1-contacts:1")
    assert first.send("+491712345678", "Hi", "run1-contacts:1") == message_id
    other = OutboxGateway({"file": "dev.jsonl"})  # another worker process
    assert other.send("+491712345678", "Hi", "run1-contacts:1") == message_id
    other.send("+491712345678", "Hi", "run1-contacts:2")
    assert (
        first.send("+491712345678", "Hi", "run1-contacts:2")
        == lines(data_dir / "outbox" / "dev.jsonl")[1]["id"]
    )
    assert len(lines(data_dir / "outbox" / "dev.jsonl")) == 2


@pytest.mark.parametrize("file", ["../escape.jsonl", "/tmp/x.jsonl", ".hidden", "a/b.jsonl"])
def test_the_file_stays_inside_the_outbox_folder(data_dir, file):
    with pytest.raises(SettingsError, match="file: String should match pattern"):
        OutboxGateway({"file": file})
