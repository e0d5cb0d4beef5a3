"""people: mobile number, deactivation time, one-time passwords (must change at first sign-in), password age

Revision ID: 4b4db88c305e
Revises: 734e63d08b01
Create Date: 2026-12-05 23:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "4b4db88c305e"
down_revision = "734e63d08b01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("mobile", sa.String(11), nullable=True))
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
    # The administrator's list filters people by organisation, role and active, and the API token table is
    # cleared per user when an account is deactivated (its user_id index exists already).
    op.create_index("ix_user_account_org_role", "user_account", ["organisation_id", "role"])


def downgrade():
    op.drop_index("ix_user_account_org_role", table_name="user_account")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("must_change_password")
        batch.drop_column("deactivated_at")
        batch.drop_column("mobile")
