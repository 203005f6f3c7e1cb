"""Action "sms": one text message per recipient, through a registered SMS gateway.

The text is a sandboxed template filled from the recipient's record; the number is
normalised to E.164 and must be a mobile number. The ledger reference of the row goes to
the gateway as idempotency key, and the segment count is recorded as the row's units,
which is what providers bill.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core import Action, Channel, Outcome, Recipient, SettingsError, SmsGateway, hookimpl
from core.documents.templating import CompiledTemplate, compile_template, nest
from core.messages import ExplainedError, english_plural, stored_for
from core.messaging.sending import MaybeSentError, NotSentError, SendingThread, ledger_reference
from core.messaging.sms import (
    PER_PART,
    SmsEncoding,
    check_sender,
    encode_info,
    normalise_mobile,
)
from core.models import ItemStatus
from core.reach import SkipReason
from plugins.actions import TRANSLATIONS

MOBILE_FIELDS = ("mobile", "contact.mobile")
"""Where the number is: on a contact, or on the contact of a contract."""
log = logging.getLogger(__name__)
stored = stored_for(__name__)

MAX_SEGMENTS = 10
MAX_TEXT = MAX_SEGMENTS * PER_PART["GSM-7"]
"""No text longer than this fits in MAX_SEGMENTS segments, whatever its encoding."""
MAX_TEMPLATE = 2000


def compiled(template: str) -> CompiledTemplate:
    """The text template, compiled once per process (validation and every chunk reuse it)."""
    return compile_template(template, html=False, max_source=MAX_TEMPLATE, max_output=MAX_TEXT)


class SmsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gateway: str = Field(
        min_length=1,
        description="Name of a registered SMS gateway.",
        json_schema_extra={"x-options": "sms_gateways"},
    )
    gateway_settings: dict[str, Any] = Field(
        default_factory=dict, description="Settings of the gateway, checked when sending."
    )
    template: str = Field(
        min_length=1,
        max_length=MAX_TEMPLATE,
        description="Text with placeholders such as {{ first_name }}.",
    )
    sender: str = Field("", description="Sender name (up to 11 characters) or number.")
    region: str = Field("DE", description="Country whose national number format is assumed.")
    max_segments: int = Field(3, ge=1, le=MAX_SEGMENTS, description="Longer texts are refused.")

    @field_validator("template")
    @classmethod
    def _compiles(cls, template: str) -> str:
        compiled(template)
        return template

    @field_validator("sender")
    @classmethod
    def _sender(cls, sender: str) -> str:
        return check_sender(sender) if sender else sender

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ExplainedError(
                stored("unknown region '{region}'; use a country code such as DE", region=region)
            )
        return region.upper()


@dataclass(frozen=True, slots=True)
class Message:
    number: str
    text: str
    encoding: SmsEncoding


def _segments(count: int) -> str:
    """How many parts a message is sent in, as its detail says it."""
    return english_plural("{0} segment", "{0} segments", count)


def mobile_of(data: Mapping[str, Any]) -> Any:
    for field in MOBILE_FIELDS:
        if field in data:
            return data[field]
    raise ValueError(f"the record has no mobile number field: {', '.join(MOBILE_FIELDS)}")


class Sms(Action):
    name = "sms"
    title = "SMS"
    description = (
        "Sends a text message to each recipient's mobile number through an SMS gateway; "
        "costs are counted in segments."
    )
    Params = SmsParams
    params: SmsParams
    channel = Channel.MOBILE
    cost_unit = "segments"
    external_effects = True
    chunk_size = 1000
    """A message takes ~2 ms: a job's fork and start would cost a 200-message chunk 10%."""

    def __init__(self, params: Any = None):
        super().__init__(params)
        self.template = compiled(self.params.template)
        self._gateway: SmsGateway | None = None
        self._sending = SendingThread("sms")

    def gateway(self, context: Any) -> SmsGateway:
        """The configured gateway, built on first use: its settings are checked when sending
        because the process that saves a campaign need not have the gateway plugin."""
        if self._gateway is None:
            cls = context.runtime.plugins.sms_gateways.get(self.params.gateway)
            settings = dict(self.params.gateway_settings)
            if self.params.sender:
                if "sender" not in cls.Params.model_fields:
                    problem = f"the gateway {cls.name!r} takes no sender"
                    raise SettingsError(self.kind, self.name, [("sender", problem)])
                settings["sender"] = self.params.sender
            self._gateway = cls(settings)
        return self._gateway

    def compose(self, recipient: Recipient, number: str | None = None) -> Message:
        """The message for ``recipient`` (to ``number`` if the caller normalised it already),
        or a ValueError saying why none can be sent."""
        if number is None:
            number = normalise_mobile(mobile_of(recipient.data), self.params.region)
        text = self.template.render(nest(recipient.data))
        if not text.strip():
            raise ValueError("the text is empty")
        encoding = encode_info(text)
        if encoding.segments > self.params.max_segments:
            raise ValueError(
                f"the text needs {encoding.segments} segments ({encoding.encoding}, "
                f"{encoding.characters} characters), more than the {self.params.max_segments} "
                "allowed"
            )
        return Message(number, text, encoding)

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        prepared = self._prepare(recipient, context)
        if isinstance(prepared, Outcome):
            return prepared
        message, reference = prepared
        gateway = self.gateway(context)
        # on the sending thread too: only that thread ever uses the gateway's connection
        sending = self._sending.submit(gateway.send, message.number, message.text, reference)
        return self._settled(message, gateway, sending.result)

    def process_many(self, recipients: Sequence[Recipient], context: Any) -> list[Outcome]:
        """Each message goes to the gateway on the sending thread while the next one is
        composed."""
        steps: list[Outcome | tuple[Message, SmsGateway, Callable[[], str]]] = []
        for recipient in recipients:
            try:  # nothing of this one was sent yet: a surprise fails it alone
                prepared = self._prepare(recipient, context)
                if not isinstance(prepared, Outcome):
                    gateway = self.gateway(context)
            except Exception as exc:
                log.warning("SMS to %s not sent", recipient.key, exc_info=True)
                prepared = Outcome.failed(f"{type(exc).__name__}: {exc}")
            if isinstance(prepared, Outcome):
                steps.append(prepared)
                continue
            message, reference = prepared
            sending = self._sending.submit(gateway.send, message.number, message.text, reference)
            steps.append((message, gateway, sending.result))
        return [step if isinstance(step, Outcome) else self._settled(*step) for step in steps]

    def _prepare(self, recipient: Recipient, context: Any) -> Outcome | tuple[Message, str]:
        """The message and its idempotency reference, or the outcome that says why none."""
        try:
            raw = mobile_of(recipient.data)
        except ValueError as exc:
            return Outcome.failed(str(exc))
        try:  # the number is parsed once: what makes it no mobile number makes it unusable
            number = normalise_mobile(raw, self.params.region)
        except ValueError:
            return Outcome.skipped(SkipReason.NO_MOBILE.value)  # nothing to do: no failure
        try:
            message = self.compose(recipient, number)
        except ValueError as exc:
            return Outcome.failed(str(exc))
        return message, ledger_reference(context.run_id, recipient.key)

    @staticmethod
    def _settled(message: Message, gateway: SmsGateway, sending: Callable[[], str]) -> Outcome:
        """The outcome once the gateway answered (``sending`` gives its message id)."""
        try:
            message_id = sending()
        except MaybeSentError as exc:
            return Outcome(ItemStatus.UNCLEAR.value, str(exc), 0)
        except NotSentError as exc:
            return Outcome.failed(str(exc))
        encoding = message.encoding
        return Outcome.done(
            f"{encoding.encoding}, {_segments(encoding.segments)}; "
            f"message id: {message_id or 'unknown'}",
            units=encoding.segments,
            reference=message_id or None,
            billed_on_delivery=gateway.bills_on_delivery(),
        )

    def preview(self, recipient: Recipient, context: Any) -> str:
        try:
            message = self.compose(recipient)
        except ValueError as exc:
            return f"no SMS: {exc}"
        encoding = message.encoding
        return (
            f"SMS to: {message.number}; gateway: {self.params.gateway}; {encoding.encoding}, "
            f"{_segments(encoding.segments)}; text: {message.text}"  # last: it may have "; "
        )


@hookimpl
def register_actions(register: Callable[[type[Action]], None]) -> None:
    register(Sms)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
