"""Alembic environment: runs the core's migrations on the connection ``core.db.schema`` passes
in."""

from alembic import context

from core.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
