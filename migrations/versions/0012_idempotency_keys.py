"""idempotency keys: a retried creating API request (report, upload, completion) gets the first answer

Revision ID: 7e1f3a5b9c24
Revises: 6d2e4a1b9c03
Create Date: 2026-12-01 23:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7e1f3a5b9c24"
down_revision = "6d2e4a1b9c03"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_idempotency_key_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
    )
    op.create_index("ix_idempotency_key_user_key", "idempotency_key", ["user_id", "key"], unique=True)
    op.create_index(op.f("ix_idempotency_key_created_at"), "idempotency_key", ["created_at"])


def downgrade():
    op.drop_index(op.f("ix_idempotency_key_created_at"), table_name="idempotency_key")
    op.drop_index("ix_idempotency_key_user_key", table_name="idempotency_key")
    op.drop_table("idempotency_key")
