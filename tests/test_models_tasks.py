"""The task state machine."""

from datetime import UTC, datetime

import pytest

from plugins.processes.models import Task, TaskState, TransitionError

from process_helpers import campaign

T = TaskState
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_a_rejected_result_goes_back_to_work_and_finishing_notes_when(database):
    with database.session() as session:
        task = Task(campaign_id=campaign(session).id, name="Konzept")
        session.add(task)
        assert task.state is T.SCHEDULED
        for state in (T.IN_PROGRESS, T.PENDING_APPROVAL, T.REJECTED, T.IN_PROGRESS,
                      T.PENDING_APPROVAL, T.FINISHED):  # fmt: skip
            task.move_to(state, NOW)
    assert (task.state, task.finished_at) == (T.FINISHED, NOW)


@pytest.mark.parametrize(
    ("path", "refused"),
    [((), T.FINISHED), ((T.CANCELLED,), T.IN_PROGRESS), ((T.IN_PROGRESS, T.FINISHED), T.REJECTED)],
)
def test_moves_outside_the_machine_are_refused(database, path, refused):
    with database.session() as session:
        task = Task(campaign_id=campaign(session).id, name="Konzept")
        session.add(task)
        for state in path:
            task.move_to(state, NOW)
        with pytest.raises(TransitionError, match=f"task 'Konzept' cannot move .* to '{refused}'"):
            task.move_to(refused, NOW)
