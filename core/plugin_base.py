"""Base classes for every kind of plugin.

A plugin class describes itself (``name``, ``title``, ``description``, a pydantic ``Params``
model) so that the platform can list it, validate its settings and draw its form unaided.
"""

from __future__ import annotations

import enum
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select

from core.sms_webhooks import (
    InboundSms,
    Receipt,
    WebhookRequest,
    check_signature,
    standard_inbound,
    standard_receipts,
)
from core.validation import validation_problems
from core.workflows.schedules import ScheduleError, check_cron

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
BATCH_SIZE = 1000


class PluginDefinitionError(TypeError):
    """A plugin class is missing something the platform needs to use it."""


class SettingsError(ValueError):
    """Settings for a plugin do not fit its parameter model; the message names each field."""

    def __init__(self, kind: str, name: str, problems: list[tuple[str, str]]):
        self.kind, self.name, self.problems = kind, name, problems
        details = "; ".join(f"{field_name}: {message}" for field_name, message in problems)
        super().__init__(f"invalid settings for {kind} {name!r}: {details}")


class NoParams(BaseModel):
    """Parameter model of a plugin that takes no settings."""

    model_config = ConfigDict(extra="forbid")


class Plugin(ABC):
    """What every plugin kind shares: identity, help text and a validated parameter model."""

    kind: ClassVar[str] = "plugin"
    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: BaseModel | Mapping[str, Any] | None = None):
        valid = isinstance(params, self.Params)
        self.params = params if valid else self.validate_params(params or {})

    @classmethod
    def check_definition(cls) -> None:
        """Refuse a class that cannot be registered, with the reason."""
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise PluginDefinitionError(
                f"{cls.__qualname__} needs a 'name' of letters, digits, '_', '.' or '-' "
                f"starting with a letter, got {name!r}"
            )
        if not isinstance(getattr(cls, "title", None), str) or not cls.title.strip():
            cls._refuse(" needs a 'title'")
        if inspect.isabstract(cls):
            cls._refuse(f" does not implement {', '.join(sorted(cls.__abstractmethods__))}")
        if not (isinstance(cls.Params, type) and issubclass(cls.Params, BaseModel)):
            cls._refuse(": 'Params' must be a pydantic BaseModel subclass")

    @classmethod
    def _refuse(cls, problem: str) -> NoReturn:
        """Raise a PluginDefinitionError naming the class: ``problem`` follows its name."""
        raise PluginDefinitionError(f"{cls.__qualname__} ({cls.name}){problem}")

    @classmethod
    def validate_params(cls, raw: Mapping[str, Any]) -> BaseModel:
        """Validate stored or submitted settings; raise SettingsError naming every bad field."""
        try:
            return cls.Params.model_validate(dict(raw))
        except ValidationError as exc:
            raise SettingsError(cls.kind, cls.name, validation_problems(exc)) from None

    @classmethod
    def params_schema(cls) -> dict[str, Any]:
        """JSON schema of the settings, from which the web panel draws a form."""
        return cls.Params.model_json_schema()

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Plain-data summary used by listings and the API."""
        return {key: getattr(cls, key) for key in ("kind", "name", "title", "description")}


@dataclass(frozen=True, slots=True)
class Recipient:
    """One record a data source yields; ``data`` holds its fields by query-builder path
    ("email", "partner.number"), ``held_out`` marks a control-group member."""

    key: str
    entity: str
    id: int | None
    data: Mapping[str, Any] = field(default_factory=dict)
    group: str | None = None
    held_out: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """A group a data source can split its recipients into, with its size."""

    key: str
    label: str
    count: int


def record_name(data: Mapping[str, Any] | None) -> str:
    """A record's name for people: first and last name, else company name, name or code."""
    if not data:
        return ""
    person = " ".join(str(data[k]) for k in ("first_name", "last_name") if data.get(k))
    return person or str(data.get("company_name") or data.get("name") or data.get("code") or "")


