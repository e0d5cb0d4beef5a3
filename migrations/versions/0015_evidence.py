"""evidence: attachments filed by kind (photo before/after, acceptance report, plan document, notice); arrival
notifications waiting for their e-mail (one each, or a digest for a large group)

Revision ID: c1ef548b044b
Revises: 7e1f3a5b9c24
Create Date: 2026-12-05 23:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c1ef548b044b"
down_revision = "7e1f3a5b9c24"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("evidence_kind", sa.String(length=30), nullable=True))
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("email", sa.String(length=10), nullable=True))
    op.create_index("ix_notification_email", "notification", ["email", "id"])


def downgrade():
    op.drop_index("ix_notification_email", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("evidence_kind")
