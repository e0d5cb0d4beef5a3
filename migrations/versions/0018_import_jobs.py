"""import jobs (bulk onboarding from Excel), user names looked up case-blind, people searched by bigrams

Revision ID: 383c618016ee
Revises: 97efb5439cfb
Create Date: 2026-12-06 00:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = "383c618016ee"
down_revision = "97efb5439cfb"
branch_labels = None
depends_on = None

SEARCH_INDEX = "ix_user_account_search_grams"


def upgrade():
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("processed_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bad_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user_account.id"], name=op.f("fk_import_job_created_by_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    op.create_index("ix_import_job_created_by", "import_job", ["created_by", "id"])
    # validate_user looks a user name up case-blind (lower(username)): without this, a scan of every account per
    # row of an import.
    op.create_index("ix_user_account_username_lower", "user_account", [sa.text("lower(username)")])
    if op.get_bind().dialect.name == "postgresql":
        # The administrator's people list searches user and display names as the enterprise list does (0013).
        op.execute("""
            CREATE FUNCTION hl_user_grams(username text, display_name text) RETURNS text[]
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT hl_grams(lower(coalesce(username, '')) || chr(10) || lower(coalesce(display_name, '')))
            $$""")
        op.execute(f"CREATE INDEX {SEARCH_INDEX} ON user_account USING gin (hl_user_grams(username, display_name))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
        op.execute("DROP FUNCTION IF EXISTS hl_user_grams(text, text)")
    op.drop_index("ix_user_account_username_lower", table_name="user_account")
    op.drop_index("ix_import_job_created_by", table_name="import_job")
    op.drop_table("import_job")
