"""The campaign-process bundle's tables as the core's revisions 0008 to 0028 left them, and
their handover to the bundle's own Alembic branch (``plugins/processes/migrations``).

Revision ``0029_process_tables_handover`` gives the tables up and the bundle's first
revision takes them over; going down, each undoes the other. Giving up drops the tables
and the core's foreign keys to them only where all of them are empty: a database that
holds process data keeps it, tables and keys untouched, whether the bundle is enabled or
not. Taking over creates the tables and the keys where they are missing, so a database
that kept them is adopted as it is.

Frozen like the revisions that use it: a later change to the tables belongs in a new
revision of the bundle's branch, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

TABLES = (
    "expense_categories",
    "providers",
    "stocks",
    "plans",
    "provider_services",
    "stock_lines",
    "cost_categories",
    "programs",
    "service_processes",
    "stock_alerts",
    "stock_orders",
    "cost_types",
    "budgets",
    "campaign_templates",
    "cost_structures",
    "budget_expenses",
    "deliveries",
    "tasks",
    "approvals",
    "delivery_cost_types",
    "approval_events",
    "approval_reviewers",
    "expense_lines",
    "provider_steps",
    "stock_consumptions",
    "template_occurrences",
    "cost_lines",
)
"""The bundle's tables, each after those it refers to."""

CORE_LINKS = (
    ("campaigns", "program_id", "programs"),
    ("campaigns", "provider_service_id", "provider_services"),
    ("runs", "delivery_id", "deliveries"),
)
"""The foreign keys from the core's tables to the bundle's (``ON DELETE SET NULL``): a
campaign's program and pricing service, a run's delivery. The columns are the core's."""

DEFAULT_COST_TYPE = "fk_cost_categories_default_cost_type_id_cost_types"
"""The one key in a cycle (cost categories and their cost types), added after both tables."""


class PartialProcessTablesError(RuntimeError):
    """Some of the bundle's tables exist and others do not: neither handover can tell which
    of them hold the data that belongs together."""

    def __init__(self, present: set[str]) -> None:
        missing = sorted(set(TABLES) - present)
        super().__init__(
            f"the database holds only some of the campaign-process tables ({len(present)} of"
            f" {len(TABLES)}; missing: {', '.join(missing)}); restore the missing ones from a"
            " backup before migrating"
        )


def give_up() -> None:
    """Drop the tables and the core's keys to them if every table is empty; else keep all."""
    present = _present()
    if not present or any(_has_rows(name) for name in present):
        return
    for table, column, target in CORE_LINKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_link_name(table, column, target), type_="foreignkey")
    with op.batch_alter_table("cost_categories") as batch:
        batch.drop_constraint(DEFAULT_COST_TYPE, type_="foreignkey")
    for name in reversed(TABLES):
        op.drop_table(name)


def take_over() -> None:
    """Create the tables if the database has none of them, then each missing core key."""
    if not _present():
        _create_tables()
    inspector = sa.inspect(op.get_bind())
    for table, column, target in CORE_LINKS:
        name = _link_name(table, column, target)
        if name not in {key["name"] for key in inspector.get_foreign_keys(table)}:
            _forget_missing(table, column, target)
            with op.batch_alter_table(table) as batch:
                batch.create_foreign_key(name, target, [column], ["id"], ondelete="SET NULL")


def _forget_missing(table: str, column: str, target: str) -> None:
    """References to rows that do not exist (written while the tables were away) become
    NULL, as ``ON DELETE SET NULL`` would have left them, so that the key can be added."""
    op.execute(
        sa.text(
            f"UPDATE {table} SET {column} = NULL WHERE {column} NOT IN (SELECT id FROM {target})"
        )
    )


def _present() -> set[str]:
    """The bundle's tables in the database: all of them, or none."""
    present = set(TABLES) & set(sa.inspect(op.get_bind()).get_table_names())
    if present and present != set(TABLES):
        raise PartialProcessTablesError(present)
    return present


def _has_rows(name: str) -> bool:
    query = sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)
    return op.get_bind().execute(query).first() is not None


def _exactly_one(*columns: str) -> str:
    return " + ".join(f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in columns) + (
        " = 1"
    )


def _link_name(table: str, column: str, target: str) -> str:
    return op.f(f"fk_{table}_{column}_{target}")


