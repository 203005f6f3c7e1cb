"""The outgoing webhooks' tables as the core's revision ``0027_webhooks`` created them, and
their handover to the webhooks plugin's own Alembic branch (``plugins/webhooks/migrations``).

Revision ``0032_webhook_tables_handover`` gives the tables up and the plugin's first revision
takes them over; going down, each undoes the other. Giving up drops the tables only where
all of them are empty: a database that holds webhooks or their deliveries keeps them,
whether the plugin is enabled or not. Taking over creates the tables where they are
missing, so a database that kept them is adopted as it is.

Frozen like the revisions that use it: a later change to the tables belongs in a new
revision of the plugin's branch, never here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

TABLES = ("webhook_allowed_hosts", "webhooks", "webhook_deliveries", "webhook_attempts")
"""The plugin's tables, each after those it refers to."""


class PartialWebhookTablesError(RuntimeError):
    """Some of the webhook tables exist and others do not: neither handover can tell which
    of them hold the data that belongs together."""

    def __init__(self, present: set[str]) -> None:
        missing = sorted(set(TABLES) - present)
        super().__init__(
            f"the database holds only some of the webhook tables ({len(present)} of"
            f" {len(TABLES)}; missing: {', '.join(missing)}); restore the missing ones from a"
            " backup before migrating"
        )


def give_up() -> None:
    """Drop the tables if every one is empty; else keep them all."""
    present = _present()
    if not present or any(_has_rows(name) for name in present):
        return
    op.drop_index(op.f("ix_webhook_attempts_delivery_id"), table_name="webhook_attempts")
    op.drop_index("ix_webhook_deliveries_webhook_id_id", table_name="webhook_deliveries")
    for name in reversed(TABLES):
        op.drop_table(name)


def take_over() -> None:
    """Create the tables if the database has none of them."""
    if not _present():
        _create_tables()


def _present() -> set[str]:
    """The webhook tables in the database: all of them, or none."""
    present = set(TABLES) & set(sa.inspect(op.get_bind()).get_table_names())
    if present and present != set(TABLES):
        raise PartialWebhookTablesError(present)
    return present


def _has_rows(name: str) -> bool:
    query = sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)
    return op.get_bind().execute(query).first() is not None


def _create_tables() -> None:
    op.create_table(
        "webhook_allowed_hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_allowed_hosts")),
        sa.UniqueConstraint("host", name=op.f("uq_webhook_allowed_hosts_host")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "succeeded",
                "failed",
                name="webhook_delivery_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_id_id", "webhook_deliveries", ["webhook_id", "id"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(op.f("ix_webhook_attempts_delivery_id"), "webhook_attempts", ["delivery_id"])
