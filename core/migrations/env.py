"""Alembic environment: runs the core's migrations on the connection ``core.db.schema`` passes
in."""

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from core.models import Base

# SQLite's batch mode reflects the tables a changed table refers to, and SQLAlchemy cannot
# reflect the contacts' lower() indexes; the migrations never need those, so the warning
# would only fill the console of every `campaign db upgrade`.
warnings.filterwarnings(
    "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
