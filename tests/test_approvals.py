"""Approvals: modes, reviewers and their permission, deadlines, the log, reminders, and the
first answer winning even when two reviewers answer at the same moment."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.models import Notification, Role, Run, RunState, User, UserGroup
from plugins.processes import TRANSLATIONS
from plugins.processes.approvals import (
    AlreadyAnsweredError,
    ApprovalError,
    NotAReviewerError,
    Reviewers,
    approval_for,
    approve,
    budget_waits_for_analysis,
    configure,
    is_approved,
    pending_for,
    record_reminder,
    reject,
    submit,
    submit_for_approval,
)
from plugins.processes.models import (
    Approval,
    ApprovalEvent,
    ApprovalMode,
    ApprovalState,
    ApprovalStep,
    Delivery,
    DeliveryChannel,
    DeliveryState,
)
from webapp.i18n import render_stored

from process_helpers import campaign, user
from waiting import DEADLINE

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STEP = ApprovalStep


@pytest.fixture
def people(database):
    """A delivery of a campaign managed by "manager", and users of every role."""
    with database.session() as session:
        manager = user(session, "manager", Role.CAMPAIGN_MANAGER)
        accounts = {
            "manager": manager,
            "reviewer": user(session, "reviewer", Role.REVIEWER),
            "other": user(session, "other", Role.REVIEWER),
            "viewer": user(session, "viewer", Role.VIEWER),
            "admin": user(session, "admin", Role.ADMIN),
            "retired": user(session, "retired", Role.REVIEWER, active=False),
        }
        owner = campaign(session, manager_id=manager.id)
        letter = Delivery(campaign_id=owner.id, label="Brief", channel=DeliveryChannel.DIRECT_MAIL)
        sms = Delivery(campaign_id=owner.id, label="SMS", channel=DeliveryChannel.SMS)
        session.add_all([letter, sms])
        session.add(UserGroup(name="Freigabe", members=[accounts["other"], accounts["viewer"]]))
    ids = {name: account.id for name, account in accounts.items()}
    return ids | {"letter": letter.id, "sms": sms.id}


def get(session, model, row_id):
    return session.get(model, row_id)


def events(database, approval_id: int) -> list[tuple]:
    with database.session() as session:
        return [
            (event.round, event.kind.value, event.user_id, event.comment)
            for event in session.scalars(
                select(ApprovalEvent)
                .where(ApprovalEvent.approval_id == approval_id)
                .order_by(ApprovalEvent.id)
            )
        ]


def notes(database, kind: str) -> list[tuple[int, str]]:
    with database.session() as session:
        return [
            (row.user_id, row.subject)
            for row in session.scalars(
                select(Notification).where(Notification.kind == kind).order_by(Notification.id)
            )
        ]


def manual(database, people, step=STEP.CONTENT, delivery="letter", **reviewers) -> int:
    """Configure a manual step and submit it (by the manager); return the approval's id."""
    with database.session() as session:
        delivery_row = get(session, Delivery, people[delivery])
        manager = get(session, User, people["manager"])
        configure(session, delivery_row, step, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(**reviewers), by=manager)  # fmt: skip
        return submit(session, delivery_row, step, NOW, by=manager).id


def answer(database, people, approval_id, who, verdict=approve, comment="passt"):
    with database.session() as session:
        return verdict(session, approval_id, get(session, User, people[who]), NOW, comment)


def test_a_step_nobody_configured_is_automatic_and_approved_at_once(database, people):
    with database.session() as session:
        assert is_approved(session, people["letter"], STEP.TARGETING)
        approval = submit(session, get(session, Delivery, people["letter"]), STEP.TARGETING, NOW)
        assert (approval.mode, approval.state, approval.round) == ("automatic", "approved", 1)
    assert events(database, approval.id) == [
        (0, "configured", None, "automatic; reviewers: the campaign manager"),
        (1, "submitted", None, ""),
        (1, "approved", None, "automatic"),
    ]


