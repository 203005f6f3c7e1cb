"""Campaign states (to validate, cancelled) and who confirmed a delivery's start

Revision ID: 0016_campaign_states
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_campaign_states"
down_revision: str | None = "0015_fields_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ("editing", "in_progress", "finished")
NEW_STATES = ("editing", "to_validate", "in_progress", "finished", "cancelled")


def _status_check(states: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{state}'" for state in states) + ")"


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_campaigns_campaign_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_campaigns_campaign_status"), _status_check(NEW_STATES)
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_confirmed_by_id_users"),
            "users",
            ["confirmed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_deliveries_confirmed_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("confirmed_by_id")
        batch_op.drop_column("confirmed_at")
    op.execute(
        "UPDATE campaigns SET status = 'in_progress' WHERE status IN ('to_validate', 'cancelled')"
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_campaigns_campaign_status"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_campaigns_campaign_status"), _status_check(OLD_STATES)
        )
