"""The API's request and answer models; the OpenAPI document's schemas are generated from
these (``webapp.api.spec``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.engine.hourly_limit import MOST_PER_HOUR
from core.models import ContactKind, ContactStatus, DispatchChannel

Text40 = Field(default=None, max_length=40)
Text100 = Field(default=None, max_length=100)
Text200 = Field(default=None, max_length=200)


class Strict(BaseModel):
    """Request bodies refuse fields they do not know: a typo is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


# -- contacts -------------------------------------------------------------------------------------


class ContactFields(Strict):
    """A contact's fields as the address book's import rules check them; any may be left out."""

    number: str | None = Field(default=None, max_length=20)
    salutation: str | None = Text40
    title: str | None = Text40
    first_name: str | None = Text100
    last_name: str | None = Text100
    company_name: str | None = Text200
    street: str | None = Text200
    address_extra: str | None = Text200
    postcode: str | None = Field(default=None, max_length=10)
    city: str | None = Text100
    country: str | None = Field(default=None, max_length=60)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Text40
    mobile: str | None = Text40
    kind: ContactKind | None = None
    status: ContactStatus | None = None
    preferred_channel: DispatchChannel | None = None
    birth_date: date | None = None
    dispatch_block: bool | None = None
    opt_out_post: bool | None = None
    opt_out_email: bool | None = None
    opt_out_sms: bool | None = None
    opt_out_phone: bool | None = None


class Contact(BaseModel):
    id: int
    number: str
    kind: str
    salutation: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    company_name: str | None
    street: str | None
    address_extra: str | None
    postcode: str | None
    city: str | None
    country: str
    email: str | None
    phone: str | None
    mobile: str | None
    language: str
    birth_date: date | None
    status: str
    preferred_channel: str
    dispatch_block: bool
    opt_out_post: bool
    opt_out_email: bool
    opt_out_sms: bool
    opt_out_phone: bool


class ContactPage(BaseModel):
    items: list[Contact]
    next_cursor: str | None


class ContactListQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    email: str | None = Field(default=None, max_length=254, description="exact e-mail address")
    number: str | None = Field(default=None, max_length=20, description="contact number")


class BulkUpsert(Strict):
    match_on: Literal["number", "email", "name_address"] | None = Field(
        default=None,
        description="how rows find their contact; default: the number if rows have one, else "
        "the e-mail address",
    )
    update_existing: bool = Field(
        default=True, description="rows that match a contact update it (else they are errors)"
    )
    only_valid_rows: bool = Field(
        default=False, description="store the valid rows even if others have errors"
    )
    rows: list[ContactFields] = Field(min_length=1, max_length=10_000)


class RowProblem(BaseModel):
    row: int
    """The row's index in ``rows``."""
    errors: list[dict[str, str]]


class BulkResult(BaseModel):
    created: int
    updated: int
    stored: bool
    """False if rows had errors and ``only_valid_rows`` was not set: nothing was stored."""
    errors: list[RowProblem]


class Consent(Strict):
    """Set some of the contact's dispatch block and opt-outs; every change is recorded."""

    dispatch_block: bool | None = None
    opt_out_post: bool | None = None
    opt_out_email: bool | None = None
    opt_out_sms: bool | None = None
    opt_out_phone: bool | None = None


# -- saved queries --------------------------------------------------------------------------------


class SavedQuery(BaseModel):
    id: int
    name: str
    description: str
    definition: dict[str, Any]
    is_distribution_list: bool
    created_by: str | None


class SavedQueryPage(BaseModel):
    items: list[SavedQuery]
    next_cursor: str | None


class NewSavedQuery(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    definition: dict[str, Any] = Field(
        description="a query in the JSON query format (docs/queries.md)"
    )
    is_distribution_list: bool = False


class Count(BaseModel):
    count: int


class Preview(BaseModel):
    fields: list[str]
    rows: list[dict[str, Any]]
    next_cursor: str | None


class PreviewQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)


# -- campaigns ------------------------------------------------------------------------------------


class FilterEntry(Strict):
    name: str = Field(min_length=1, max_length=100)
    settings: dict[str, Any] = {}


class CampaignSettings(Strict):
    """The plugins of a campaign and their settings, each checked by the plugin's parameter
    model (``GET /plugins`` lists them with their JSON Schemas)."""

    datasource: str = Field(min_length=1, max_length=100)
    datasource_settings: dict[str, Any] = {}
    filters: list[FilterEntry] = Field(default=[], max_length=50)
    action: str = Field(min_length=1, max_length=100)
    action_settings: dict[str, Any] = {}


TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class SendingWindow(Strict):
    """The days and hours a campaign's runs reach people, in the installation's time zone;
    the end is later in the day than the start."""

    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        min_length=1, max_length=7, description="0 is Monday, 6 Sunday"
    )
    start: str = Field(pattern=TIME_OF_DAY, examples=["08:00"])
    end: str = Field(pattern=TIME_OF_DAY, examples=["20:00"])


HourlyLimit = Annotated[
    int,
    Field(
        ge=1,
        le=MOST_PER_HOUR,
        description="at most so many sends in any hour, all runs of the campaign together",
    ),
]


class NewCampaign(CampaignSettings):
    name: str | None = Field(default=None, max_length=200, description="default: generated")
    description: str = Field(default="", max_length=10_000)
    sending_window: SendingWindow | None = Field(default=None, description="default: any time")
    hourly_limit: HourlyLimit | None = Field(default=None, description="default: no limit")


class CampaignChange(Strict):
    """What to change; settings, if given, replace the campaign's whole configuration."""

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    settings: CampaignSettings | None = None
    sending_window: SendingWindow | None = Field(default=None, description="null: any time")
    hourly_limit: HourlyLimit | None = Field(default=None, description="null: no limit")


class Campaign(BaseModel):
    id: int
    name: str
    description: str
    state: str
    datasource: str
    datasource_settings: dict[str, Any]
    filters: list[dict[str, Any]]
    action: str
    action_settings: dict[str, Any]
    service_communication: bool
    sending_window: SendingWindow | None
    hourly_limit: int | None
    created_by: str | None
    last_execution: datetime | None


class CampaignPage(BaseModel):
    items: list[Campaign]
    next_cursor: str | None


class StartRun(Strict):
    limit: int | None = Field(
        default=None, ge=1, le=100_000_000, description="at most this many recipients"
    )


class Plugin(BaseModel):
    kind: str
    name: str
    title: str
    settings_schema: dict[str, Any]


class PluginList(BaseModel):
    items: list[Plugin]


# -- runs -----------------------------------------------------------------------------------------


class Counts(BaseModel):
    targeted: int
    done: int
    failed: int
    skipped: int
    unclear: int
    held_out: int


class Confirmation(BaseModel):
    """What a real run would do once started: send ``POST /runs/{id}/start`` with ``reached``."""

    reached: int
    members: int
    skipped: dict[str, int]
    held_out: int
    channel: str
    cost: str | None


class Run(BaseModel):
    id: int
    campaign_id: int
    number: int
    state: str
    dry_run: bool
    limit: int | None
    counts: Counts
    percent: int
    """0 to 100; -1 while targeting has not counted the recipients yet."""
    started_by: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    voided_at: datetime | None
    """Set once the run was voided: it no longer counts and never goes on."""
    voided_reason: str | None
    confirmation: Confirmation | None


class RunPage(BaseModel):
    items: list[Run]
    next_cursor: str | None


class ConfirmStart(Strict):
    confirmed_count: int = Field(
        ge=0, description="the `confirmation.reached` the caller saw; refused if it differs"
    )


class Retry(Strict):
    include_unclear: bool = False


class Retried(BaseModel):
    run: Run
    retried: int


class RunItem(BaseModel):
    id: int
    key: str
    entity: str | None
    entity_id: int | None
    status: str
    detail: str | None
    attempts: int


class RunItemPage(BaseModel):
    items: list[RunItem]
    next_cursor: str | None


class RunItemQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)
    status: (
        Literal["pending", "claimed", "done", "failed", "skipped", "unclear", "held_out"] | None
    ) = None


class RunFile(BaseModel):
    name: str
    size: int


class RunFileList(BaseModel):
    items: list[RunFile]


# -- archive --------------------------------------------------------------------------------------


class Document(BaseModel):
    id: int
    run_id: int | None
    filename: str
    content_type: str
    size: int
    created_at: datetime


class DocumentPage(BaseModel):
    items: list[Document]
    next_cursor: str | None


# -- workflows ------------------------------------------------------------------------------------


class WorkflowRun(BaseModel):
    id: int
    workflow: str
    trigger: str
    status: str
    requested_by: str | None
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    summary: str | None
    log: list[Any]
    error: str | None
    worker: str | None


class WorkflowRunPage(BaseModel):
    items: list[WorkflowRun]
    next_cursor: str | None


class Workflow(BaseModel):
    name: str
    title: str
    state: Literal["started", "stopped"]
    schedule: str
    interval_seconds: float | None
    cron: str | None
    timezone: str | None
    next_run_at: datetime | None
    last_run: WorkflowRun | None
    changed_by: str | None
    changed_at: datetime | None
    settings: dict[str, Any] = Field(
        description="the workflow's own settings as its passes get them: saved by an "
        "administrator on the technical workflows page, else its parameter model's defaults"
    )


class WorkflowList(BaseModel):
    items: list[Workflow]