def test_without_reviewers_the_campaign_manager_decides(database, people):
    approval_id = manual(database, people)
    with database.session() as session:
        approval = get(session, Approval, approval_id)
        assert (approval.state, approval.deadline_at) == ("pending", NOW + timedelta(days=3))
        assert not is_approved(session, people["letter"], STEP.CONTENT)
    assert notes(database, "approval_request") == [
        (people["manager"], "Approval needed: content of delivery 'Brief' (Infobrief)")
    ]
    with database.session() as session:  # its link opens the approval, where it is answered
        request = session.scalar(
            select(Notification).where(Notification.kind == "approval_request")
        )
        assert (request.object_type, request.object_id) == ("approval", approval_id)
    with pytest.raises(NotAReviewerError, match="reviewer may not answer the content"):
        answer(database, people, approval_id, "reviewer")

    answer(database, people, approval_id, "manager", comment="gut so")

    with database.session() as session:
        assert is_approved(session, people["letter"], STEP.CONTENT)
        approval = get(session, Approval, approval_id)
        assert (approval.answered_by_id, approval.answered_at) == (people["manager"], NOW)
    assert events(database, approval_id)[-1] == (1, "approved", people["manager"], "gut so")


@pytest.mark.parametrize(
    ("reviewers", "allowed"),
    [
        ({"users": ["reviewer"]}, {"reviewer"}),
        ({"roles": [Role.CAMPAIGN_MANAGER]}, {"manager", "admin"}),
        ({"roles": ["reviewer"]}, {"reviewer", "other", "manager", "admin"}),
        ({"groups": ["Freigabe"]}, {"other"}),  # the viewer in the group may not approve
    ],
)
def test_reviewers_are_users_roles_or_groups_with_at_least_the_reviewer_role(
    database, people, reviewers, allowed
):
    with database.session() as session:
        resolved = {
            "users": [people[name] for name in reviewers.get("users", [])],
            "roles": reviewers.get("roles", []),
            "groups": [
                session.scalar(select(UserGroup.id).where(UserGroup.name == name))
                for name in reviewers.get("groups", [])
            ],
        }
    approval_id = manual(database, people, **resolved)
    with database.session() as session:
        approval = get(session, Approval, approval_id)
        may = {
            name
            for name in ("manager", "reviewer", "other", "viewer", "admin", "retired")
            if approval in pending_for(session, get(session, User, people[name]))
        }
    assert may == allowed


def test_a_rejection_needs_a_reason_and_a_resubmission_opens_a_new_round(database, people):
    approval_id = manual(database, people, users=[people["reviewer"]])
    with pytest.raises(ApprovalError, match="comment: say why"):
        answer(database, people, approval_id, "reviewer", reject, comment=" ")
    answer(database, people, approval_id, "reviewer", reject, comment="Logo fehlt")
    assert notes(database, "approval_answer") == [
        (people["manager"], "Rejected by Reviewer: content of delivery 'Brief' (Infobrief)")
    ]
    with database.session() as session:
        assert not is_approved(session, people["letter"], STEP.CONTENT)
        again = submit(session, get(session, Delivery, people["letter"]), STEP.CONTENT,
                       NOW + timedelta(hours=1), deadline=NOW + timedelta(days=1))  # fmt: skip
        assert (again.round, again.state, again.comment) == (2, "pending", "")
        assert again.deadline_at == NOW + timedelta(days=1)
    answer(database, people, approval_id, "reviewer")
    assert [entry[:2] for entry in events(database, approval_id)] == [
        (0, "configured"), (1, "submitted"), (1, "rejected"), (2, "submitted"), (2, "approved"),
    ]  # fmt: skip


def test_the_first_answer_wins_over_an_answer_based_on_what_was_read_before(database, people):
    approval_id = manual(database, people, roles=[Role.REVIEWER])
    with database.sessions() as first, database.sessions() as second:
        reviewer = first.get(User, people["reviewer"])
        other = second.get(User, people["other"])
        # both read "pending" and keep it: only the database can stop the second answer
        seen = [first.get(Approval, approval_id), second.get(Approval, approval_id)]
        assert [approval.state for approval in seen] == ["pending", "pending"]
        approve(first, approval_id, reviewer, NOW, "ok")
        first.commit()
        with pytest.raises(AlreadyAnsweredError, match="was already approved by reviewer at"):
            reject(second, approval_id, other, NOW, "nein")
        assert seen[1].state == "approved"  # refreshed after the refused update
        second.rollback()
    with database.session() as session:
        assert get(session, Approval, approval_id).state is ApprovalState.APPROVED
    assert [entry[1] for entry in events(database, approval_id)].count("rejected") == 0


