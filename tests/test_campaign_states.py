"""Campaign states (being edited → to validate → in progress → finished, or cancelled) and
task states by their dates, as operationMgt moves them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.messages import ExplainedError
from core.models import Campaign, CampaignStatus, Run, RunState
from plugins.processes import TRANSLATIONS
from plugins.processes.campaign_states import (
    CampaignStateError,
    cancel_campaign,
    reopen_campaign,
    update_campaign_states,
    update_task_states,
)
from plugins.processes.models import Delivery, DeliveryChannel, DeliveryState, Task, TaskState
from plugins.processes.models.transitions import TransitionError
from webapp.i18n import render_stored

from process_helpers import campaign

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TODAY = NOW.date()
C = CampaignStatus
S = DeliveryState


def status(database, name: str = "Infobrief") -> CampaignStatus:
    with database.session() as session:
        return session.scalar(select(Campaign.status).where(Campaign.name == name))


def read_in(language: str, refused: ExplainedError) -> str:
    """A refusal as the panel shows it in ``language``."""
    return render_stored(refused.text, language, {"plugins.processes": [TRANSLATIONS]})


def move(database, *states: DeliveryState) -> None:
    with database.session() as session:
        delivery = session.scalar(select(Delivery))
        for state in states:
            delivery.move_to(state, NOW)


def update(database, today: date = TODAY) -> list[tuple[str, str, str]]:
    with database.session() as session:
        return [
            (row.name, before, row.status.value)
            for row, before in update_campaign_states(session, today)
        ]


@pytest.fixture
def planned(database):
    """A campaign being edited, ending yesterday, with an e-mail delivery and a task."""
    with database.session() as session:
        owner = campaign(session, status=C.EDITING, end_date=TODAY - timedelta(days=1))
        session.add(Delivery(campaign_id=owner.id, label="Info", channel=DeliveryChannel.EMAIL))
        session.add(Task(campaign_id=owner.id, name="Text", start_date=TODAY, end_date=TODAY))
    return database


def test_a_campaign_moves_from_editing_to_validate_to_in_progress_to_finished(planned):
    database = planned
    assert update(database) == []

    move(database, S.TO_VALIDATE)
    assert update(database) == [("Infobrief", "editing", "to_validate")]
    move(database, S.EDITING)  # rejected: back to editing
    assert update(database) == [("Infobrief", "to_validate", "editing")]

    move(database, S.APPROVED, S.PENDING_CONFIRMATION, S.START_PENDING, S.IN_PROGRESS)
    assert update(database) == [("Infobrief", "editing", "in_progress")]
    move(database, S.FINISHED)
    assert update(database) == []  # its task is still open
    with database.session() as session:
        update_task_states(session, TODAY + timedelta(days=1), NOW)
    assert update(database) == [("Infobrief", "in_progress", "finished")]
    assert update(database) == []


def test_a_campaign_finishes_only_after_its_end_date_and_its_runs(planned):
    database = planned
    with database.session() as session:
        owner = session.scalar(select(Campaign))
        owner.end_date = TODAY
        session.add(Run(campaign_id=owner.id, number=1, config={}, state=RunState.RUNNING))
        session.get(Task, 1).state = TaskState.CANCELLED
    move(database, S.STOPPED)

    assert update(database) == [("Infobrief", "editing", "in_progress")]  # a real run
    assert update(database, TODAY + timedelta(days=1)) == []  # the run is still active
    with database.session() as session:
        session.scalar(select(Run)).state = RunState.COMPLETED
    assert update(database) == []  # the end date has not passed
    assert update(database, TODAY + timedelta(days=1))[0][2] == "finished"


def test_a_campaign_without_an_end_date_never_finishes_by_itself(database):
    with database.session() as session:
        owner = campaign(session, status=C.EDITING)
        session.add(Run(campaign_id=owner.id, number=1, config={}, state=RunState.COMPLETED))
    assert update(database, TODAY + timedelta(days=3650)) == [
        ("Infobrief", "editing", "in_progress")
    ]


def test_cancelled_and_finished_campaigns_stay_until_reopened(planned):
    database = planned
    move(database, S.TO_VALIDATE)
    with database.session() as session:
        cancel_campaign(session.scalar(select(Campaign)))
    assert update(database) == []
    assert status(database) is C.CANCELLED
    with database.session() as session, pytest.raises(CampaignStateError) as refused:
        cancel_campaign(session.scalar(select(Campaign)))
    assert str(refused.value) == "campaign 'Infobrief' is already cancelled"
    assert read_in("de", refused.value) == (
        "Die Kampagne „Infobrief“ hat bereits den Status „Abgebrochen“."
    )

    with database.session() as session:
        owner = session.scalar(select(Campaign))
        with pytest.raises(CampaignStateError) as refused:
            reopen_campaign(session, owner, TODAY, owner.end_date)
        assert str(refused.value) == "end date: 2026-03-01 has passed; give a later one or none"
        assert read_in("de", refused.value) == (
            "Das Enddatum 01.03.2026 ist vorbei: Geben Sie ein späteres an oder keines."
        )
        owner.start_date = TODAY + timedelta(days=10)
        with pytest.raises(CampaignStateError) as refused:
            reopen_campaign(session, owner, TODAY, TODAY + timedelta(days=7))
        assert read_in("de", refused.value) == (
            "Das Enddatum 09.03.2026 liegt vor dem Beginn am 12.03.2026."
        )
        assert reopen_campaign(session, owner, TODAY, TODAY + timedelta(days=14)) is C.TO_VALIDATE
    assert (status(database), update(database)) == (C.TO_VALIDATE, [])
    with database.session() as session, pytest.raises(CampaignStateError, match="not closed"):
        reopen_campaign(session, session.scalar(select(Campaign)), TODAY, None)


def test_a_campaign_in_progress_does_not_go_back_to_editing(database):
    with database.session() as session:
        campaign(session, status=C.IN_PROGRESS)
    assert update(database) == []
    assert status(database) is C.IN_PROGRESS


def test_a_finished_campaign_is_only_reopened(database):
    from plugins.processes.campaign_states import move_campaign

    with database.session() as session:
        owner = campaign(session, status=C.FINISHED)
        with pytest.raises(TransitionError, match="allowed next states: editing, in_progress"):
            move_campaign(owner, C.CANCELLED)


def test_tasks_move_by_their_dates(database):
    with database.session() as session:
        owner = campaign(session)
        for name, start, end in (
            ("future", TODAY + timedelta(days=1), TODAY + timedelta(days=2)),
            ("today", TODAY, TODAY + timedelta(days=2)),
            ("past", TODAY - timedelta(days=5), TODAY - timedelta(days=1)),
            ("undated", None, None),
        ):
            session.add(Task(campaign_id=owner.id, name=name, start_date=start, end_date=end))
        session.flush()
        moved = update_task_states(session, TODAY, NOW)
        assert [(task.name, before) for task, before in moved] == [
            ("today", "scheduled"),
            ("past", "scheduled"),
        ]
        states = {task.name: task.state for task in session.scalars(select(Task))}
        finished = session.scalar(select(Task).where(Task.name == "past")).finished_at
    assert states == {
        "future": TaskState.SCHEDULED,
        "today": TaskState.IN_PROGRESS,
        "past": TaskState.FINISHED,
        "undated": TaskState.SCHEDULED,
    }
    assert finished == NOW
    with database.session() as session:
        assert update_task_states(session, TODAY, NOW) == []
