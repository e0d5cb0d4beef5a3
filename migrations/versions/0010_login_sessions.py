"""signed-in sessions are rows (logging out ends them); login throttling leaves the user row

A session or remember-me cookie names a `login_session` row by its token (only the sha256 is stored), so a cookie
copied before logout no longer works and every sign-in has its own token. Failed logins are throttled per account
and source address in the limiter's store (shared through Redis), not by locking the account on its row.

Revision ID: 6d0e2f4a8b93
Revises: 5c9d1e3f7a82
Create Date: 2026-12-01 23:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "6d0e2f4a8b93"
down_revision = "5c9d1e3f7a82"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_session",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id", name="fk_login_session_user_id_user_account",
                                                         ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_login_session"),
    )
    op.create_index("ix_login_session_user_id", "login_session", ["user_id"])
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_login_session_user_id", "login_session")
    op.drop_table("login_session")
