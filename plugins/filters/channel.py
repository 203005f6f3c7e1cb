"""Keep recipients the action can reach: a valid e-mail, a mobile number or a full address.

The definition of a usable address is the platform's (``core.reach``): the engine skips the
same recipients at targeting, so this filter only matters for another channel than the
action's, or to leave the unreachable out of the ledger entirely."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Select

from core import Channel, Recipient, hookimpl
from core.messages import ExplainedError, stored_for
from core.query import EntitySpec
from core.reach import ELECTRONIC, complete_address, usable_address
from plugins.filters import TRANSLATIONS
from plugins.filters._common import (
    ChannelChoice,
    RecordColumns,
    RecordFilter,
    contact_field,
    on_contact,
    resolve_channel,
)

stored = stored_for(__name__)
PURPOSE = stored("the channel filter")


class ChannelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ChannelChoice = Field(
        "action",
        description="The channel to check: the action's own, or postal, email or mobile",
    )
    region: str = Field(
        "DE", description="Country of numbers written without +country code (ISO 3166 code)"
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ExplainedError(
                stored(
                    "'{region}' is not a region code phonenumbers knows, e.g. DE, AT", region=region
                )
            )
        return region


class HasChannel(RecordFilter):
    name = "channel"
    title = "Has a usable channel"
    description = (
        "Keeps recipients the channel can reach: a valid e-mail address, a valid mobile "
        "number, or a complete postal address (name or company, street and house number or "
        "a PO box, postcode and town). An action without a channel passes everyone."
    )
    Params = ChannelParams
    params: ChannelParams

    def narrow(self, query: Select, context: Any) -> Select | None:
        if resolve_channel(self.params.channel, context) is Channel.NONE:
            return query
        return super().narrow(query, context)

    def apply(self, recipients: Iterator[Recipient], context: Any) -> Iterator[Recipient]:
        if resolve_channel(self.params.channel, context) is Channel.NONE:
            return recipients
        return super().apply(recipients, context)

    def expression(self, root: EntitySpec, context: Any) -> ColumnElement[bool] | None:
        """Address completeness is SQL; e-mail and phone validation are not (they stream)."""
        if resolve_channel(self.params.channel, context) is Channel.POSTAL:
            return on_contact(root, complete_address, PURPOSE)
        return None

    def check_records(self, root: EntitySpec, ids: list[int], context: Any) -> list[bool]:
        channel = resolve_channel(self.params.channel, context)
        field = ELECTRONIC[channel][0]
        columns = RecordColumns(root)
        values = columns.values(
            context.session, ids, columns.column(contact_field(root, field, PURPOSE))
        )
        return [
            record_id in values and self._reachable(channel, {field: values[record_id][0]})
            for record_id in ids
        ]

    def check_imported(self, batch: list[Recipient], context: Any) -> list[bool]:
        channel = resolve_channel(self.params.channel, context)
        return [self._reachable(channel, row.data) for row in batch]

    def _reachable(self, channel: Channel, data: Any) -> bool:
        return usable_address(data, channel, self.params.region) is None


@hookimpl
def register_recipient_filters(register):
    register(HasChannel)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
