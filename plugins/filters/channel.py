"""Keep recipients the action can reach: a valid e-mail, a mobile number or a full address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Select

from core import Channel, Recipient, hookimpl
from core.mail import valid_email
from core.query import EntitySpec
from plugins.filters._common import (
    ChannelChoice,
    RecordColumns,
    RecordFilter,
    complete_address,
    contact_field,
    has_complete_address,
    on_contact,
    resolve_channel,
)

PURPOSE = "the channel filter"
FIELDS = {Channel.EMAIL: "email", Channel.MOBILE: "mobile"}
"""The contact field each electronic channel is reached through."""

MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def valid_mobile(value: Any, region: str) -> bool:
    """A number valid in its numbering plan whose type is mobile (or may be mobile)."""
    if value is None or not str(value).strip():
        return False
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in MOBILE_TYPES


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
            raise ValueError(f"{region!r} is not a region code phonenumbers knows, e.g. DE, AT")
        return region


class HasChannel(RecordFilter):
    name = "channel"
    title = "Has a usable channel"
    description = (
        "Keeps recipients the channel can reach: a valid e-mail address, a valid mobile "
        "number, or a complete postal address (name or company, postcode and town). "
        "An action without a channel passes everyone."
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
        columns = RecordColumns(root)
        field = columns.column(contact_field(root, FIELDS[channel], PURPOSE))
        values = columns.values(context.session, ids, field)
        return [
            record_id in values and self._reachable(channel, values[record_id][0])
            for record_id in ids
        ]

    def check_imported(self, batch: list[Recipient], context: Any) -> list[bool]:
        channel = resolve_channel(self.params.channel, context)
        if channel is Channel.POSTAL:
            return [has_complete_address(row.data) for row in batch]
        return [self._reachable(channel, row.data.get(FIELDS[channel])) for row in batch]

    def _reachable(self, channel: Channel, value: Any) -> bool:
        if channel is Channel.EMAIL:
            return valid_email(value)
        return valid_mobile(value, self.params.region)


@hookimpl
def register_recipient_filters(register):
    register(HasChannel)
