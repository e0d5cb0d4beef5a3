"""checklist items can be retired: an edited checklist keeps the items its past results name

Revision ID: 8a3c5e7f9b16
Revises: c1ef548b044b
Create Date: 2026-12-05 23:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "8a3c5e7f9b16"
down_revision = "c1ef548b044b"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checklist_item") as batch:
        batch.add_column(sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("checklist_item") as batch:
        batch.drop_column("retired")
