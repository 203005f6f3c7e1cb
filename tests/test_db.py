import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from core.models import Contact


def test_a_pinned_session_commits_each_transaction_on_one_connection(database):
    connections = set()
    with database.pinned_session() as session:
        for number in ("P-1", "P-2"):
            with session.begin():
                session.execute(insert(Contact).values(number=number, attributes={}))
                connections.add(id(session.connection().connection.dbapi_connection))
            with database.session() as other:  # committed: another session sees it
                assert other.scalar(select(func.count()).select_from(Contact)) == int(number[-1])
        with pytest.raises(DBAPIError), session.begin():
            session.execute(insert(Contact).values(number="P-3", attributes={}))
            session.execute(text("SELECT no_such_column FROM contacts"))
        with session.begin():  # a failed transaction leaves the session usable
            connections.add(id(session.connection().connection.dbapi_connection))
            assert session.scalars(select(Contact.number).order_by(Contact.id)).all() == [
                "P-1",
                "P-2",
            ]
    assert len(connections) == 1
