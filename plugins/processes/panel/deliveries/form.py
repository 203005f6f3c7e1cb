"""The delivery form: label, channel, an action of its own with settings drawn from the
action's schema, the provider service and its cost types, planned start and amounts.

Changing the channel, the action or the service changes what else the form offers, so the
form is posted back with ``intent=refresh`` and drawn again from what was submitted,
without storing anything (``static/js/form_redraw.js`` presses that button when a select
changes; without JavaScript the user presses it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

from core.plugin_base import Channel, Plugin
from core.plugins import PluginHost, UnknownPluginError
from plugins.processes.delivery_setup import ACTION_CHANNEL
from plugins.processes.models import (
    CostCategory,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    SentCounting,
)
from plugins.processes.panel.choices import budget_choices, service_choices
from webapp import (
    FormReader,
    OptionResolver,
    SettingsForm,
    all_problems,
    build_form,
    choice_ids,
    datetime_input,
    decimal_input,
    parse_form,
    plugin_text,
    plugin_translator,
    submitted_plugin,
    t,
)

ACTION_PREFIX = "act"
CAMPAIGN_ACTION = ""
"""The action select's value for "the campaign's own action"."""


@dataclass
class CategoryChoice:
    """A cost category of the chosen service with its cost types, for the checkboxes."""

    name: str
    required: bool
    types: list[tuple[int, str]]


@dataclass
class DeliveryForm:
    """What the template draws: the values, the errors and the choices that depend on them."""

    values: dict[str, Any]
    errors: dict[str, str]
    channel: DeliveryChannel
    channel_editable: bool
    actions: list[type[Plugin]]
    action_form: SettingsForm | None
    services: list[tuple[str, list[tuple[int, str]]]]
    categories: list[CategoryChoice]
    chosen_types: set[int] = field(default_factory=set)
    budgets: list[tuple[int, str]] = field(default_factory=list)


def delivery_values(delivery: Delivery | None) -> dict[str, Any]:
    """The form's values for a stored delivery (or a new one)."""
    if delivery is None:
        return {
            "channel": DeliveryChannel.PRINT.value,
            "action": CAMPAIGN_ACTION,
            "surcharge": decimal_input(0, 2),
            "sent_counting": SentCounting.ON_CONFIRMATION.value,
        }
    return {
        "label": delivery.label,
        "channel": delivery.channel.value,
        "action": delivery.action or CAMPAIGN_ACTION,
        "provider_service_id": delivery.provider_service_id,
        "planned_start_at": datetime_input(delivery.planned_start_at),
        "surcharge": decimal_input(delivery.surcharge, 2),
        "estimated_cost": decimal_input(delivery.estimated_cost, 2),
        "real_cost": decimal_input(delivery.real_cost, 2),
        "budget_id": delivery.budget_id,
        "sent_counting": delivery.sent_counting.value,
        "proof_required": delivery.proof_required,
        "version": delivery.version,
    }


def compatible_actions(plugins: PluginHost, channel: DeliveryChannel) -> list[type[Plugin]]:
    """Actions that reach recipients through the channel, or through none (a file export)."""
    expected = ACTION_CHANNEL[channel]
    return [cls for cls in plugins.actions if cls.channel in (expected, Channel.NONE)]


def _categories(session: Session, service: Any, channel: DeliveryChannel) -> list[CategoryChoice]:
    service_id = _int_or_none(str(service or ""))
    if service_id is None:
        return []
    categories = session.scalars(
        select(CostCategory)
        .where(CostCategory.service_id == service_id, CostCategory.kind == channel.cost_kind)
        .options(selectinload(CostCategory.cost_types))
        .order_by(CostCategory.id)
    )
    return [
        CategoryChoice(
            category.name,
            category.cost_type_required,
            [(cost_type.id, cost_type.name) for cost_type in category.cost_types],
        )
        for category in categories
        if category.cost_types
    ]


