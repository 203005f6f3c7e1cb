"""The ``hello`` branch of Alembic revisions; Campaign runs it after the core's."""
