"""SMS gateway "outbox": writes each message as one JSON line to a file, for development.

The file lives in ``<data dir>/outbox/``. Sending the same reference again returns the
first message's id and writes nothing, like a provider that honours idempotency keys;
an exclusive file lock keeps that true across worker processes.
"""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core import SmsGateway, hookimpl
from core.jobs.functions import current_runtime
from core.messaging.sms import check_sender
from plugins.gateways import TRANSLATIONS


class OutboxParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        "sms-outbox.jsonl",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="File name inside the data directory's outbox folder.",
    )
    sender: str = ""
    billing: Literal["sent", "delivered"] = Field(
        "sent", description="Count the costs of every message, or only of delivered ones."
    )

    @field_validator("sender")
    @classmethod
    def _sender(cls, sender: str) -> str:
        return check_sender(sender) if sender else sender


class OutboxGateway(SmsGateway):
    name = "outbox"
    title = "Outbox file (development)"
    description = "Writes every message as a JSON line to a file in the data directory."
    Params = OutboxParams
    params: OutboxParams

    def __init__(self, params: Any = None):
        super().__init__(params)
        runtime = current_runtime()  # a gateway gets no run context: the job's runtime
        self.clock = runtime.clock
        self.path = runtime.settings.data_dir / "outbox" / self.params.file
        self._sent: dict[str, str] = {}
        self._read_to = 0

    def send(self, number: str, text: str, reference: str) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._catch_up(handle)
            if reference in self._sent:
                return self._sent[reference]
            message_id = uuid.uuid4().hex
            line = {
                "id": message_id,
                "reference": reference,
                "number": number,
                "sender": self.params.sender,
                "text": text,
                "at": self.clock.now().isoformat(),
            }
            handle.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
            handle.flush()
            self._read_to = handle.tell()
            self._sent[reference] = message_id
            return message_id

    def _catch_up(self, handle: Any) -> None:
        """Learn the references other processes wrote since this instance last looked."""
        handle.seek(self._read_to)
        data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            entry = json.loads(line)
            self._sent[entry["reference"]] = entry["id"]
        self._read_to += len(complete)


@hookimpl
def register_sms_gateways(register: Callable[[type[SmsGateway]], None]) -> None:
    register(OutboxGateway)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