def test_an_answer_to_an_earlier_round_does_not_land_on_the_new_one(database, people):
    approval_id = manual(database, people, users=[people["reviewer"], people["other"]])
    with database.session() as session:
        shown = get(session, Approval, approval_id).round  # what the other reviewer sees
    answer(database, people, approval_id, "reviewer", reject, comment="Tippfehler")
    with database.session() as session:
        submit(session, get(session, Delivery, people["letter"]), STEP.CONTENT, NOW)
    with (
        pytest.raises(AlreadyAnsweredError, match=r"submitted again \(round 2\) after round 1"),
        database.session() as session,
    ):
        approve(session, approval_id, get(session, User, people["other"]), NOW, seen_round=shown)
    with database.session() as session:
        approval = get(session, Approval, approval_id)
        assert (approval.state, approval.round) == ("pending", 2)
        approve(session, approval_id, get(session, User, people["other"]), NOW, seen_round=2)


def test_two_reviewers_answering_at_the_same_moment_give_one_answer(database, people):
    for attempt in range(3):
        with database.session() as session:
            session.execute(Approval.__table__.delete())
        approval_id = manual(database, people, roles=[Role.REVIEWER])
        start = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def respond(who: str, verdict, outcomes=outcomes, start=start, approval_id=approval_id):
            with database.sessions() as session:
                account = session.get(User, people[who])
                start.wait()
                try:
                    verdict(session, approval_id, account, NOW, f"{who} sagt {verdict.__name__}")
                    session.commit()
                    outcomes[who] = "answered"
                except AlreadyAnsweredError:
                    session.rollback()
                    outcomes[who] = "too late"

        threads = [
            threading.Thread(target=respond, args=("reviewer", approve)),
            threading.Thread(target=respond, args=("other", reject)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE)
        assert sorted(outcomes.values()) == ["answered", "too late"], attempt
        answers = [e for e in events(database, approval_id) if e[1] in ("approved", "rejected")]
        assert len(answers) == 1
        with database.session() as session:
            approval = get(session, Approval, approval_id)
            winner = next(who for who, outcome in outcomes.items() if outcome == "answered")
            assert approval.answered_by_id == people[winner] == answers[0][2]


def test_budget_approval_only_with_a_manual_targeting_approval(database, people):
    with database.session() as session:
        letter = get(session, Delivery, people["letter"])
        with pytest.raises(ApprovalError, match="needs a manual targeting approval"):
            configure(session, letter, STEP.BUDGET, ApprovalMode.MANUAL, NOW)
        configure(session, letter, STEP.TARGETING, ApprovalMode.MANUAL, NOW)
        configure(session, letter, STEP.BUDGET, ApprovalMode.MANUAL, NOW)
        with pytest.raises(ApprovalError, match="make the budget approval automatic first"):
            configure(session, letter, STEP.TARGETING, ApprovalMode.AUTOMATIC, NOW)


def test_extraction_and_proof_are_direct_mail_steps(database, people):
    with database.session() as session:
        sms = get(session, Delivery, people["sms"])
        for step in (STEP.EXTRACTION, STEP.PROOF):
            with pytest.raises(ApprovalError, match="only direct-mail and print deliveries") as no:
                submit(session, sms, step, NOW)
    assert str(no.value).endswith("'SMS' is sent by SMS")
    assert german(no.value) == (
        "Schritt „Korrekturabzug“: Nur Direktmailing- und Massendruck-Versände haben ihn; "
        "„SMS“ wird per SMS versendet."
    )


def test_a_letters_file_is_always_approved_by_a_person(database, people):
    """The extraction file is what reaches the letters' recipients: nobody's automatic
    approval lets it go, not even one set up before this rule."""
    with database.session() as session:
        letter = get(session, Delivery, people["letter"])
        with pytest.raises(ApprovalError, match="it cannot be automatic") as no:
            configure(session, letter, STEP.EXTRACTION, ApprovalMode.AUTOMATIC, NOW)
        approval = submit(session, letter, STEP.EXTRACTION, NOW)
        assert (approval.mode, approval.state) == (ApprovalMode.MANUAL, ApprovalState.PENDING)
        approval.mode = ApprovalMode.AUTOMATIC  # as stored before the rule
        reject(session, approval.id, get(session, User, people["manager"]), NOW, "Anrede")
        again = submit(session, letter, STEP.EXTRACTION, NOW)
        assert (again.mode, again.state, again.round) == (
            ApprovalMode.MANUAL,
            ApprovalState.PENDING,
            2,
        )
    assert german(no.value) == (
        "Schritt „Extraktionsdatei“: Ein Mensch gibt ihn mit der Zahl der Briefe vor Augen frei; "
        "er kann nicht automatisch sein."
    )
    assert (
        notes(database, "approval_request")
        == [(people["manager"], "Approval needed: extraction of delivery 'Brief' (Infobrief)")] * 2
    )


def test_the_steps_before_the_start_are_set_up_before_the_delivery_is_approved(database, people):
    """One set up later would never be asked: the delivery can no longer be submitted."""
    with database.session() as session:
        letter = get(session, Delivery, people["letter"])
        letter.move_to(DeliveryState.TO_VALIDATE, NOW)
        configure(session, letter, STEP.CONTENT, ApprovalMode.MANUAL, NOW)
        letter.move_to(DeliveryState.APPROVED, NOW)
        with pytest.raises(ApprovalError, match="'approved'; the steps before the start") as no:
            configure(session, letter, STEP.TARGETING, ApprovalMode.MANUAL, NOW)
        configure(session, letter, STEP.PROOF, ApprovalMode.MANUAL, NOW)  # comes later
    assert german(no.value) == (
        "Schritt „Zielgruppe“: Versand „Brief“ hat den Stand „Freigegeben“; die Schritte vor "
        "dem Start werden eingerichtet, bevor er freigegeben ist."
    )


def test_who_decides_cannot_change_while_an_answer_is_awaited(database, people):
    manual(database, people)
    with database.session() as session:
        letter = get(session, Delivery, people["letter"])
        with pytest.raises(ApprovalError, match="waiting for an answer"):
            configure(session, letter, STEP.CONTENT, ApprovalMode.AUTOMATIC, NOW)
        with pytest.raises(ApprovalError, match="is still waiting for an answer"):
            submit(session, letter, STEP.CONTENT, NOW)
        with pytest.raises(
            ApprovalError, match=r"deadline: 2026-03-01T08:00:00\+00:00 is not in"
        ) as past:
            submit(session, get(session, Delivery, people["sms"]), STEP.START, NOW,
                   deadline=NOW - timedelta(days=1))  # fmt: skip
    assert german(past.value) == "Frist: 01.03.2026 09:00 liegt nicht in der Zukunft."


def german(error: ApprovalError) -> str:
    """The error as the panel shows it to a German reader."""
    return render_stored(error.text, "de", {"plugins.processes": [TRANSLATIONS]})


def test_reminders_are_counted_logged_and_sent_to_the_reviewers(database, people):
    approval_id = manual(database, people, users=[people["reviewer"]])
    with database.session() as session:
        approval = get(session, Approval, approval_id)
        record_reminder(session, approval, NOW + timedelta(days=2))
        assert (approval.reminders_sent, approval.last_reminder_at) == (1, NOW + timedelta(days=2))
    assert events(database, approval_id)[-1][:2] == (1, "reminded")
    assert notes(database, "approval_reminder") == [
        (people["reviewer"], "Reminder: approval needed for the content of delivery 'Brief' "
         "(Infobrief)")
    ]  # fmt: skip
    answer(database, people, approval_id, "reviewer")
    with (
        database.session() as session,
        pytest.raises(ApprovalError, match="is approved, not waiting for an answer") as answered,
    ):
        record_reminder(session, get(session, Approval, approval_id), NOW)
    assert german(answered.value) == (
        "Inhalt von Versand „Brief“ (Infobrief) wartet nicht auf eine Antwort (Freigegeben)."
    )


def test_an_unsubmitted_or_unknown_approval_cannot_be_answered(database, people):
    with database.session() as session:
        letter = get(session, Delivery, people["letter"])
        approval = configure(session, letter, STEP.START, ApprovalMode.MANUAL, NOW)
        manager = get(session, User, people["manager"])
        with pytest.raises(ApprovalError, match="has not been submitted"):
            approve(session, approval.id, manager, NOW)
        with pytest.raises(ApprovalError, match="no approval with id 999"):
            approve(session, 999, manager, NOW)


def test_submitting_a_delivery_submits_each_step_before_the_start_once(database, people):
    from plugins.processes.approvals import submit_for_approval
    from plugins.processes.models import DeliveryState

    with database.session() as session:
        sms = get(session, Delivery, people["sms"])
        configure(session, sms, STEP.CONTENT, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[people["reviewer"]]))  # fmt: skip
        configure(session, sms, STEP.TARGETING, ApprovalMode.AUTOMATIC, NOW)
        assert submit_for_approval(session, sms, NOW) == [STEP.TARGETING, STEP.CONTENT, STEP.START]
        assert sms.state is DeliveryState.TO_VALIDATE
        assert submit_for_approval(session, sms, NOW) == []  # nothing is submitted twice
        content = session.scalar(select(Approval).where(Approval.step == STEP.CONTENT))
        approve(session, content.id, get(session, User, people["reviewer"]), NOW)
        letter = get(session, Delivery, people["letter"])
        assert submit_for_approval(session, letter, NOW) == [STEP.START]  # all automatic
        assert letter.state is DeliveryState.APPROVED


