"""city-scale indexes: trigram search on the register (PostgreSQL), open-task worklist

Found with the city benchmark (`make bench PRESET=city`, 1M hazards): the register's text search
(`title/number/location ILIKE '%…%'`) read every hazard the user may see; trigram GIN indexes let
PostgreSQL find the matching rows first. SQLite keeps its scans (its deployments are small).

Revision ID: 7a4c1e9b3d52
Revises: 5e8b3f2a9d41
Create Date: 2026-11-23 18:20:00
"""
from alembic import op

revision = "7a4c1e9b3d52"
down_revision = "5e8b3f2a9d41"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = ("title", "number", "location")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_hazard_{column}_trgm ON hazard USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in TRIGRAM_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_hazard_{column}_trgm")
