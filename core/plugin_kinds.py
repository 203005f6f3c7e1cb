"""Base classes for every kind of plugin.

A plugin class is a description first (``name``, ``title``, ``description``, a
pydantic ``Params`` model) so that the platform can list it, validate its settings
and draw a form for it without knowing anything else about it.
"""

from __future__ import annotations

import enum
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")


class PluginDefinitionError(TypeError):
    """A plugin class is missing something the platform needs to use it."""


class SettingsError(ValueError):
    """Settings for a plugin do not fit its parameter model; the message names each field."""

    def __init__(self, kind: str, name: str, problems: list[tuple[str, str]]):
        self.kind = kind
        self.name = name
        self.problems = problems
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
        if not isinstance(params, self.Params):
            params = self.validate_params(params or {})
        self.params = params

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
            raise PluginDefinitionError(f"{cls.__qualname__} ({name}) needs a 'title'")
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))
            raise PluginDefinitionError(f"{cls.__qualname__} ({name}) does not implement {missing}")
        if not (isinstance(cls.Params, type) and issubclass(cls.Params, BaseModel)):
            raise PluginDefinitionError(
                f"{cls.__qualname__} ({name}): 'Params' must be a pydantic BaseModel subclass"
            )

    @classmethod
    def validate_params(cls, raw: Mapping[str, Any]) -> BaseModel:
        """Validate stored or submitted settings; raise SettingsError naming every bad field."""
        try:
            return cls.Params.model_validate(dict(raw))
        except ValidationError as exc:
            problems = [
                (".".join(str(part) for part in error["loc"]) or "(settings)", error["msg"])
                for error in exc.errors()
            ]
            raise SettingsError(cls.kind, cls.name, problems) from None

    @classmethod
    def params_schema(cls) -> dict[str, Any]:
        """JSON schema of the settings, from which the web panel draws a form."""
        return cls.Params.model_json_schema()

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Plain-data summary used by listings and the API."""
        return {
            "kind": cls.kind,
            "name": cls.name,
            "title": cls.title,
            "description": cls.description,
        }


@dataclass(frozen=True, slots=True)
class Recipient:
    """One record a data source yields: a stable key, its entity and the fields actions use."""

    key: str
    entity: str
    id: int | None
    data: Mapping[str, Any] = field(default_factory=dict)
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A group a data source can split its recipients into, with its size."""

    key: str
    label: str
    count: int


class DataSource(Plugin):
    """Turns a campaign's settings into a stream of recipients, optionally split into groups."""

    kind = "datasource"

    @abstractmethod
    def iter_recipients(
        self, session: Any, groups: Iterable[str] | None = None
    ) -> Iterator[Recipient]:
        """Yield recipients one by one (never a full list), restricted to ``groups`` if given."""

    def list_groups(self, session: Any) -> list[Group]:
        """The groups this source splits into; a source without groups returns none."""
        return []


class RecipientFilter(Plugin):
    """Narrows a stream of recipients; it must stream and never hold them all in memory."""

    kind = "recipient_filter"

    @abstractmethod
    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        """Yield the recipients that pass."""


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

    @classmethod
    def done(cls, detail: str = "", *, units: int = 1, reference: str | None = None) -> Outcome:
        return cls("done", detail, units, reference)

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

    @abstractmethod
    def process(self, recipient: Recipient, context: Any) -> Outcome:
        """Perform the action for one recipient or group and say what happened."""

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
    """A background campaign process run on a schedule by the scheduler."""

    kind = "workflow"
    default_interval: ClassVar[timedelta] = timedelta(minutes=15)

    @abstractmethod
    def run(self, context: Any) -> str:
        """Do one pass of the process and return a one-line summary of what it did."""


class SmsGateway(Plugin):
    """Delivers text messages to a provider."""

    kind = "sms_gateway"

    @abstractmethod
    def send(self, number: str, text: str, reference: str) -> str:
        """Send one message; return the provider's message id. ``reference`` is idempotent."""


class UploadTarget(Plugin):
    """A place a run's files can be delivered to."""

    kind = "upload_target"

    @abstractmethod
    def upload(self, local_path: Any, remote_name: str) -> str:
        """Deliver one file complete or not at all; return where it landed."""


class DocumentStore(Plugin):
    """Stores the bytes of archived documents; the archive keeps the metadata."""

    kind = "document_store"

    @abstractmethod
    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` and return a reference that ``get`` and ``delete`` accept."""

    @abstractmethod
    def get(self, reference: str) -> bytes:
        """Return the stored bytes."""

    @abstractmethod
    def delete(self, reference: str) -> None:
        """Remove the stored bytes; deleting what is already gone is not an error."""
