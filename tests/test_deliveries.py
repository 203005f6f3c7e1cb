"""A delivery's own action and its chosen cost types."""

from importlib import import_module

import pytest
from sqlalchemy import select

from core.plugins import PluginHost
from plugins.processes.delivery_setup import DeliverySetupError, choose_cost_types, set_action
from plugins.processes.models import CostCategory, CostType, Delivery, DeliveryChannel

from process_helpers import UPLOAD_SETTINGS, build_world, campaign


@pytest.fixture
def setup(database):
    import engine_plugins

    plugins = PluginHost()
    plugins.add(engine_plugins, "engine_plugins", "test")
    with database.session() as session:
        world = build_world(session)
        owner = campaign(session)
        letter = Delivery(campaign_id=owner.id, label="Brief", channel=DeliveryChannel.PRINT,
                          provider_service_id=world.print_service_id)  # fmt: skip
        session.add(letter)
    return plugins, world, letter.id


def test_the_action_and_its_settings_are_validated_and_normalised(database, setup):
    plugins, _, letter_id = setup
    with database.session() as session:
        letter = session.get(Delivery, letter_id)
        set_action(plugins, letter, "test_letter", {"pages": "3"})
        assert (letter.action, letter.action_settings) == ("test_letter", {"pages": 3})
        set_action(plugins, letter, "test_tag")  # reaches no channel: fits every delivery
        set_action(plugins, letter, None)
        assert (letter.action, letter.action_settings) == (None, None)


@pytest.mark.parametrize(
    ("action", "values", "message"),
    [
        ("fax", {}, "'fax' is not a loaded action plugin"),
        ("test_notify", {"path": "x"}, r"'test_notify' does not reach the recipients of "
         r"delivery 'Brief' \(mass print\)"),
        ("test_letter", {"pages": "viele"}, "action settings: pages: "),
        (None, {"pages": 1}, "a delivery without its own action takes no action settings"),
    ],
)  # fmt: skip
def test_a_bad_action_is_refused_and_the_old_one_kept(database, setup, action, values, message):
    plugins, _, letter_id = setup
    with database.session() as session:
        letter = session.get(Delivery, letter_id)
        set_action(plugins, letter, "test_letter", {"pages": 2})
        with pytest.raises(DeliverySetupError, match=message):
            set_action(plugins, letter, action, values)
        assert (letter.action, letter.action_settings) == ("test_letter", {"pages": 2})


def test_an_action_that_chooses_its_channel_by_a_setting_is_checked_by_it(database, setup):
    """file_upload reaches whom its ``reach`` says: by post fits a letter, by e-mail does not."""
    plugins, _, letter_id = setup
    plugins.add(import_module("plugins.actions.file_upload"), "plugins.actions.file_upload", "test")
    with database.session() as session:
        letter = session.get(Delivery, letter_id)
        with pytest.raises(DeliverySetupError, match="'file_upload' does not reach the recipients"):
            set_action(plugins, letter, "file_upload", UPLOAD_SETTINGS | {"reach": "email"})
        assert letter.action is None
        set_action(plugins, letter, "file_upload", UPLOAD_SETTINGS)
        assert letter.action_settings["reach"] == "postal"
        set_action(plugins, letter, "file_upload", UPLOAD_SETTINGS | {"reach": "none"})


def test_cost_types_come_from_the_delivery_service_and_channel(database, setup):
    _, world, letter_id = setup
    with database.session() as session:
        letter = session.get(Delivery, letter_id)
        choose_cost_types(session, letter, [world.envelope_dl_id, world.envelope_dl_id])
        assert [t.name for t in letter.cost_types] == ["DL"]
        tasks = CostType(cost_category_id=_task_category(session, world), name="Senior")
        session.add(tasks)
        session.flush()
        with pytest.raises(
            DeliverySetupError,
            match=r"'Senior' \(.*\) is not a cost type of the delivery's provider service for mass",
        ):
            choose_cost_types(session, letter, [tasks.id])
        with pytest.raises(DeliverySetupError, match="no cost type with id 999"):
            choose_cost_types(session, letter, [999])
        letter.provider_service_id = None
        with pytest.raises(DeliverySetupError, match="has no provider service"):
            choose_cost_types(session, letter, [world.envelope_c5_id])
        choose_cost_types(session, letter, [])
        assert letter.cost_types == []


def _task_category(session, world) -> int:
    return session.scalar(
        select(CostCategory.id).where(CostCategory.service_id == world.agency_service_id)
    )