def _create_tables() -> None:
    op.create_table(
        "expense_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expense_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_expense_categories_name")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "print_shop",
                "router",
                "other",
                name="provider_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("name", name=op.f("uq_providers_name")),
    )
    op.create_table(
        "stocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stocks")),
        sa.UniqueConstraint("name", name=op.f("uq_stocks_name")),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("calculated_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_plans_period"),
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["users.id"],
            name=op.f("fk_plans_manager_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("name", name=op.f("uq_plans_name")),
    )
    op.create_table(
        "provider_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_services_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_services")),
        sa.UniqueConstraint(
            "provider_id", "name", name=op.f("uq_provider_services_provider_id_name")
        ),
    )
    op.create_table(
        "stock_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stock_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("initial", sa.Integer(), nullable=False),
        sa.Column("ordered_in", sa.Integer(), nullable=False),
        sa.Column("consumed", sa.Integer(), nullable=False),
        sa.Column("in_stock", sa.Integer(), nullable=False),
        sa.Column("alert_level", sa.Integer(), nullable=True),
        sa.Column("alert_group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "alert_level IS NULL OR alert_level >= 0", name=op.f("ck_stock_lines_alert_level")
        ),
        sa.CheckConstraint("initial >= 0", name=op.f("ck_stock_lines_initial")),
        sa.ForeignKeyConstraint(
            ["alert_group_id"],
            ["user_groups.id"],
            name=op.f("fk_stock_lines_alert_group_id_user_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stock_id"],
            ["stocks.id"],
            name=op.f("fk_stock_lines_stock_id_stocks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_lines")),
        sa.UniqueConstraint("stock_id", "name", name=op.f("uq_stock_lines_stock_id_name")),
    )
    op.create_table(
        "cost_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "direct_mail",
                "email",
                "mobile",
                "telephone",
                "task",
                name="cost_category_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("expense_category_id", sa.Integer(), nullable=True),
        sa.Column("cost_type_required", sa.Boolean(), nullable=False),
        sa.Column("default_cost_type_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expense_category_id"],
            ["expense_categories.id"],
            name=op.f("fk_cost_categories_expense_category_id_expense_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["provider_services.id"],
            name=op.f("fk_cost_categories_service_id_provider_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_categories")),
        sa.UniqueConstraint("service_id", "name", name=op.f("uq_cost_categories_service_id_name")),
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column("calculated_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_programs_period"),
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["users.id"],
            name=op.f("fk_programs_manager_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_programs_plan_id_plans"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("plan_id", "name", name=op.f("uq_programs_plan_id_name")),
    )
    op.create_index(op.f("ix_programs_plan_id"), "programs", ["plan_id"], unique=False)
    op.create_table(
        "service_processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("export_columns", JSON, nullable=False),
        sa.Column("file_name_pattern", sa.String(length=200), nullable=False),
        sa.Column("raw_values", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("notification_subject", sa.String(length=300), nullable=False),
        sa.Column("notification_template", sa.Text(), nullable=False),
        sa.Column("notification_recipients", JSON, nullable=False),
        sa.Column("upload_target", sa.String(length=63), nullable=True),
        sa.Column("upload_settings", JSON, nullable=False),
        sa.Column("result_format", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["provider_services.id"],
            name=op.f("fk_service_processes_service_id_provider_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_processes")),
        sa.UniqueConstraint("service_id", name=op.f("uq_service_processes_service_id")),
    )
    op.create_table(
        "stock_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stock_line_id", sa.Integer(), nullable=False),
        sa.Column("alert_level", sa.Integer(), nullable=False),
        sa.Column("in_stock", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["stock_line_id"],
            ["stock_lines.id"],
            name=op.f("fk_stock_alerts_stock_line_id_stock_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_alerts")),
    )
    op.create_index(
        op.f("ix_stock_alerts_stock_line_id"), "stock_alerts", ["stock_line_id"], unique=False
    )
    op.create_index(
        "ux_stock_alerts_one_open_per_line",
        "stock_alerts",
        ["stock_line_id"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "stock_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stock_line_id", sa.Integer(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("booked", sa.Boolean(), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "booked = (booked_at IS NOT NULL)", name=op.f("ck_stock_orders_booked_at")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_orders_quantity")),
        sa.ForeignKeyConstraint(
            ["stock_line_id"],
            ["stock_lines.id"],
            name=op.f("fk_stock_orders_stock_line_id_stock_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_orders")),
    )
    op.create_index(
        op.f("ix_stock_orders_stock_line_id"), "stock_orders", ["stock_line_id"], unique=False
    )
    op.create_table(
        "cost_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cost_category_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("stock_line_id", sa.Integer(), nullable=True),
        sa.Column(
            "stock_basis",
            sa.Enum(
                "messages",
                "units",
                "days",
                name="cost_basis",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stock_basis IN ('messages', 'units')", name=op.f("ck_cost_types_stock_basis")
        ),
        sa.ForeignKeyConstraint(
            ["cost_category_id"],
            ["cost_categories.id"],
            name=op.f("fk_cost_types_cost_category_id_cost_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stock_line_id"],
            ["stock_lines.id"],
            name=op.f("fk_cost_types_stock_line_id_stock_lines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_types")),
        sa.UniqueConstraint(
            "cost_category_id", "name", name=op.f("uq_cost_types_cost_category_id_name")
        ),
    )
    with op.batch_alter_table("cost_categories") as batch:  # the two refer to each other
        batch.create_foreign_key(
            DEFAULT_COST_TYPE, "cost_types", ["default_cost_type_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index(
        op.f("ix_cost_types_stock_line_id"), "cost_types", ["stock_line_id"], unique=False
    )
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("allocated", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column("over_allocated", sa.Boolean(), nullable=False),
        sa.Column("over_allocated_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reserved", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("committed", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("spent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("invoiced", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            _exactly_one("plan_id", "program_id", "campaign_id"),
            name=op.f("ck_budgets_one_owner"),
        ),
        sa.CheckConstraint("allocated >= 0", name=op.f("ck_budgets_allocated")),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_budgets_period"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_budgets_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_budgets_plan_id_plans"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_budgets_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"],
            ["users.id"],
            name=op.f("fk_budgets_responsible_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("name", name=op.f("uq_budgets_name")),
    )
    op.create_index(op.f("ix_budgets_campaign_id"), "budgets", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_budgets_plan_id"), "budgets", ["plan_id"], unique=False)
    op.create_index(op.f("ix_budgets_program_id"), "budgets", ["program_id"], unique=False)
    op.create_table(
        "campaign_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "unique",
                "recurring",
                "periodic",
                name="template_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "frequency",
            sa.Enum(
                "daily",
                "weekly",
                "monthly",
                name="frequency",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("every", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_in_advance_days", sa.Integer(), nullable=False),
        sa.Column("to_be_approved", sa.Boolean(), nullable=False),
        sa.Column("to_be_started", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind = 'unique' OR (frequency IS NOT NULL AND first_at IS NOT NULL)",
            name=op.f("ck_campaign_templates_schedule"),
        ),
        sa.CheckConstraint(
            "create_in_advance_days >= 0", name=op.f("ck_campaign_templates_create_in_advance_days")
        ),
        sa.CheckConstraint("every >= 1", name=op.f("ck_campaign_templates_every")),
        sa.CheckConstraint(
            "until IS NULL OR first_at IS NULL OR until >= first_at",
            name=op.f("ck_campaign_templates_until"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_templates_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_campaign_templates_program_id_programs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_templates")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_campaign_templates_campaign_id")),
        sa.UniqueConstraint("name", name=op.f("uq_campaign_templates_name")),
    )
    op.create_table(
        "cost_structures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cost_category_id", sa.Integer(), nullable=False),
        sa.Column("cost_type_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "fixed",
                "linear",
                "linear_threshold",
                "constant_threshold",
                "daily",
                "surcharge",
                name="structure_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "basis",
            sa.Enum(
                "messages",
                "units",
                "days",
                name="cost_basis",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=True),
        sa.Column("brackets", JSON, nullable=False),
        sa.Column("percent", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name=op.f("ck_cost_structures_amount")),
        sa.CheckConstraint(
            "batch_size IS NULL OR batch_size >= 1", name=op.f("ck_cost_structures_batch_size")
        ),
        sa.CheckConstraint(
            "percent IS NULL OR percent >= 0", name=op.f("ck_cost_structures_percent")
        ),
        sa.ForeignKeyConstraint(
            ["cost_category_id"],
            ["cost_categories.id"],
            name=op.f("fk_cost_structures_cost_category_id_cost_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cost_type_id"],
            ["cost_types.id"],
            name=op.f("fk_cost_structures_cost_type_id_cost_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_structures")),
    )
    op.create_index(
        op.f("ix_cost_structures_cost_category_id"),
        "cost_structures",
        ["cost_category_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cost_structures_cost_type_id"), "cost_structures", ["cost_type_id"], unique=False
    )
    op.create_table(
        "budget_expenses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("budget_id", sa.Integer(), nullable=False),
        sa.Column("expense_category_id", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("planned", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("reserved", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("committed", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("spent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("invoiced", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint("allocated >= 0", name=op.f("ck_budget_expenses_allocated")),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("fk_budget_expenses_budget_id_budgets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["expense_category_id"],
            ["expense_categories.id"],
            name=op.f("fk_budget_expenses_expense_category_id_expense_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_expenses")),
        sa.UniqueConstraint(
            "budget_id",
            "expense_category_id",
            name=op.f("uq_budget_expenses_budget_id_expense_category_id"),
        ),
    )
    op.create_index(
        op.f("ix_budget_expenses_expense_category_id"),
        "budget_expenses",
        ["expense_category_id"],
        unique=False,
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "sms",
                "direct_mail",
                "print",
                name="delivery_channel",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=63), nullable=True),
        sa.Column("action_settings", JSON, nullable=True),
        sa.Column("provider_service_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "editing",
                "to_validate",
                "approved",
                "pending_confirmation",
                "start_pending",
                "in_progress",
                "paused",
                "extraction_pending",
                "file_to_approve",
                "proof_to_submit",
                "proof_to_validate",
                "file_sent",
                "finished",
                "stopped",
                "failed",
                name="delivery_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("estimated_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("surcharge", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("real_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("calculated_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("budget_id", sa.Integer(), nullable=True),
        sa.Column(
            "sent_counting",
            sa.Enum(
                "on_confirmation",
                "result_file",
                name="sent_counting",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("proof_required", sa.Boolean(), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("fk_deliveries_budget_id_budgets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_deliveries_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_deliveries_confirmed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_service_id"],
            ["provider_services.id"],
            name=op.f("fk_deliveries_provider_service_id_provider_services"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("campaign_id", "label", name=op.f("uq_deliveries_campaign_id_label")),
    )
    op.create_index(op.f("ix_deliveries_budget_id"), "deliveries", ["budget_id"], unique=False)
    op.create_index(op.f("ix_deliveries_campaign_id"), "deliveries", ["campaign_id"], unique=False)
    op.create_index(
        op.f("ix_deliveries_provider_service_id"),
        "deliveries",
        ["provider_service_id"],
        unique=False,
    )
    op.create_index("ix_deliveries_state_id", "deliveries", ["state", "id"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "scheduled",
                "in_progress",
                "pending_approval",
                "finished",
                "rejected",
                "cancelled",
                name="task_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("days_worked", sa.Numeric(precision=8, scale=2), nullable=True),
        sa.Column("estimated_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("provider_service_id", sa.Integer(), nullable=True),
        sa.Column("budget_id", sa.Integer(), nullable=True),
        sa.Column("real_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("calculated_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("commitment_level", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "commitment_level IS NULL OR commitment_level BETWEEN 1 AND 3",
            name=op.f("ck_tasks_commitment_level"),
        ),
        sa.CheckConstraint(
            "days_worked IS NULL OR days_worked >= 0", name=op.f("ck_tasks_days_worked")
        ),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_tasks_period"),
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("fk_tasks_budget_id_budgets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_tasks_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_service_id"],
            ["provider_services.id"],
            name=op.f("fk_tasks_provider_service_id_provider_services"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_budget_id"), "tasks", ["budget_id"], unique=False)
    op.create_index(op.f("ix_tasks_campaign_id"), "tasks", ["campaign_id"], unique=False)
    op.create_index(
        op.f("ix_tasks_provider_service_id"), "tasks", ["provider_service_id"], unique=False
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "targeting",
                "content",
                "budget",
                "extraction",
                "proof",
                "start",
                name="approval_step",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "mode",
            sa.Enum(
                "automatic",
                "manual",
                name="approval_mode",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "not_submitted",
                "pending",
                "approved",
                "rejected",
                name="approval_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("fk_approvals_answered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_approvals_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_approvals_submitted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("delivery_id", "step", name=op.f("uq_approvals_delivery_id_step")),
    )
    op.create_index("ix_approvals_state", "approvals", ["state"], unique=False)
    op.create_table(
        "delivery_cost_types",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("cost_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cost_type_id"],
            ["cost_types.id"],
            name=op.f("fk_delivery_cost_types_cost_type_id_cost_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_cost_types_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "cost_type_id", name=op.f("pk_delivery_cost_types")),
    )
    op.create_table(
        "approval_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "configured",
                "submitted",
                "approved",
                "rejected",
                "reminded",
                name="approval_event_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_approval_events_approval_id_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_approval_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_events")),
    )
    op.create_index(
        op.f("ix_approval_events_approval_id"), "approval_events", ["approval_id"], unique=False
    )
    op.create_table(
        "approval_reviewers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "viewer",
                "reviewer",
                "campaign_manager",
                "admin",
                name="user_role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _exactly_one("user_id", "role", "group_id"),
            name=op.f("ck_approval_reviewers_one_reviewer"),
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_approval_reviewers_approval_id_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["user_groups.id"],
            name=op.f("fk_approval_reviewers_group_id_user_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_approval_reviewers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_reviewers")),
    )
    op.create_index(
        op.f("ix_approval_reviewers_approval_id"),
        "approval_reviewers",
        ["approval_id"],
        unique=False,
    )
    op.create_table(
        "expense_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "basis",
            sa.Enum(
                "targeted",
                "sent",
                "days",
                name="expense_basis",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("days", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("calculated", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("surcharge", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("real_cost", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            _exactly_one("delivery_id", "task_id", "run_id"),
            name=op.f("ck_expense_lines_one_source"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_expense_lines_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_expense_lines_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_expense_lines_run_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_expense_lines_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expense_lines")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_expense_lines_delivery_id")),
        sa.UniqueConstraint("run_id", name=op.f("uq_expense_lines_run_id")),
        sa.UniqueConstraint("task_id", name=op.f("uq_expense_lines_task_id")),
    )
    op.create_index(
        op.f("ix_expense_lines_campaign_id"), "expense_lines", ["campaign_id"], unique=False
    )
    op.create_table(
        "provider_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "extraction",
                "upload",
                "router_email",
                "proof_email",
                "result_file",
                name="provider_step_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "claimed",
                "done",
                "failed",
                "unclear",
                name="provider_step_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("facts", JSON, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resend", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_provider_steps_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_provider_steps_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_steps")),
        sa.UniqueConstraint("key", name=op.f("uq_provider_steps_key")),
    )
    op.create_index(
        op.f("ix_provider_steps_delivery_id"), "provider_steps", ["delivery_id"], unique=False
    )
    op.create_index(op.f("ix_provider_steps_run_id"), "provider_steps", ["run_id"], unique=False)
    op.create_table(
        "stock_consumptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stock_line_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(delivery_id IS NULL) <> (run_id IS NULL)",
            name=op.f("ck_stock_consumptions_one_source"),
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_stock_consumptions_quantity")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_stock_consumptions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_stock_consumptions_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_stock_consumptions_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stock_line_id"],
            ["stock_lines.id"],
            name=op.f("fk_stock_consumptions_stock_line_id_stock_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_consumptions")),
        sa.UniqueConstraint(
            "stock_line_id",
            "delivery_id",
            name=op.f("uq_stock_consumptions_stock_line_id_delivery_id"),
        ),
        sa.UniqueConstraint(
            "stock_line_id", "run_id", name=op.f("uq_stock_consumptions_stock_line_id_run_id")
        ),
    )
    op.create_index(
        op.f("ix_stock_consumptions_campaign_id"),
        "stock_consumptions",
        ["campaign_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_stock_consumptions_delivery_id"),
        "stock_consumptions",
        ["delivery_id"],
        unique=False,
    )
    op.create_table(
        "template_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=220), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "planned",
                "started",
                "skipped",
                "cancelled",
                name="occurrence_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("to_be_approved", sa.Boolean(), nullable=False),
        sa.Column("to_be_started", sa.Boolean(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_template_occurrences_number")),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_template_occurrences_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_template_occurrences_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_template_occurrences_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["campaign_templates.id"],
            name=op.f("fk_template_occurrences_template_id_campaign_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_occurrences")),
        sa.UniqueConstraint(
            "template_id", "number", name=op.f("uq_template_occurrences_template_id_number")
        ),
        sa.UniqueConstraint(
            "template_id", "planned_at", name=op.f("uq_template_occurrences_template_id_planned_at")
        ),
    )
    op.create_table(
        "cost_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expense_line_id", sa.Integer(), nullable=False),
        sa.Column("cost_category_id", sa.Integer(), nullable=True),
        sa.Column("expense_category_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cost_category_id"],
            ["cost_categories.id"],
            name=op.f("fk_cost_lines_cost_category_id_cost_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["expense_category_id"],
            ["expense_categories.id"],
            name=op.f("fk_cost_lines_expense_category_id_expense_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["expense_line_id"],
            ["expense_lines.id"],
            name=op.f("fk_cost_lines_expense_line_id_expense_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_lines")),
        sa.UniqueConstraint(
            "expense_line_id",
            "cost_category_id",
            name=op.f("uq_cost_lines_expense_line_id_cost_category_id"),
        ),
    )
    op.create_index(
        op.f("ix_cost_lines_cost_category_id"), "cost_lines", ["cost_category_id"], unique=False
    )
