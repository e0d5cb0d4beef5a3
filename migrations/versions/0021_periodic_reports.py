"""periodic reports: the enterprise's quarterly and annual report as a process instance that is not a hazard
(its read model `periodic_report`, and `human_task.report_id` for its tasks)

Revision ID: 8c41d2e9f0a3
Revises: 5bade7a4a7bc
Create Date: 2026-12-06 02:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "8c41d2e9f0a3"
down_revision = "5bade7a4a7bc"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "periodic_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(),
                  sa.ForeignKey("organisation.id", name="fk_periodic_report_enterprise_id_organisation"),
                  nullable=False),
        sa.Column("supervising_unit_id", sa.Integer(),
                  sa.ForeignKey("organisation.id", name="fk_periodic_report_supervising_unit_id_organisation"),
                  nullable=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("region.id", name="fk_periodic_report_region_id_region"),
                  nullable=True),
        sa.Column("instance_id", sa.Integer(),
                  sa.ForeignKey("process_instance.id", name="fk_periodic_report_instance_id_process_instance"),
                  nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("figures", sa.Text(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", name="fk_periodic_report_signed_by_id_user_account"),
                  nullable=True),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("enterprise_id", "period", name="uq_periodic_report_enterprise_id_period"),
        sa.UniqueConstraint("instance_id", name="uq_periodic_report_instance_id"),
    )
    op.create_index("ix_periodic_report_unit_period", "periodic_report", ["supervising_unit_id", "period", "status"])
    op.create_index("ix_periodic_report_status", "periodic_report", ["status"])
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("report_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_human_task_report_id_periodic_report", "periodic_report", ["report_id"], ["id"])
        batch.create_index("ix_human_task_report_id", ["report_id"])


def downgrade():
    with op.batch_alter_table("human_task") as batch:
        batch.drop_index("ix_human_task_report_id")
        batch.drop_constraint("fk_human_task_report_id_periodic_report", type_="foreignkey")
        batch.drop_column("report_id")
    op.drop_index("ix_periodic_report_status", table_name="periodic_report")
    op.drop_index("ix_periodic_report_unit_period", table_name="periodic_report")
    op.drop_table("periodic_report")
