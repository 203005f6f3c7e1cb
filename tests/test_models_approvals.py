import pytest
from sqlalchemy.exc import IntegrityError

from core.models import Role
from plugins.processes.models import Approval, ApprovalReviewer, ApprovalStep, Delivery

from process_helpers import campaign, user


@pytest.mark.parametrize(
    "reviewer", [{}, {"role": Role.REVIEWER, "user": True}], ids=["nobody", "user and role"]
)
def test_a_reviewer_entry_names_one_user_role_or_group(database, reviewer):
    with database.session() as session:
        owner = campaign(session)
        account = user(session, "erika")
        delivery = Delivery(campaign_id=owner.id, label="SMS", channel="sms")
        approval = Approval(delivery=delivery, step=ApprovalStep.CONTENT)
        session.add(approval)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            ApprovalReviewer(
                approval_id=approval.id,
                role=reviewer.get("role"),
                user_id=account.id if reviewer.get("user") else None,
            )
        )


def test_a_step_is_approved_once_per_delivery(database):
    with database.session() as session:
        delivery = Delivery(campaign_id=campaign(session).id, label="SMS", channel="sms")
        session.add(Approval(delivery=delivery, step=ApprovalStep.START))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Approval(delivery_id=delivery.id, step=ApprovalStep.START))
