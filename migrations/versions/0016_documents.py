"""documents: administrators' versions of the printable documents' templates

Revision ID: 97efb5439cfb
Revises: 4b4db88c305e
Create Date: 2026-12-05 23:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "97efb5439cfb"
down_revision = "4b4db88c305e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_document_template_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_template")),
        sa.UniqueConstraint("kind", "number", name=op.f("uq_document_template_kind_number")),
    )


def downgrade():
    op.drop_table("document_template")
