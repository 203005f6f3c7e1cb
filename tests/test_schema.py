from sqlalchemy import inspect

from core.db import Database
from core.schema import current_revision, downgrade, head_revision, is_up_to_date, upgrade


def test_migrations_bring_a_fresh_database_to_head(database: Database):
    assert is_up_to_date(database.engine)
    tables = set(inspect(database.engine).get_table_names())
    assert {"contacts", "contracts", "products", "sales_partners", "users"} <= tables


def test_migrations_go_down_and_up_again(database: Database):
    downgrade(database.engine, "base")
    assert current_revision(database.engine) is None
    assert "contacts" not in inspect(database.engine).get_table_names()
    upgrade(database.engine)
    assert current_revision(database.engine) == head_revision()


def test_upgrading_an_up_to_date_database_changes_nothing(database: Database):
    upgrade(database.engine)
    assert current_revision(database.engine) == head_revision()


def test_models_and_migrations_agree(database: Database):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from core.models import Base

    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
