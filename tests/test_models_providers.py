"""Provider services, cost categories, cost types and cost structures."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugins.processes.costs import CostError, Structure
from plugins.processes.models import CostCategory, CostStructure, ServiceProcess

from process_helpers import build_world


def test_a_stored_structure_comes_back_as_the_validated_structure(database):
    with database.session() as session:
        world = build_world(session)
        postage = session.get(CostCategory, world.postage_category_id)
        [stored] = postage.structures
        assert stored.spec() == Structure(
            kind="linear_threshold",
            brackets=[
                {"up_to": 100, "price": "0.13"},
                {"up_to": 1000, "price": "0.12"},
                {"price": "0.11"},
            ],
        )


def test_a_structure_broken_by_hand_names_itself_and_the_field(database):
    with database.session() as session:
        world = build_world(session)
        broken = CostStructure(cost_category_id=world.postage_category_id, kind="linear")
        session.add(broken)
        session.flush()
        with pytest.raises(CostError) as caught:
            broken.spec()
    assert str(caught.value) == (
        f"cost structure {broken.id} (linear) of cost category {world.postage_category_id}: "
        "a linear structure needs an amount"
    )


def test_negative_prices_and_empty_batches_are_refused_by_the_database(database):
    with database.session() as session:
        world = build_world(session)
    for values in ({"amount": Decimal(-1)}, {"amount": Decimal(1), "batch_size": 0}):
        with pytest.raises(IntegrityError), database.session() as session:
            session.add(
                CostStructure(cost_category_id=world.postage_category_id, kind="linear", **values)
            )


def test_a_service_has_at_most_one_process_for_its_provider(database):
    with database.session() as session:
        world = build_world(session)
        session.add(
            ServiceProcess(
                service_id=world.print_service_id,
                export_columns=[{"header": "PLZ", "field": "postcode"}],
                notification_recipients=["auftrag@druckerei-nord.de"],
                upload_target="sftp",
                upload_settings={"host": "upload.druckerei-nord.de"},
                result_format={"delimiter": ";", "key_column": "id", "status_column": "status"},
            )
        )
    with database.session() as session:
        process = session.scalar(select(ServiceProcess))
        assert process.file_name_pattern == "{campaign}-{delivery}-{date}.csv"
        assert process.service.process is process
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(ServiceProcess(service_id=world.print_service_id))
