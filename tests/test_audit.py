import pytest
from sqlalchemy import select

from core.audit import audit_query, record_audit
from core.models import AuditEntry


def test_an_entry_commits_with_the_change_it_describes(database):
    with database.session() as session:
        record_audit(session, "anna", "run.start", "campaign", 7, "run #3", {"run_id": 12})
    with pytest.raises(RuntimeError), database.session() as session:
        record_audit(session, "ben", "campaign.delete", "campaign", 7)
        raise RuntimeError("the deletion failed")
    with database.session() as session:
        entries = session.scalars(select(AuditEntry)).all()
    assert [(e.actor, e.action, e.target_id, e.details) for e in entries] == [
        ("anna", "run.start", "7", {"run_id": 12})
    ]


def test_entries_are_found_by_actor_action_and_target_newest_first(database):
    with database.session() as session:
        record_audit(session, "anna", "campaign.update", "campaign", 1)
        record_audit(session, "ben", "approval.approve", "approval", 5)
        record_audit(session, "anna", "campaign.copy", "campaign", 2)
        record_audit(session, None, "workflow.run", "workflow", "budgetMgt")
    with database.session() as session:

        def actions(**criteria):
            return [entry.action for entry in session.scalars(audit_query(**criteria))]

        assert actions(actor="anna") == ["campaign.copy", "campaign.update"]
        assert actions(action_prefix="campaign.") == ["campaign.copy", "campaign.update"]
        assert actions(target_type="campaign", target_id=1) == ["campaign.update"]
        assert actions(action_prefix="camp%") == []


def test_a_sentence_is_stored_as_a_message_a_name_as_it_is(database):
    from core.messages import stored

    with database.session() as session:
        record_audit(session, "anna", "report.delete", "report", 7, "Einladung")
        record_audit(
            session,
            "anna",
            "archive.delete",
            "run",
            3,
            stored("{count} documents deleted", count=2),
        )
    with database.session() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.summary, e.summary_message) for e in entries] == [
            ("Einladung", None),
            (
                "2 documents deleted",
                {"id": "{count} documents deleted", "params": {"count": 2}, "domain": None},
            ),
        ]


def test_an_action_needs_a_name():
    with pytest.raises(ValueError, match="an audit action needs 1 to 80 characters"):
        record_audit(None, "anna", "", "campaign")
