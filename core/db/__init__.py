"""The database: engines and sessions safe across the worker's fork, and the schema's
Alembic branches (the core's and the plugins')."""
