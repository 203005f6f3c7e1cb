"""The foreign keys from the core's tables to the bundle's: a campaign's program and the
service that prices it, a run's delivery.

The columns are the core's (plain integers there, so that the core's models stand without
the bundle); the constraints come with the tables they point to. The bundle's branch adds
them to the database with the tables (``core/migrations/process_tables.py``).
"""

from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint

from core.models import Campaign, Run

LINKS = (
    (Campaign.__table__, "program_id", "programs.id"),
    (Campaign.__table__, "provider_service_id", "provider_services.id"),
    (Run.__table__, "delivery_id", "deliveries.id"),
)

for table, column, target in LINKS:
    table.append_constraint(ForeignKeyConstraint([column], [target], ondelete="SET NULL"))
