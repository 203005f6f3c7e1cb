"""The delivery form: label, channel, an action of its own with settings drawn from the
action's schema, the provider service and its cost types, planned start and amounts.

Changing the channel, the action or the service changes what else the form offers, so the
form is posted back with ``intent=refresh`` and drawn again from what was submitted,
without storing anything (``static/js/form_redraw.js`` presses that button when a select
changes; without JavaScript the user presses it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict
from wtforms import Field

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
    ChoiceField,
    EnumField,
    FlagField,
    LocalDateTimeField,
    MoneyField,
    OptionResolver,
    PanelForm,
    SettingsForm,
    TextField,
    all_problems,
    build_form,
    parse_form,
    parse_id,
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


class CostTypesField(Field):
    """The ticked cost types' ids; what no row's id can be is left out."""

    def process_formdata(self, valuelist: list[str]) -> None:
        ids = (parse_id(str(value)) for value in valuelist)
        self.data = [number for number in ids if number is not None]


class DeliveryFields(PanelForm):
    """The delivery's own inputs (the action's settings are its schema form's)."""

    label = TextField()
    channel = EnumField(DeliveryChannel)
    action = TextField()
    provider_service_id = ChoiceField()
    planned_start_at = LocalDateTimeField()
    surcharge = MoneyField()
    estimated_cost = MoneyField()
    real_cost = MoneyField()
    budget_id = ChoiceField()
    sent_counting = EnumField(SentCounting)
    proof_required = FlagField()
    version = TextField()
    cost_type_ids = CostTypesField(default=list)


def delivery_values(delivery: Delivery | None) -> dict[str, Any]:
    """The form's values for a stored delivery (or a new one)."""
    data: dict[str, Any] = {
        "channel": DeliveryChannel.PRINT,
        "action": CAMPAIGN_ACTION,
        "surcharge": Decimal(0),
        "sent_counting": SentCounting.ON_CONFIRMATION,
    }
    if delivery is not None:
        data = {
            "label": delivery.label,
            "channel": delivery.channel,
            "action": delivery.action or CAMPAIGN_ACTION,
            "provider_service_id": delivery.provider_service_id,
            "planned_start_at": delivery.planned_start_at,
            "surcharge": delivery.surcharge,
            "estimated_cost": delivery.estimated_cost,
            "real_cost": delivery.real_cost,
            "budget_id": delivery.budget_id,
            "sent_counting": delivery.sent_counting,
            "proof_required": delivery.proof_required,
            "version": delivery.version,
        }
    return DeliveryFields(formdata=None, data=data).values


def compatible_actions(plugins: PluginHost, channel: DeliveryChannel) -> list[type[Plugin]]:
    """Actions that reach recipients through the channel, or through none (a file export)."""
    expected = ACTION_CHANNEL[channel]
    return [cls for cls in plugins.actions if cls.channel in (expected, Channel.NONE)]


def _categories(session: Session, service: Any, channel: DeliveryChannel) -> list[CategoryChoice]:
    service_id = parse_id(str(service or ""))
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

    form: DeliveryFields
    fields: dict[str, Any]
    action: str | None
    settings: dict[str, Any]
    problems: list[tuple[str, str]]
    cost_type_ids: list[int]

    @property
    def values(self) -> dict[str, Any]:
        """What the form shows again; a channel that may no longer change is the stored one."""
        return {**self.form.values, "channel": self.fields["channel"].value}

    @property
    def ok(self) -> bool:
        return self.form.ok and not self.problems


def read_delivery_form(
    formdata: MultiDict[str, str],
    session: Session,
    plugins: PluginHost,
    delivery: Delivery | None,
    check: bool,
) -> SubmittedDelivery:
    """Read the form; with ``check`` also validate (a refresh only redraws)."""
    form = DeliveryFields(formdata)
    if delivery is None or delivery.state is DeliveryState.EDITING:
        channel = form.channel.data or DeliveryChannel.PRINT
    else:
        channel = delivery.channel
    form.provider_service_id.choices = service_choices(session, channel.cost_kind)
    form.budget_id.choices = budget_choices(session)
    form.validate()
    if not check:
        form.channel.errors = []
        form.provider_service_id.errors = []
        form.provider_service_id.data = parse_id(form.provider_service_id.text)
    elif not form.label.data:
        form.add_error("label", t("forms.required"))
    action = form.action.data or None
    settings: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    if action is not None:
        try:
            cls = plugins.actions.get(action)
        except UnknownPluginError:
            form.add_error("action", t("forms.not_a_choice", value=action))
        else:
            if submitted_plugin(formdata, ACTION_PREFIX) == action:
                settings, problems = parse_form(cls.params_schema(), formdata, ACTION_PREFIX)
            if check and cls not in compatible_actions(plugins, channel):
                form.add_error("action", t("forms.not_a_choice", value=plugin_text(cls, "title")))
            elif check:
                problems = all_problems(cls, settings, problems)
    fields = {
        "label": form.label.data,
        "channel": channel,
        "provider_service_id": form.provider_service_id.data,
        "planned_start_at": form.planned_start_at.data,
        "surcharge": form.surcharge.data or 0,
        "estimated_cost": form.estimated_cost.data,
        "real_cost": form.real_cost.data,
        "budget_id": form.budget_id.data,
        "sent_counting": form.sent_counting.data or SentCounting.ON_CONFIRMATION,
        "proof_required": form.proof_required.data,
    }
    return SubmittedDelivery(form, fields, action, settings, problems, form.cost_type_ids.data)
