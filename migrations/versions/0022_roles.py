"""roles and statuses (issue 17): positions an administrator defines and who holds them; a human task's owners
narrowed to the bureau heads or a position's holders, and the person a four-eyes step excludes; the hazard
status vocabulary (built-ins seeded, administrators add their own)

Revision ID: 7c1e4a9d2b60
Revises: 8c41d2e9f0a3
Create Date: 2026-12-06 02:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7c1e4a9d2b60"
down_revision = "8c41d2e9f0a3"
branch_labels = None
depends_on = None


# The built-in statuses (app.models.HazardStatus) with their labels, in the register's order.
BUILTIN = [
    ("reported", "新登记", "Newly reported", False), ("assessing", "评估分级中", "Assessing", False),
    ("planning", "制定方案中", "Planning", False), ("approving", "待审批", "Awaiting approval", False),
    ("supervision_review", "监管审查中", "Supervision review", False), ("rectifying", "整改中", "Rectifying", False),
    ("reviewing", "复查中", "Reviewing", False), ("accepting", "验收评估中", "Acceptance", False),
    ("verifying", "政府审查中", "Government verification", False), ("writing_off", "待核销", "Writing off", False),
    ("closed", "已闭环", "Closed", True), ("written_off", "已核销", "Written off", True),
    ("waiting", "等待中", "Waiting", False),
]


def upgrade():
    status = op.create_table(
        "hazard_status",
        sa.Column("key", sa.String(30), nullable=False),
        sa.Column("label_zh", sa.String(60), nullable=False),
        sa.Column("label_en", sa.String(60), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_hazard_status")),
    )
    op.bulk_insert(status, [{"key": k, "label_zh": zh, "label_en": en, "final": final, "builtin": True,
                             "position": i} for i, (k, zh, en, final) in enumerate(BUILTIN)])
    op.create_table(
        "position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("kind", sa.Enum("government", "enterprise", name="org_kind", native_enum=False, length=20),
                  nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_position_kind_name")),
    )
    op.create_table(
        "user_position",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE",
                                name=op.f("fk_user_position_user_id_user_account")),
        sa.ForeignKeyConstraint(["position_id"], ["position.id"], name=op.f("fk_user_position_position_id_position")),
        sa.PrimaryKeyConstraint("user_id", "position_id", name=op.f("pk_user_position")),
    )
    op.create_index(op.f("ix_user_position_position_id"), "user_position", ["position_id"])
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("bureau_head", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("position_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("excluded_user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_human_task_position_id_position"), "position", ["position_id"], ["id"])
        batch.create_foreign_key(op.f("fk_human_task_excluded_user_id_user_account"), "user_account",
                                 ["excluded_user_id"], ["id"])


def downgrade():
    with op.batch_alter_table("human_task") as batch:
        batch.drop_constraint(op.f("fk_human_task_excluded_user_id_user_account"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_human_task_position_id_position"), type_="foreignkey")
        batch.drop_column("excluded_user_id")
        batch.drop_column("position_id")
        batch.drop_column("bureau_head")
    op.drop_index(op.f("ix_user_position_position_id"), table_name="user_position")
    op.drop_table("user_position")
    op.drop_table("position")
    op.drop_table("hazard_status")
