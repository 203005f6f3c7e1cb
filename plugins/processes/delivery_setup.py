"""Setting up a delivery: its own action (validated by that action plugin) and the cost types
it chooses from its provider service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import ExplainedError, stored_for
from core.plugin_base import Channel, SettingsError
from core.plugins import PluginHost, UnknownPluginError
from core.validation import problem_text
from plugins.processes.models import CostCategory, CostType, Delivery, DeliveryChannel
from plugins.processes.texts import CHANNEL_NAMES

stored = stored_for(__name__)

ACTION_CHANNEL = {
    DeliveryChannel.EMAIL: Channel.EMAIL,
    DeliveryChannel.SMS: Channel.MOBILE,
    DeliveryChannel.DIRECT_MAIL: Channel.POSTAL,
    DeliveryChannel.PRINT: Channel.POSTAL,
}
"""The recipient channel an action must reach for a delivery of each channel (an action
reaching no channel at all, e.g. a file export, fits every delivery)."""


class DeliverySetupError(ExplainedError):
    """A delivery cannot be set up as asked (its action or its cost types); says why."""


def set_action(
    plugins: PluginHost,
    delivery: Delivery,
    action: str | None,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Give the delivery an action of its own (None: the campaign's), storing the settings as
    the plugin's parameter model normalises them; nothing changes if they do not validate."""
    if action is None:
        if settings:
            raise DeliverySetupError(
                stored("a delivery without its own action takes no action settings")
            )
        delivery.action = None
        delivery.action_settings = None
        return
    try:
        cls = plugins.actions.get(action)
    except UnknownPluginError:
        raise DeliverySetupError(
            stored("'{action}' is not a loaded action plugin", action=action)
        ) from None
    try:
        params = cls.validate_params(settings or {})
    except SettingsError as exc:
        problems = [problem_text(field, message, cls.__module__) for field, message in exc.problems]
        raise DeliverySetupError(stored("action settings: {problems}", problems=problems)) from None
    channel = DeliveryChannel(delivery.channel)
    reached = cls(params).channel  # chosen by a setting, as file_upload's reach
    if reached is not Channel.NONE and reached is not ACTION_CHANNEL[channel]:
        raise DeliverySetupError(
            stored(
                "'{action}' does not reach the recipients of delivery '{delivery}' ({channel})",
                action=action,
                delivery=delivery.label,
                channel=CHANNEL_NAMES[channel],
            )
        )
    delivery.action = action
    delivery.action_settings = params.model_dump(mode="json")


def choose_cost_types(session: Session, delivery: Delivery, cost_type_ids: Iterable[int]) -> None:
    """Replace the delivery's chosen cost types; each must belong to a cost category of its
    provider service that prices the delivery's channel."""
    ids = list(dict.fromkeys(cost_type_ids))
    if not ids:
        delivery.cost_types = []
        return
    if delivery.provider_service_id is None:
        raise DeliverySetupError(
            stored("delivery '{delivery}' has no provider service", delivery=delivery.label)
        )
    rows = session.execute(
        select(CostType, CostCategory)
        .join(CostCategory, CostType.cost_category_id == CostCategory.id)
        .where(CostType.id.in_(ids))
    ).all()
    found = {cost_type.id: (cost_type, category) for cost_type, category in rows}
    channel = DeliveryChannel(delivery.channel)
    for cost_type_id in ids:
        if cost_type_id not in found:
            raise DeliverySetupError(stored("no cost type with id {id}", id=str(cost_type_id)))
        cost_type, category = found[cost_type_id]
        if (
            category.service_id != delivery.provider_service_id
            or category.kind != channel.cost_kind
        ):
            raise DeliverySetupError(
                stored(
                    "'{cost_type}' ({category}) is not a cost type of the delivery's provider "
                    "service for {channel}",
                    cost_type=cost_type.name,
                    category=category.name,
                    channel=CHANNEL_NAMES[channel],
                )
            )
    delivery.cost_types = [found[cost_type_id][0] for cost_type_id in ids]
