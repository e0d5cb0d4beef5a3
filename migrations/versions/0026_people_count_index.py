"""people lists: the accounts' organisation index carries `active`, so a district administrator's filtered
people list counts its officers from the index alone (issue 12's benchmark)

Revision ID: 3d5f7a9c1e20
Revises: 7c41e2d9b0a5
Create Date: 2026-12-06 03:50:00
"""
from alembic import op

revision = "3d5f7a9c1e20"
down_revision = "7c41e2d9b0a5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_user_account_org_role_active", "user_account", ["organisation_id", "role", "active"])
    op.drop_index("ix_user_account_org_role", table_name="user_account")


def downgrade():
    op.create_index("ix_user_account_org_role", "user_account", ["organisation_id", "role"])
    op.drop_index("ix_user_account_org_role_active", table_name="user_account")
