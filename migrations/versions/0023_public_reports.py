"""public reports (issue 15): reports from the public with a tracking code and PIN, their photos, rewards

Revision ID: 7c21e5d9a0b3
Revises: 7c1e4a9d2b60
Create Date: 2026-12-06 02:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7c21e5d9a0b3"
down_revision = "7c1e4a9d2b60"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(10), nullable=False),
        sa.Column("pin_hash", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("supervising_unit_id", sa.Integer(), nullable=True),
        sa.Column("seen_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_contact", sa.Text(), nullable=True),
        sa.Column("challenge_signature", sa.String(128), nullable=False),
        sa.Column("overdue_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["organisation.id"],
                                name="fk_public_report_enterprise_id_organisation"),
        sa.ForeignKeyConstraint(["supervising_unit_id"], ["organisation.id"],
                                name="fk_public_report_supervising_unit_id_organisation"),
        sa.ForeignKeyConstraint(["region_id"], ["region.id"], name="fk_public_report_region_id_region"),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazard.id"], name="fk_public_report_hazard_id_hazard"),
        sa.ForeignKeyConstraint(["duplicate_of_id"], ["public_report.id"],
                                name="fk_public_report_duplicate_of_id_public_report"),
        sa.PrimaryKeyConstraint("id", name="pk_public_report"),
        sa.UniqueConstraint("tracking_code", name="uq_public_report_tracking_code"),
        sa.UniqueConstraint("challenge_signature", name="uq_public_report_challenge_signature"),
    )
    op.create_index("ix_public_report_region_id", "public_report", ["region_id"])
    op.create_index("ix_public_report_hazard_id", "public_report", ["hazard_id"])
    op.create_index("ix_public_report_enterprise_created", "public_report", ["enterprise_id", "created_at"])
    op.create_index("ix_public_report_unit_status", "public_report", ["supervising_unit_id", "status"])
    op.create_index("ix_public_report_status_created", "public_report", ["status", "created_at"])
    op.create_table(
        "public_reward",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_report_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["public_report_id"], ["public_report.id"],
                                name="fk_public_reward_public_report_id_public_report"),
        sa.ForeignKeyConstraint(["unit_id"], ["organisation.id"], name="fk_public_reward_unit_id_organisation"),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["user_account.id"],
                                name="fk_public_reward_proposed_by_id_user_account"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user_account.id"],
                                name="fk_public_reward_decided_by_id_user_account"),
        sa.PrimaryKeyConstraint("id", name="pk_public_reward"),
        sa.UniqueConstraint("public_report_id", name="uq_public_reward_public_report_id"),
    )
    op.create_index("ix_public_reward_unit_id", "public_reward", ["unit_id"])
    with op.batch_alter_table("attachment") as batch:
        batch.alter_column("owner_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("public_report_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_attachment_public_report_id_public_report", "public_report",
                                 ["public_report_id"], ["id"])
        batch.create_index("ix_attachment_public_report_id", ["public_report_id"])


def downgrade():
    with op.batch_alter_table("attachment") as batch:
        batch.drop_index("ix_attachment_public_report_id")
        batch.drop_constraint("fk_attachment_public_report_id_public_report", type_="foreignkey")
        batch.drop_column("public_report_id")
        batch.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("public_reward")
    op.drop_table("public_report")
