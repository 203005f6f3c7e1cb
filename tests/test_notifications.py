"""Recording notifications for users, roles, groups and addresses in the caller's unit of
work."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.messages import stored
from core.models import Notification, Role, UserGroup
from core.notifications import NotificationError, notify, users_for

from process_helpers import user

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def staff(database):
    with database.session() as session:
        people = {
            "anna": user(session, "anna", Role.VIEWER),
            "ben": user(session, "ben", Role.REVIEWER),
            "cem": user(session, "cem", Role.CAMPAIGN_MANAGER),
            "dora": user(session, "dora", Role.ADMIN),
            "emil": user(session, "emil", Role.CAMPAIGN_MANAGER, active=False),
        }
        session.add(UserGroup(name="Lager", members=[people["anna"], people["emil"]]))
    return {name: account.id for name, account in people.items()}


def names(database, **who) -> list[str]:
    with database.session() as session:
        return [account.username for account in users_for(session, **who)]


def test_roles_include_the_higher_roles_and_inactive_users_get_nothing(database, staff):
    assert names(database, roles=[Role.CAMPAIGN_MANAGER]) == ["cem", "dora"]
    assert names(database, roles=["reviewer"]) == ["ben", "cem", "dora"]
    with database.session() as session:
        group = session.scalar(select(UserGroup.id))
    assert names(database, groups=[group]) == ["anna"]
    assert names(database, users=[staff["emil"]]) == []
    assert names(database) == []


def test_one_row_per_recipient_even_when_named_twice(database, staff):
    with database.session() as session:
        group = session.scalar(select(UserGroup))
        rows = notify(
            session,
            kind="stock_alert",
            subject=stored("{line}: {left} left", line="Kuvert DL", left=80),
            body=stored("Please order."),
            now=NOW,
            users=[staff["anna"], staff["cem"]],
            roles=[Role.ADMIN],
            groups=[group],
            addresses=["lager@druckerei.de", "Lager@Druckerei.de"],
            about=("stock_line", 7),
        )
    assert [(row.user_id, row.address) for row in rows] == [
        (staff["anna"], None),
        (staff["cem"], None),
        (staff["dora"], None),
        (None, "lager@druckerei.de"),
    ]
    assert {(row.object_type, row.object_id, row.created_at) for row in rows} == {
        ("stock_line", 7, NOW)
    }
    assert all(row.read_at is None and row.email_sent_at is None for row in rows)


def test_a_rolled_back_change_notifies_nobody(database, staff):
    with database.sessions() as session:
        notify(session, kind="test", subject=stored("Hallo"), now=NOW, users=[staff["ben"]])
        session.rollback()
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"subject": stored(" ")}, "subject: must not be empty"),
        ({"subject": stored("{name}", name="x" * 301)}, "subject: at most 300 characters"),
        ({"addresses": ["kein-at-zeichen"]}, "addresses: 'kein-at-zeichen' is not an e-mail"),
        ({"roles": ["chef"]}, "roles: 'chef' is not a valid Role"),
    ],
)
def test_bad_input_is_refused_naming_the_field(database, staff, options, message):
    with pytest.raises(NotificationError, match=message), database.session() as session:
        notify(session, **{"kind": "test", "subject": stored("Hallo"), "now": NOW, **options})


def test_a_notification_has_exactly_one_recipient(database, staff):
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Notification(user_id=staff["ben"], address="ben@example.de", kind="test",
                                 subject="Hallo", created_at=NOW))  # fmt: skip


def test_the_campaign_manager_or_else_everyone_managing_campaigns_is_told(database, staff):
    from core.notifications import notify_campaign_manager

    from process_helpers import campaign

    with database.session() as session:
        managed = campaign(session, name="Mit Leitung", manager_id=staff["ben"])
        unmanaged = campaign(session, name="Ohne Leitung")
        for owner in (managed, unmanaged):
            notify_campaign_manager(
                session,
                owner,
                kind="delivery_failed",
                subject=stored("{name}", name=owner.name),
                now=NOW,
            )
        told = session.execute(
            select(Notification.subject, Notification.user_id).order_by(Notification.id)
        ).all()
    assert [tuple(row) for row in told] == [
        ("Mit Leitung", staff["ben"]),
        ("Ohne Leitung", staff["cem"]),
        ("Ohne Leitung", staff["dora"]),
    ]
