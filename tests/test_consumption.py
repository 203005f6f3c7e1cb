"""What deliveries consume: run counts, the quantities priced at each stage, and the cost
types and structures that apply."""

from datetime import UTC, datetime
from decimal import Decimal
from importlib import import_module

import pytest
from sqlalchemy import select, update

from core.engine.confirmation import confirmation
from core.engine.runs import start_run
from core.models import Campaign, Run, RunItem
from core.plugin_base import Channel
from core.plugins import PluginHost
from plugins.processes.consumption import (
    DeliveryCounts,
    action_cost_kinds,
    applicable_structures,
    chosen_cost_types,
    delivery_cost_types,
    delivery_counts,
    delivery_quantities,
    letters_not_handed_on,
    priced_categories,
)
from plugins.processes.costs import CostError, Quantities
from plugins.processes.models import (
    CostCategory,
    CostCategoryKind,
    CostStructure,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ExpenseBasis,
    Provider,
    ProviderService,
)

from process_helpers import UPLOAD_SETTINGS, build_world, campaign, start_delivery_run

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState


def test_counts_add_up_a_deliverys_real_runs_and_leave_out_the_held_out(engine):
    engine.add_contacts(6)
    campaign = engine.campaign(filters=[{"name": "test_even_held_out", "settings": {}}])
    with engine.runtime.database.session() as session:
        letter = Delivery(campaign_id=campaign, label="Brief", channel=DeliveryChannel.PRINT,
                          action="test_letter", action_settings={"pages": 2})  # fmt: skip
        other = Delivery(campaign_id=campaign, label="Ohne Lauf", channel=DeliveryChannel.SMS)
        session.add_all([letter, other])
    for dry_run in (False, True, False):
        start_delivery_run(
            engine.runtime, campaign, delivery_id=letter.id, dry_run=dry_run, confirmed_by="test"
        )
        engine.work()
    start_run(
        engine.runtime, campaign, confirmed_by="test"
    )  # the campaign's own run belongs to no delivery
    engine.work()

    with engine.runtime.database.session() as session:
        counts = delivery_counts(session)
        assert delivery_counts(session, [other.id]) == {}
    assert set(counts) == {letter.id}
    assert (counts[letter.id].targeted, counts[letter.id].sent, counts[letter.id].units) == (
        3, 6, 12,
    )  # fmt: skip
    assert counts[letter.id].analysed_at is not None


def test_a_letter_runs_rows_are_held_back_until_its_file_went_to_the_provider(engine):
    engine.add_contacts(2)
    campaign = engine.campaign()
    with engine.runtime.database.session() as session:
        letter = Delivery(campaign_id=campaign, label="Brief", channel=DeliveryChannel.PRINT,
                          action="test_letter", action_settings={"pages": 1})  # fmt: skip
        sms = Delivery(campaign_id=campaign, label="SMS", channel=DeliveryChannel.SMS)
        session.add_all([letter, sms])
    runs = [
        start_delivery_run(
            engine.runtime, campaign, delivery_id=delivery.id, confirmed_by="test",
            allow_parallel=True,
        ).id
        for delivery in (letter, sms)
    ]  # fmt: skip
    engine.work()
    with engine.runtime.database.session() as session:
        held = letters_not_handed_on(session, runs)
        assert list(held) == [runs[0]]  # the SMS went out; the letters wait in their file
        assert held[runs[0]].params == {"delivery": "Brief"}
        for state in FILE_SENT:
            session.get(Delivery, letter.id).move_to(state, NOW)
    with engine.runtime.database.session() as session:
        assert letters_not_handed_on(session, runs) == {}


def test_rows_billed_on_delivery_count_once_a_receipt_says_delivered(engine):
    engine.add_contacts(4)
    campaign = engine.campaign()
    with engine.runtime.database.session() as session:
        sms = Delivery(campaign_id=campaign, label="SMS", channel=DeliveryChannel.SMS)
        session.add(sms)
    run = start_delivery_run(engine.runtime, campaign, delivery_id=sms.id, confirmed_by="test")
    engine.work()
    with engine.runtime.database.session() as session:
        keys = session.scalars(select(RunItem.key).where(RunItem.run_id == run.id)).all()
        session.execute(update(RunItem).values(billed_on_delivery=True, units=2))
        for key, delivery in zip(keys, ("delivered", "undeliverable", None, None), strict=True):
            session.execute(update(RunItem).where(RunItem.key == key).values(delivery=delivery))
    with engine.runtime.database.session() as session:
        counts = delivery_counts(session)[sms.id]
    assert (counts.sent, counts.units) == (1, 2)


