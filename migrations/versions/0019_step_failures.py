"""step failures: a completion the engine refused because of the diagram, kept for the administrator

Revision ID: 3f6b8d0a2c47
Revises: 383c618016ee
Create Date: 2026-12-06 00:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "3f6b8d0a2c47"
down_revision = "383c618016ee"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "step_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id", name="fk_step_failure_task_id_human_task"),
                  nullable=False),
        sa.Column("instance_id", sa.Integer(),
                  sa.ForeignKey("process_instance.id", name="fk_step_failure_instance_id_process_instance"),
                  nullable=False),
        sa.Column("element_id", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("task_id", name="uq_step_failure_task_id"),
    )
    op.create_index("ix_step_failure_instance_id", "step_failure", ["instance_id"])


def downgrade():
    op.drop_index("ix_step_failure_instance_id", table_name="step_failure")
    op.drop_table("step_failure")
