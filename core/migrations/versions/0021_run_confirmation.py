"""runs wait for a person's confirmation after targeting: the state awaiting_confirmation
(one of the active states of the one-active-run index), and who confirmed and when

Revision ID: 0021_run_confirmation
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_run_confirmation"
down_revision: str | None = "0020_consent_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = (
    "queued",
    "targeting",
    "running",
    "finishing",
    "completed",
    "completed_with_errors",
    "failed",
    "cancelled",
)
ACTIVE = ("queued", "targeting", "running", "finishing")
AWAITING = "awaiting_confirmation"


def _quoted(states: Sequence[str]) -> str:
    return ", ".join(f"'{state}'" for state in states)


def _swap(batch_op, states: Sequence[str], active: Sequence[str]) -> None:
    """Replace the state check and the one-active-run index with ones over these states."""
    batch_op.drop_index("ux_runs_one_active_per_campaign")
    batch_op.drop_constraint(batch_op.f("ck_runs_run_state"), type_="check")
    batch_op.create_check_constraint(
        batch_op.f("ck_runs_run_state"), sa.text(f"state IN ({_quoted(states)})")
    )
    one_active = sa.text(f'"exclusive" = true AND state IN ({_quoted(active)})')
    batch_op.create_index(
        "ux_runs_one_active_per_campaign",
        ["campaign_id"],
        unique=True,
        sqlite_where=one_active,
        postgresql_where=one_active,
    )


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        _swap(batch_op, (*STATES, AWAITING), (*ACTIVE, AWAITING))


def downgrade() -> None:
    op.execute(sa.text(f"UPDATE runs SET state = 'cancelled' WHERE state = '{AWAITING}'"))
    with op.batch_alter_table("runs", schema=None) as batch_op:
        _swap(batch_op, STATES, ACTIVE)
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed_by")