class DataSource(Plugin):
    """Turns a campaign's settings into recipients, optionally in groups, through ``select``
    (SQL, so that filters and targeting run in the database) or ``iter_recipients``, or both."""

    kind = "datasource"
    dynamic: ClassVar[bool] = True
    """False when the recipients were stored once (static data, an imported file)."""

    @abstractmethod
    def entity(self) -> str:
        """The entity the recipients are records of, e.g. "contacts" (see ``core.query``)."""

    def select(self, context: Any) -> Select | None:
        """A select over the entity's table with columns ``id`` and ``group_key``, or None."""
        return None

    def load(self, context: Any, ids: Sequence[int]) -> dict[int, Recipient]:
        """The recipients with these ids and their data, for a chunk of work."""
        from core.query.records import load_records

        entity = self.entity()
        return {
            record_id: Recipient(f"{entity}:{record_id}", entity, record_id, data)
            for record_id, data in load_records(context.session, entity, ids).items()
        }

    def iter_recipients(self, context: Any) -> Iterator[Recipient]:
        """Yield recipients one by one, never a full list; the default reads ``select``."""
        query = self.select(context)
        if query is None:
            raise NotImplementedError(f"{self.name} implements neither select nor iter_recipients")
        return self.iter_selected(query, context)

    def iter_selected(self, query: Select, context: Any) -> Iterator[Recipient]:
        """Stream the recipients of ``query`` (``select`` narrowed by filters) in batches."""
        rows = context.session.execute(query.execution_options(yield_per=BATCH_SIZE))
        for batch in rows.partitions():
            loaded = self.load(context, [row.id for row in batch])
            yield from (
                replace(loaded[row.id], group=row.group_key) for row in batch if row.id in loaded
            )

    def list_groups(self, context: Any) -> list[Group]:
        """The groups this source splits into with their sizes; none by default."""
        return []

    def display_name(self, recipient: Recipient) -> str:
        """How a run's results name the recipient: ``record_name`` of its data, else its key."""
        return record_name(recipient.data) or recipient.key

    @classmethod
    def check_definition(cls) -> None:
        super().check_definition()
        if cls.select is DataSource.select and cls.iter_recipients is DataSource.iter_recipients:
            cls._refuse(" must implement select or iter_recipients")


class RecipientFilter(Plugin):
    """Narrows recipients in SQL (``narrow``) where it can, else as a stream; one that
    ``holds_out`` (a control group, the last filter) marks those it leaves out as held out."""

    kind = "recipient_filter"
    holds_out: ClassVar[bool] = False

    def narrow(self, query: Select, context: Any) -> Select | None:
        """Return ``query`` narrowed in SQL (same columns, same root table), or None."""
        return None

    @abstractmethod
    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        """Yield the recipients that pass, streaming (a ``holds_out`` filter marks some)."""


class Scope(enum.StrEnum):
    """Whether an action runs once per recipient or once per group."""

    RECIPIENT = "recipient"
    GROUP = "group"


class Channel(enum.StrEnum):
    """The contact channel an action needs to reach a recipient."""

    POSTAL = "postal"
    EMAIL = "email"
    MOBILE = "mobile"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did for one recipient or group."""

    status: str  # "done", "failed" or "skipped"
    detail: str = ""
    units: int = 1
    reference: str | None = None
    billed_on_delivery: bool = False
    """The provider bills the message only once a receipt says it was delivered."""

    @classmethod
    def done(
        cls,
        detail: str = "",
        *,
        units: int = 1,
        reference: str | None = None,
        billed_on_delivery: bool = False,
    ) -> Outcome:
        return cls("done", detail, units, reference, billed_on_delivery)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        return cls("failed", reason, 0)

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        return cls("skipped", reason, 0)


class Action(Plugin):
    """Does something for each recipient (or group) of a campaign run."""

    kind = "action"
    scope: ClassVar[Scope] = Scope.RECIPIENT
    channel: ClassVar[Channel] = Channel.NONE
    cost_unit: ClassVar[str | None] = None
    stock_items: ClassVar[tuple[str, ...]] = ()
    external_effects: ClassVar[bool] = False
    """True when the effect leaves our database (SMS, e-mail, upload) and must be claimed first."""
    chunk_size: ClassVar[int] = 200
    """Recipients per worker job: large enough to amortise a job, small enough to spread."""

    @abstractmethod
    def process(self, recipient: Recipient, context: Any) -> Outcome:
        """Perform the action for one recipient or group and say what happened."""

    def process_many(self, recipients: Sequence[Recipient], context: Any) -> list[Outcome]:
        """``process`` for several claimed recipients, so that a channel can send one message
        while it prepares the next; an exception makes every outcome of the call unclear."""
        return [self.process(recipient, context) for recipient in recipients]

    def warm_up(self, recipient: Recipient | None, context: Any) -> None:
        """Load, without side effects, what every chunk needs (templates, fonts): the worker
        calls it before forking, so that each work horse inherits it instead of loading it."""

    def preview(self, recipient: Recipient, context: Any) -> str:
        """Describe, without any side effect, what ``process`` would do (for dry runs)."""
        return f"{self.title}: {recipient.key}"

    def finish(self, context: Any) -> None:
        """Run once after every item of a run is processed (merge files, send a summary)."""

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return super().describe() | {
            "scope": cls.scope.value,
            "channel": cls.channel.value,
            "cost_unit": cls.cost_unit,
            "stock_items": list(cls.stock_items),
            "external_effects": cls.external_effects,
        }


class Workflow(Plugin):
    """A background campaign process the scheduler runs; ``default_cron`` (five fields, local
    time) or else ``default_interval`` is its first schedule, which operators change later."""

    kind = "workflow"
    default_interval: ClassVar[timedelta] = timedelta(minutes=15)
    default_cron: ClassVar[str | None] = None

    @classmethod
    def check_definition(cls) -> None:
        super().check_definition()
        interval = cls.default_interval
        if not isinstance(interval, timedelta) or interval <= timedelta(0):
            cls._refuse(f": 'default_interval' must be a positive timedelta, got {interval!r}")
        try:
            if cls.default_cron is not None:
                check_cron(cls.default_cron)
        except ScheduleError as exc:
            cls._refuse(f": 'default_cron': {exc}")

    @abstractmethod
    def run(self, context: Any) -> str:
        """Do one idempotent pass (given a ``WorkflowContext``); return a one-line summary."""


class SmsGateway(Plugin):
    """Delivers text messages to a provider and reads its webhooks, by default in the
    platform's format (``core.sms_webhooks``); a provider with its own overrides them."""

    kind = "sms_gateway"

    @abstractmethod
    def send(self, number: str, text: str, reference: str) -> str:
        """Send one message; return the provider's message id. ``reference`` is idempotent."""

    def bills_on_delivery(self) -> bool:
        """Whether the provider bills only delivered messages (setting ``billing: delivered``)."""
        return getattr(self.params, "billing", "sent") == "delivered"

    @classmethod
    def authenticate(cls, request: WebhookRequest, secret: str, now: datetime) -> str | None:
        """Check that a webhook request comes from the provider (``WebhookRefused``
        otherwise); return a key the panel accepts only once (a signature), or None."""
        return check_signature(request, secret, now)

    @classmethod
    def parse_receipts(cls, request: WebhookRequest) -> list[Receipt]:
        """The delivery receipts in an authenticated request (``WebhookRefused`` if unreadable)."""
        return standard_receipts(request)

    @classmethod
    def parse_inbound(cls, request: WebhookRequest) -> list[InboundSms]:
        """The messages in an authenticated inbound request (``WebhookRefused`` if unreadable)."""
        return standard_inbound(request)


