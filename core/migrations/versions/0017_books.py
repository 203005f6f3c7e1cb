"""every run in the books exactly once: direct runs' expense lines and stock consumption,
voided (superseded) runs, one budget per cost, a cost category's default cost type, the
campaign's provider service

Revision ID: 0017_books
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_books"
down_revision: str | None = "0016_campaign_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONE_SOURCE_BEFORE = (
    "(CASE WHEN delivery_id IS NULL THEN 0 ELSE 1 END) + "
    "(CASE WHEN task_id IS NULL THEN 0 ELSE 1 END) = 1"
)
_ONE_SOURCE = (
    "(CASE WHEN delivery_id IS NULL THEN 0 ELSE 1 END) + "
    "(CASE WHEN task_id IS NULL THEN 0 ELSE 1 END) + "
    "(CASE WHEN run_id IS NULL THEN 0 ELSE 1 END) = 1"
)


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("superseded_reason", sa.Text(), nullable=True))

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_service_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_campaigns_provider_service_id"), ["provider_service_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_campaigns_provider_service_id_provider_services"),
            "provider_services",
            ["provider_service_id"],
            ["id"],
            ondelete="SET NULL",
        )

    for table in ("deliveries", "tasks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("budget_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_budget_id"), ["budget_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_budget_id_budgets"),
                "budgets",
                ["budget_id"],
                ["id"],
                ondelete="SET NULL",
            )

    with op.batch_alter_table("cost_categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_cost_type_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cost_categories_default_cost_type_id_cost_types"),
            "cost_types",
            ["default_cost_type_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("expense_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_expense_lines_run_id"), ["run_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_expense_lines_run_id_runs"),
            "runs",
            ["run_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(batch_op.f("ck_expense_lines_one_source"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_expense_lines_one_source"), _ONE_SOURCE)

    with op.batch_alter_table("stock_consumptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.alter_column("delivery_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_stock_consumptions_stock_line_id_run_id"), ["stock_line_id", "run_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_stock_consumptions_run_id_runs"),
            "runs",
            ["run_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_stock_consumptions_one_source"),
            "(delivery_id IS NULL) <> (run_id IS NULL)",
        )


def downgrade() -> None:
    op.execute("DELETE FROM stock_consumptions WHERE run_id IS NOT NULL")
    with op.batch_alter_table("stock_consumptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_stock_consumptions_one_source"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_stock_consumptions_run_id_runs"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("uq_stock_consumptions_stock_line_id_run_id"), type_="unique"
        )
        batch_op.alter_column("delivery_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("run_id")

    op.execute("DELETE FROM expense_lines WHERE run_id IS NOT NULL")
    with op.batch_alter_table("expense_lines", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_expense_lines_one_source"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_expense_lines_one_source"), _ONE_SOURCE_BEFORE
        )
        batch_op.drop_constraint(batch_op.f("fk_expense_lines_run_id_runs"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_expense_lines_run_id"), type_="unique")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("run_id")

    with op.batch_alter_table("cost_categories", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_cost_categories_default_cost_type_id_cost_types"), type_="foreignkey"
        )
        batch_op.drop_column("default_cost_type_id")

    for table in ("tasks", "deliveries"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_budget_id_budgets"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_budget_id"))
            batch_op.drop_column("budget_id")

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_campaigns_provider_service_id_provider_services"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_campaigns_provider_service_id"))
        batch_op.drop_column("provider_service_id")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("superseded_reason")
        batch_op.drop_column("superseded_at")
