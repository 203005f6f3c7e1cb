"""The delivery state machine: both paths, refused moves, times, and concurrent changes."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm.exc import StaleDataError

from plugins.processes.models import Delivery, DeliveryChannel, DeliveryState, TransitionError
from plugins.processes.models.deliveries import DIRECT_MAIL_TRANSITIONS, ONLINE_TRANSITIONS

from process_helpers import campaign

S = DeliveryState
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def new_delivery(database, channel: DeliveryChannel, label: str = "Brief") -> int:
    with database.session() as session:
        owner = campaign(session)
        delivery = Delivery(campaign_id=owner.id, label=label, channel=channel)
        session.add(delivery)
    return delivery.id


def walk(database, delivery_id: int, *states: DeliveryState) -> Delivery:
    with database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        for offset, state in enumerate(states):
            delivery.move_to(state, NOW + timedelta(minutes=offset))
    return delivery


def test_an_sms_goes_from_approval_through_confirmation_to_finished(database):
    sms = new_delivery(database, DeliveryChannel.SMS)
    delivery = walk(
        database, sms, S.TO_VALIDATE, S.APPROVED, S.PENDING_CONFIRMATION, S.START_PENDING,
        S.IN_PROGRESS, S.PAUSED, S.IN_PROGRESS, S.FINISHED,
    )  # fmt: skip
    assert delivery.state is S.FINISHED
    assert delivery.started_at == NOW + timedelta(minutes=4)
    assert delivery.finished_at == delivery.state_changed_at == NOW + timedelta(minutes=7)


def test_a_letter_goes_through_extraction_file_approval_and_proof_to_the_router(database):
    letter = new_delivery(database, DeliveryChannel.DIRECT_MAIL)
    delivery = walk(
        database, letter, S.APPROVED, S.EXTRACTION_PENDING, S.FILE_TO_APPROVE,
        S.EXTRACTION_PENDING,  # the sample was rejected: extract again
        S.FILE_TO_APPROVE, S.PROOF_TO_SUBMIT, S.PROOF_TO_VALIDATE,
        S.PROOF_TO_SUBMIT,  # the proof was rejected
        S.PROOF_TO_VALIDATE, S.FILE_SENT, S.FINISHED,
    )  # fmt: skip
    assert delivery.state is S.FINISHED
    assert delivery.started_at == NOW + timedelta(minutes=9)  # the file went to the router


def test_print_takes_the_direct_mail_path_without_a_proof(database):
    printed = new_delivery(database, DeliveryChannel.PRINT)
    delivery = walk(
        database, printed, S.APPROVED, S.EXTRACTION_PENDING, S.FILE_TO_APPROVE, S.FILE_SENT
    )
    assert delivery.state is S.FILE_SENT


@pytest.mark.parametrize(
    ("channel", "path", "refused", "message"),
    [
        (DeliveryChannel.SMS, (), S.IN_PROGRESS,
         "sms delivery 'Brief' cannot move from 'editing' to 'in_progress'; allowed next states:"
         " approved, stopped, to_validate"),
        (DeliveryChannel.EMAIL, (S.APPROVED,), S.EXTRACTION_PENDING, "from 'approved'"),
        (DeliveryChannel.DIRECT_MAIL, (S.APPROVED,), S.PENDING_CONFIRMATION, "from 'approved'"),
        (DeliveryChannel.DIRECT_MAIL, (S.APPROVED, S.EXTRACTION_PENDING, S.FILE_TO_APPROVE,
                                       S.FILE_SENT), S.STOPPED, "from 'file_sent'"),
        (DeliveryChannel.EMAIL, (S.STOPPED,), S.EDITING, "allowed next states: none (final state)"),
    ],
)  # fmt: skip
def test_a_move_the_path_does_not_allow_is_refused_and_nothing_changes(
    database, channel, path, refused, message
):
    delivery_id = new_delivery(database, channel)
    walk(database, delivery_id, *path)
    with pytest.raises(TransitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        walk(database, delivery_id, refused)
    with database.session() as session:
        assert session.get(Delivery, delivery_id).state is (path[-1] if path else S.EDITING)


def test_a_delivery_starts_in_editing_and_needs_its_channel_first(database):
    with database.session() as session:
        owner = campaign(session)
        with pytest.raises(TransitionError, match="as a new object to 'finished'"):
            Delivery(campaign_id=owner.id, label="X", channel=DeliveryChannel.SMS, state=S.FINISHED)
        with pytest.raises(ValueError, match="set its channel before its state"):
            Delivery(campaign_id=owner.id, label="X")
        assert Delivery(campaign_id=owner.id, label="X", channel="sms").state is S.EDITING


def test_assigning_the_state_directly_is_checked_too(database):
    sms = new_delivery(database, DeliveryChannel.SMS)
    with pytest.raises(TransitionError), database.session() as session:
        session.get(Delivery, sms).state = "finished"


def test_two_processes_changing_one_delivery_cannot_both_win(database):
    sms = new_delivery(database, DeliveryChannel.SMS)
    walk(database, sms, S.APPROVED, S.PENDING_CONFIRMATION, S.START_PENDING)
    with database.sessions() as stopping, database.sessions() as starting:
        stopped = stopping.get(Delivery, sms)
        started = starting.get(Delivery, sms)
        stopped.move_to(S.STOPPED, NOW)
        stopping.commit()
        started.move_to(S.IN_PROGRESS, NOW)  # valid from what this process read
        with pytest.raises(StaleDataError):
            starting.commit()
    with database.session() as session:
        assert session.get(Delivery, sms).state is S.STOPPED


def test_both_paths_end_in_final_states_only():
    for transitions in (ONLINE_TRANSITIONS, DIRECT_MAIL_TRANSITIONS):
        reachable = set().union(*transitions.values())
        dead_ends = {state for state in reachable if state not in transitions}
        assert dead_ends == {S.FINISHED, S.STOPPED, S.FAILED}
