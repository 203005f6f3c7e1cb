import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from core.db.database import NulCharacterError
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


def test_a_nul_character_in_a_text_value_is_refused_with_a_clear_error(database):
    """PostgreSQL would fail with a raw driver error and SQLite would store it: both refuse."""
    nul = pytest.raises(NulCharacterError, match=r"contains a NUL character \(\\0\)")
    with nul, database.session() as session:
        session.execute(insert(Contact).values(number="N-\0", attributes={}))
    with pytest.raises(NulCharacterError), database.session() as session:
        session.scalar(select(Contact).where(Contact.last_name == "Mül\0ler"))
    with pytest.raises(NulCharacterError), database.session() as session:
        session.execute(
            insert(Contact),
            [{"number": f"B-{n}" + "\0" * (n == 7), "attributes": {}} for n in range(9)],
        )
    with database.session() as session:  # nothing half stored, the database still usable
        session.execute(insert(Contact).values(number="N-1", attributes={}))
        assert session.scalars(select(Contact.number)).all() == ["N-1"]
