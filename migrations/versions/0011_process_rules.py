"""process rules: which process a new hazard starts, by what is known at report time

Revision ID: 6d2e4a1b9c03
Revises: 6d0e2f4a8b93
Create Date: 2026-12-01 23:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "6d2e4a1b9c03"
down_revision = "6d0e2f4a8b93"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "process_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("source", sa.String(40), nullable=True),
        sa.Column("industry", sa.String(60), nullable=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("region.id", name="fk_process_rule_region_id_region"),
                  nullable=True),
        sa.Column("created_by_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", name="fk_process_rule_created_by_id_user_account"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_process_rule_position", "process_rule", ["position"])


def downgrade():
    op.drop_index("ix_process_rule_position", table_name="process_rule")
    op.drop_table("process_rule")
