"""public report triage as a process: `public_report.instance_id` (its triage instance) and
`human_task.public_report_id` (the triage's tasks), like the periodic report's

Revision ID: 4e8a1c6b2d97
Revises: 9a3c5e7f1b24
Create Date: 2026-12-06 05:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "4e8a1c6b2d97"
down_revision = "9a3c5e7f1b24"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("public_report") as batch:
        batch.add_column(sa.Column("instance_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_public_report_instance_id_process_instance", "process_instance",
                                 ["instance_id"], ["id"])
        batch.create_unique_constraint("uq_public_report_instance_id", ["instance_id"])
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("public_report_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_human_task_public_report_id_public_report", "public_report",
                                 ["public_report_id"], ["id"])
        batch.create_index("ix_human_task_public_report_id", ["public_report_id"])


def downgrade():
    with op.batch_alter_table("human_task") as batch:
        batch.drop_index("ix_human_task_public_report_id")
        batch.drop_constraint("fk_human_task_public_report_id_public_report", type_="foreignkey")
        batch.drop_column("public_report_id")
    with op.batch_alter_table("public_report") as batch:
        batch.drop_constraint("uq_public_report_instance_id", type_="unique")
        batch.drop_constraint("fk_public_report_instance_id_process_instance", type_="foreignkey")
        batch.drop_column("instance_id")
