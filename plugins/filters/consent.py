"""Leave out recipients who refused the channel or whose contact is blocked for dispatch.

The engine applies the same rule (``core.reach``) to the action's own channel in every
run, whatever the filters; this filter is for another channel than the action's (an SMS
campaign that also respects e-mail opt-outs), or to leave the refusing out of the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement

from core import Channel, hookimpl
from core.messages import stored_for
from core.query import EntitySpec
from core.reach import refused
from plugins.filters import TRANSLATIONS
from plugins.filters._common import ChannelChoice, RecordFilter, on_contact, resolve_channel

stored = stored_for(__name__)
PURPOSE = stored("the consent filter")


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

    def expression(self, root: EntitySpec, context: Any) -> ColumnElement[bool]:
        channel = resolve_channel(self.params.channel, context)
        if channel is Channel.NONE:  # a block counts for every channel
            return ~on_contact(root, lambda contact: contact.dispatch_block.is_(True), PURPOSE)
        return ~on_contact(root, lambda contact: refused(contact, channel), PURPOSE)


@hookimpl
def register_recipient_filters(register):
    register(Consent)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