def test_a_new_round_clears_the_overdue_mark(database, people):
    approval_id = manual(database, people, users=[people["reviewer"]])
    with database.session() as session:
        approval = get(session, Approval, approval_id)
        approval.overdue_at = NOW + timedelta(days=4)
        reject(session, approval_id, get(session, User, people["reviewer"]), NOW, "nein")
        submit(session, get(session, Delivery, people["letter"]), STEP.CONTENT, NOW)
        assert approval.overdue_at is None


def test_a_manual_budget_step_waits_for_the_targeting_analysis(database, people):
    with database.session() as session:
        letter = get(session, Delivery, people["letter"])
        manager = get(session, User, people["manager"])
        for step in (STEP.TARGETING, STEP.BUDGET):
            configure(session, letter, step, ApprovalMode.MANUAL, NOW)
        assert submit_for_approval(session, letter, NOW) == [STEP.TARGETING, STEP.START]
        assert letter.state is DeliveryState.TO_VALIDATE
        assert approval_for(session, letter.id, STEP.BUDGET).state is ApprovalState.NOT_SUBMITTED
        assert budget_waits_for_analysis(session, letter.id)
        later = NOW + timedelta(minutes=20)
        session.add(Run(campaign_id=letter.campaign_id, delivery_id=letter.id, number=1,
                        config={}, dry_run=True, exclusive=False, state=RunState.COMPLETED,
                        targeted=5, targeted_at=later))  # fmt: skip
        session.flush()
        assert not budget_waits_for_analysis(session, letter.id)
        approve(session, approval_for(session, letter.id, STEP.TARGETING).id, manager, later)
        budget = submit(session, letter, STEP.BUDGET, later)
        reject(session, budget.id, manager, later, "zu teuer")
        letter.move_to(DeliveryState.EDITING, later)
        # resubmitted: the approved targeting's analysis still holds, the budget is asked again
        assert submit_for_approval(session, letter, later) == [STEP.BUDGET]
        assert approval_for(session, letter.id, STEP.BUDGET).round == 2