class UploadTargetParams(BaseModel):
    """The retry policy every upload target has, so ``core.uploads.deliver`` finds it."""

    model_config = ConfigDict(extra="forbid")

    retries: int = Field(3, ge=0, le=10, description="Further tries after a transient failure.")
    backoff: float = Field(
        2.0, ge=0, le=300, description="Seconds before the first retry; doubles each time."
    )
    max_backoff: float = Field(60.0, ge=0, le=3600, description="Longest wait between tries.")


class UploadTarget(Plugin):
    """A place files are delivered to; it only transfers (``core.uploads.deliver`` does the
    rest) and raises ``UploadError`` when a file did not arrive, ``UploadUnclear`` if unsure."""

    kind = "upload_target"
    Params: ClassVar[type[BaseModel]] = UploadTargetParams

    @abstractmethod
    def upload(self, upload: Any) -> str:
        """Deliver one file complete or not at all; return where it landed (a URL or path)."""

    def where(self) -> str:
        """Where this target delivers to, for messages (never with a password)."""
        return self.name

    def close(self) -> None:
        """Release connections kept between uploads (one delivery uploads up to two files)."""

    @classmethod
    def check_definition(cls) -> None:
        super().check_definition()
        if not issubclass(cls.Params, UploadTargetParams):
            cls._refuse(": 'Params' must derive from UploadTargetParams")


class DocumentStore(Plugin):
    """Stores the bytes of archived documents: writing a key replaces it whole, never visibly
    half-written, so a retry is idempotent; a missing reference raises ``FileNotFoundError``."""

    kind = "document_store"
    chunk_size = 1024 * 1024
    """Bytes per chunk that ``get_stream`` yields (the last one may be shorter)."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` and return a reference that ``get`` and ``delete`` accept."""

    @abstractmethod
    def get(self, reference: str) -> bytes:
        """The bytes stored under ``reference``."""

    @abstractmethod
    def delete(self, reference: str) -> None:
        """Remove the stored bytes; deleting what is already gone is not an error."""

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> str:
        """``put`` for consecutive chunks; a store that can write piece by piece overrides it."""
        return self.put(key, b"".join(chunks))

    def get_stream(self, reference: str) -> Iterator[bytes]:
        """The stored bytes in chunks (a missing reference raises at once); a store that can
        read piece by piece overrides it."""
        data, size = self.get(reference), self.chunk_size
        return (data[start : start + size] for start in range(0, len(data), size))

    def sync(self) -> None:
        """Make everything ``put`` so far durable; the archive calls it just before its
        transaction commits, so a store may flush once per transaction."""
