"""positions and four-eyes (issue 17): positions an administrator defines and who holds them; a human task's
owners narrowed to the bureau heads or a position's holders, and the person a four-eyes step excludes

Revision ID: 7c1e4a9d2b60
Revises: 5bade7a4a7bc
Create Date: 2026-12-06 02:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7c1e4a9d2b60"
down_revision = "5bade7a4a7bc"
branch_labels = None
depends_on = None


def upgrade():
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