def build_delivery_form(
    session: Session,
    plugins: PluginHost,
    values: dict[str, Any],
    errors: dict[str, str],
    settings: dict[str, Any],
    problems: list[tuple[str, str]],
    chosen_types: set[int],
    state: DeliveryState | None,
) -> DeliveryForm:
    try:
        channel = DeliveryChannel(values.get("channel"))
    except ValueError:
        channel = DeliveryChannel.PRINT
    action_form = None
    action_name = values.get("action") or CAMPAIGN_ACTION
    if action_name != CAMPAIGN_ACTION:
        try:
            cls = plugins.actions.get(action_name)
        except UnknownPluginError:
            cls = None
        if cls is not None:
            action_form = build_form(
                cls.params_schema(),
                ACTION_PREFIX,
                cls.name,
                settings,
                problems,
                OptionResolver(session, plugins),
                plugin_translator(cls),
            )
    return DeliveryForm(
        values=values,
        errors=errors,
        channel=channel,
        channel_editable=state in (None, DeliveryState.EDITING),
        actions=compatible_actions(plugins, channel),
        action_form=action_form,
        services=service_choices(session, channel.cost_kind),
        categories=_categories(session, values.get("provider_service_id"), channel),
        chosen_types=chosen_types,
        budgets=budget_choices(session),
    )


@dataclass
class SubmittedDelivery:
    """A submitted delivery form, read and checked field by field."""

    reader: FormReader
    fields: dict[str, Any]
    action: str | None
    settings: dict[str, Any]
    problems: list[tuple[str, str]]
    cost_type_ids: list[int]

    @property
    def ok(self) -> bool:
        return self.reader.ok and not self.problems


def read_delivery_form(
    form: MultiDict[str, str],
    session: Session,
    plugins: PluginHost,
    delivery: Delivery | None,
    check: bool,
) -> SubmittedDelivery:
    """Read the form; with ``check`` also validate (a refresh only redraws)."""
    reader = FormReader(form)
    channel_editable = delivery is None or delivery.state is DeliveryState.EDITING
    if channel_editable:
        channel = reader.choice("channel", DeliveryChannel) or DeliveryChannel.PRINT
    else:
        channel = delivery.channel
        reader.values["channel"] = channel.value
    action = reader.raw("action") or None
    settings: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    if action is not None:
        try:
            cls = plugins.actions.get(action)
        except UnknownPluginError:
            reader.error("action", t("forms.not_a_choice", value=action))
        else:
            if submitted_plugin(form, ACTION_PREFIX) == action:
                settings, problems = parse_form(cls.params_schema(), form, ACTION_PREFIX)
            if check and cls not in compatible_actions(plugins, channel):
                reader.error("action", t("forms.not_a_choice", value=plugin_text(cls, "title")))
            elif check:
                problems = all_problems(cls, settings, problems)
    fields = {
        "label": reader.text("label", required=check),
        "channel": channel,
        "provider_service_id": reader.one_of(
            "provider_service_id", choice_ids(service_choices(session, channel.cost_kind))
        )
        if check
        else _int_or_none(reader.raw("provider_service_id")),
        "planned_start_at": reader.local_datetime("planned_start_at"),
        "surcharge": reader.money("surcharge"),
        "estimated_cost": reader.money("estimated_cost"),
        "real_cost": reader.money("real_cost"),
        "budget_id": reader.one_of("budget_id", choice_ids(budget_choices(session))),
        "sent_counting": reader.choice("sent_counting", SentCounting, required=False)
        or SentCounting.ON_CONFIRMATION,
        "proof_required": reader.flag("proof_required"),
    }
    if fields["surcharge"] is None:
        fields["surcharge"] = 0
    reader.raw("version")
    cost_type_ids = [int(value) for value in form.getlist("cost_type_ids") if value.isdigit()]
    return SubmittedDelivery(reader, fields, action, settings, problems, cost_type_ids)


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None
