"""regions can be closed: a township merged into another is no longer offered in pickers (report forms, the
public's report form, the organisation forms) but stays in filters and history; `region.status` active/closed

Revision ID: 9a3c5e7f1b24
Revises: 3d5f7a9c1e20
Create Date: 2026-12-06 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "9a3c5e7f1b24"
down_revision = "3d5f7a9c1e20"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("region") as batch:
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))


def downgrade():
    with op.batch_alter_table("region") as batch:
        batch.drop_column("status")