def delivery(channel: DeliveryChannel, *path: DeliveryState, **fields) -> Delivery:
    row = Delivery(label="X", channel=channel, **fields)
    for state in path:
        row.move_to(state, NOW)
    return row


ANALYSED = DeliveryCounts(targeted=100, sent=40, units=90, analysed_at=NOW)
FILE_SENT = (S.APPROVED, S.EXTRACTION_PENDING, S.FILE_TO_APPROVE, S.FILE_SENT)


@pytest.mark.parametrize(
    ("row", "counts", "expected"),
    [
        (delivery(DeliveryChannel.SMS), DeliveryCounts(), None),
        (delivery(DeliveryChannel.SMS), DeliveryCounts(targeted=100, analysed_at=NOW),
         (ExpenseBasis.TARGETED, Quantities(100, 100))),
        # an online delivery that sent counts what it sent, whatever its state says
        (delivery(DeliveryChannel.EMAIL), ANALYSED, (ExpenseBasis.SENT, Quantities(40, 90))),
        # a direct-mail file counts as sent only once it went to the router
        (delivery(DeliveryChannel.DIRECT_MAIL, S.APPROVED, S.EXTRACTION_PENDING,
                  S.FILE_TO_APPROVE), ANALYSED,
         (ExpenseBasis.TARGETED, Quantities(100, 90 + 60))),
        (delivery(DeliveryChannel.PRINT, *FILE_SENT), ANALYSED,
         (ExpenseBasis.SENT, Quantities(40, 90))),
        (delivery(DeliveryChannel.DIRECT_MAIL, analysed_at=NOW), DeliveryCounts(),
         (ExpenseBasis.TARGETED, Quantities(0, 0))),
    ],
    ids=["estimate", "targeted", "online sent", "file to approve", "file sent", "analysed by hand"],
)  # fmt: skip
def test_quantities_follow_the_stage_of_the_delivery(row, counts, expected):
    assert delivery_quantities(row, counts) == expected


def test_cost_types_apply_as_chosen_else_the_default_else_a_required_choice_fails(database):
    with database.session() as session:
        world = build_world(session)
        envelope = session.get(CostCategory, world.envelope_category_id)
        printing = session.get(CostCategory, world.print_category_id)
        assert [t.name for t in chosen_cost_types(envelope, {world.envelope_c5_id})] == ["C5"]
        with pytest.raises(CostError, match="requires a cost type: choose one of 'C5', 'DL'"):
            chosen_cost_types(envelope, set())
        assert [t.name for t in chosen_cost_types(printing, set())] == ["Papier A4"]  # default
        postage = session.get(CostCategory, world.postage_category_id)
        assert chosen_cost_types(postage, set()) == []  # no types: its structures apply
        c5 = chosen_cost_types(envelope, {world.envelope_c5_id})
        assert [s.amount for s in applicable_structures(envelope, c5)] == [Decimal("0.12")]

        letter = Delivery(campaign=campaign(session), label="Brief", channel=DeliveryChannel.PRINT,
                          provider_service_id=world.print_service_id)  # fmt: skip
        session.add(letter)
        session.flush()
        with pytest.raises(CostError):
            delivery_cost_types(letter)
        sms = Delivery(label="SMS", channel=DeliveryChannel.SMS,
                       provider_service_id=world.print_service_id)  # fmt: skip
        assert delivery_cost_types(sms) == []  # the print service prices no mobile messages


