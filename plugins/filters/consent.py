"""Leave out recipients who refused the channel or whose contact is blocked for dispatch."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, or_

from core import Channel, hookimpl
from core.query import EntitySpec
from plugins.filters._common import ChannelChoice, RecordFilter, on_contact, resolve_channel

OPT_OUTS = {
    Channel.POSTAL: "opt_out_post",
    Channel.EMAIL: "opt_out_email",
    Channel.MOBILE: "opt_out_sms",
}
"""The contact's opt-out flag per channel; a dispatch block counts for every channel."""


class ConsentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ChannelChoice = Field(
        "action",
        description="Whose opt-out counts: the action's channel, or postal, email or mobile",
    )


class Consent(RecordFilter):
    name = "consent"
    title = "Respects opt-outs and dispatch block"
    description = (
        "Leaves out contacts with a dispatch block and contacts who opted out of the channel "
        "(post, e-mail or SMS). For contracts the contract's contact counts. Imported rows "
        "carry no consent data and are refused."
    )
    Params = ConsentParams
    params: ConsentParams

    def _flags(self, context: Any) -> list[str]:
        channel = resolve_channel(self.params.channel, context)
        return ["dispatch_block", *([OPT_OUTS[channel]] if channel in OPT_OUTS else [])]

    def expression(self, root: EntitySpec, context: Any) -> ColumnElement[bool]:
        flags = self._flags(context)

        def refused(contact: Any) -> ColumnElement[bool]:
            return or_(*(getattr(contact, flag).is_(True) for flag in flags))

        return ~on_contact(root, refused, "the consent filter")


@hookimpl
def register_recipient_filters(register):
    register(Consent)
