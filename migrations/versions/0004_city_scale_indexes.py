"""city-scale indexes: government units by kind, open tasks, trigram search on the register

Found with the city benchmark (`make bench PRESET=city`: 1M hazards, 100k enterprises, 4M human tasks):
- every inspector request lists the government units (unit_subtree): without an index on
  organisation.kind that read all 100k organisations;
- a worklist's counts read the open tasks of the user's organisations: a partial index on open tasks
  that carries assignee, deadline and hazard answers them without touching the 4M-row table;
- the register's text search (`title/number/location ILIKE '%…%'`) read every hazard the user may
  see; trigram GIN indexes (pg_trgm) find the matching rows first.
The last two are PostgreSQL-only (INCLUDE, pg_trgm); SQLite deployments are small.

Revision ID: 7a4c1e9b3d52
Revises: 5e8b3f2a9d41
Create Date: 2026-11-23 18:35:00
"""
from alembic import op

revision = "7a4c1e9b3d52"
down_revision = "5e8b3f2a9d41"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = ("title", "number", "location")


def upgrade():
    op.create_index("ix_organisation_kind", "organisation", ["kind"], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_human_task_open ON human_task (role, organisation_id) "
               "INCLUDE (assignee_id, due_at, hazard_id) WHERE status = 'open'")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        op.execute(f"CREATE INDEX ix_hazard_{column}_trgm ON hazard USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM_COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_hazard_{column}_trgm")
        op.execute("DROP INDEX IF EXISTS ix_human_task_open")
    op.drop_index("ix_organisation_kind", table_name="organisation")