def test_a_category_nobody_chose_from_charges_nothing(database):
    """Neither a choice, nor a default, nor a required choice: the category is left out,
    where before every one of its types was charged."""
    with database.session() as session:
        world = build_world(session)
        envelope = session.get(CostCategory, world.envelope_category_id)
        postage = session.get(CostCategory, world.postage_category_id)
        envelope.cost_type_required = False
        session.flush()
        assert chosen_cost_types(envelope, set()) is None
        assert [c.name for c, _ in priced_categories([envelope, postage], set())] == ["Porto"]
        envelope.default_cost_type_id = world.envelope_c5_id
        session.flush()
        session.expire(envelope)
        priced = priced_categories([envelope, postage], set())
        assert [(c.name, [t.name for t in types]) for c, types in priced] == [
            ("Kuvert", ["C5"]),
            ("Porto", []),
        ]
        letter = Delivery(campaign=campaign(session), label="Brief",
                          channel=DeliveryChannel.PRINT,
                          provider_service_id=world.print_service_id)  # fmt: skip
        session.add(letter)
        session.flush()
        assert [t.name for t in delivery_cost_types(letter)] == ["Papier A4", "C5"]


def _confirmed_cost(engine, campaign_id: int, **options):
    """What the confirmation shows for a new run of the campaign, after targeting."""
    start = start_delivery_run if "delivery_id" in options else start_run
    run = start(engine.runtime, campaign_id, **options)
    engine.work()
    with engine.runtime.database.session() as session:
        return confirmation(session, engine.runtime.plugins, session.get(Run, run.id))


def test_a_run_is_priced_by_the_categories_of_the_channel_its_settings_reach():
    plugins = PluginHost()
    plugins.add(import_module("plugins.actions.file_upload"), "plugins.actions.file_upload", "test")

    def kinds(settings):
        return action_cost_kinds(plugins, {"action": "file_upload", "action_settings": settings})

    assert kinds(UPLOAD_SETTINGS) == {CostCategoryKind.DIRECT_MAIL}  # a print service posts them
    assert kinds(UPLOAD_SETTINGS | {"reach": "email"}) == {CostCategoryKind.EMAIL}
    everything_but_tasks = set(CostCategoryKind) - {CostCategoryKind.TASK}
    assert kinds(UPLOAD_SETTINGS | {"reach": "none"}) == everything_but_tasks  # an export
    assert action_cost_kinds(plugins, {"action": "fax"}) == everything_but_tasks


def test_the_confirmation_prices_by_the_deliverys_or_the_campaigns_service(engine):
    engine.runtime.plugins.add(import_module("plugins.processes"), "plugins.processes", "test")
    engine.add_contacts(4)
    campaign = engine.campaign(action="test_letter")
    with engine.runtime.database.session() as session:
        service = ProviderService(provider=Provider(name="Lettershop"), name="Brief DIN lang")
        category = CostCategory(service=service, name="Porto", kind=CostCategoryKind.DIRECT_MAIL)
        category.structures = [
            CostStructure(kind="fixed", amount=Decimal("10.00"), label="Einrichtung"),
            CostStructure(kind="linear", amount=Decimal("0.85"), label="Porto"),
        ]
        priced = Delivery(
            campaign_id=campaign,
            label="Brief",
            channel=DeliveryChannel.PRINT,
            provider_service=service,
            surcharge=Decimal("1.00"),
        )
        unpriced = Delivery(
            campaign_id=campaign, label="Ohne Preise", channel=DeliveryChannel.PRINT
        )
        session.add_all([category, priced, unpriced])
        session.get(Campaign, campaign).estimated_cost = Decimal("99.50")

    shown = _confirmed_cost(engine, campaign, delivery_id=priced.id)
    assert (shown.cost.source, shown.cost.service) == ("service", "Brief DIN lang")
    assert shown.cost.amount == Decimal("14.40")  # 10.00 + 4 * 0.85 + 1.00 surcharge
    assert shown.channel == Channel.POSTAL

    shown = _confirmed_cost(engine, campaign, delivery_id=unpriced.id, allow_parallel=True)
    assert (shown.cost.source, shown.cost.amount) == ("estimate", Decimal("99.50"))

    with engine.runtime.database.session() as session:  # a direct run: the campaign's service
        session.get(Campaign, campaign).provider_service_id = session.scalar(
            select(ProviderService.id).where(ProviderService.name == "Brief DIN lang")
        )
    shown = _confirmed_cost(engine, campaign, allow_parallel=True)
    assert (shown.cost.source, shown.cost.service) == ("service", "Brief DIN lang")
    assert shown.cost.amount == Decimal("13.40")  # 10.00 + 4 * 0.85, as budgetMgt books it
