"""Plans and programs above campaigns."""

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from core.models import Campaign
from plugins.processes.models import Plan, Program

from process_helpers import build_world, campaign


def test_a_plan_with_programs_cannot_be_deleted(database):
    with database.session() as session:
        world = build_world(session)
    with pytest.raises(IntegrityError), database.session() as session:
        session.delete(session.get(Plan, world.plan_id))


def test_deleting_a_program_keeps_its_campaigns(database):
    with database.session() as session:
        world = build_world(session)
        kept = campaign(session, program_id=world.program_id)
    with database.session() as session:
        session.delete(session.get(Program, world.program_id))
    with database.session() as session:
        assert session.get(Campaign, kept.id).program_id is None


def test_a_period_cannot_end_before_it_starts(database):
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Plan(name="Rückwärts", start_date=date(2026, 2, 1), end_date=date(2026, 1, 1)))


def test_program_names_are_unique_within_their_plan(database):
    with database.session() as session:
        world = build_world(session)
        other = Plan(name="Marketing 2027")
        session.add_all([other, Program(plan=other, name="Kundenbindung")])
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Program(plan_id=world.plan_id, name="Kundenbindung"))


def test_a_campaigns_commitment_level_is_one_to_three(database):
    with pytest.raises(IntegrityError), database.session() as session:
        campaign(session, commitment_level=4)
