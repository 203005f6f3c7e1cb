"""reports, report building blocks and the document archive

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address_patterns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "countries",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_patterns")),
        sa.UniqueConstraint("name", name=op.f("uq_address_patterns_name")),
    )
    op.create_table(
        "archive_deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("deleted_by", sa.String(length=80), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "document_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_deletions")),
    )
    with op.batch_alter_table("archive_deletions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_archive_deletions_run_id"), ["run_id"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("group", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("usable_for_mass_print", sa.Boolean(), nullable=False),
        sa.Column("distribution_list", sa.Boolean(), nullable=False),
        sa.Column(
            "address_kind",
            sa.Enum(
                "postal",
                "registered",
                name="address_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "page_format",
            sa.Enum(
                "a4", "a5", "letter", name="page_format", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column(
            "orientation",
            sa.Enum(
                "portrait",
                "landscape",
                name="page_orientation",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("margin_top", sa.Float(), nullable=False),
        sa.Column("margin_right", sa.Float(), nullable=False),
        sa.Column("margin_bottom", sa.Float(), nullable=False),
        sa.Column("margin_left", sa.Float(), nullable=False),
        sa.Column("address_window", sa.Boolean(), nullable=False),
        sa.Column("letterhead_id", sa.Integer(), nullable=True),
        sa.Column("header_id", sa.Integer(), nullable=True),
        sa.Column("footer_id", sa.Integer(), nullable=True),
        sa.Column("layout", sa.Text(), nullable=False),
        sa.Column("stylesheet", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["footer_id"],
            ["reports.id"],
            name=op.f("fk_reports_footer_id_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["header_id"],
            ["reports.id"],
            name=op.f("fk_reports_header_id_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["letterhead_id"],
            ["reports.id"],
            name=op.f("fk_reports_letterhead_id_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("name", name=op.f("uq_reports_name")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_group"), ["group"], unique=False)

    op.create_table(
        "text_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_blocks")),
        sa.UniqueConstraint("name", name=op.f("uq_text_blocks_name")),
    )
    op.create_table(
        "report_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("image", "font", name="asset_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_assets_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_assets")),
        sa.UniqueConstraint(
            "report_id", "filename", name=op.f("uq_report_assets_report_id_filename")
        ),
    )
    op.create_table(
        "archived_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "letter",
                "email",
                "sms",
                "phone_call",
                "file",
                name="document_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=63), nullable=False),
        sa.Column("store_ref", sa.String(length=300), nullable=False),
        sa.Column(
            "meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_archived_documents_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_archived_documents_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_archived_documents_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_archived_documents_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_documents")),
        sa.UniqueConstraint(
            "run_id", "source_key", name=op.f("uq_archived_documents_run_id_source_key")
        ),
    )
    with op.batch_alter_table("archived_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_archived_documents_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            "ix_archived_documents_contact_id_created_at",
            ["contact_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("archived_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_archived_documents_contact_id_created_at")
        batch_op.drop_index(batch_op.f("ix_archived_documents_campaign_id"))

    op.drop_table("archived_documents")
    op.drop_table("report_assets")
    op.drop_table("text_blocks")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_group"))

    op.drop_table("reports")
    with op.batch_alter_table("archive_deletions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_archive_deletions_run_id"))

    op.drop_table("archive_deletions")
    op.drop_table("address_patterns")
