"""the open-task index is ordered by deadline, so a worklist page stops after its rows

A worklist shows a user's open tasks soonest deadline first, 25 at a time. The partial index of open
tasks (migration 0004) found an organisation's tasks but not in deadline order, so each page sorted all
of them (817 for a busy enterprise at city). Ordered by (due_at NULLS LAST, id) after role and
organisation, the page reads its rows in order and stops; the counts still read the index only.
PostgreSQL only (partial index with INCLUDE).

Revision ID: 4b8c0d2e6f71
Revises: 2f7a9b1c3d55
Create Date: 2026-12-01 12:10:00
"""
from alembic import op

revision = "4b8c0d2e6f71"
down_revision = "2f7a9b1c3d55"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_human_task_open")
    op.execute("CREATE INDEX ix_human_task_open ON human_task (role, organisation_id, due_at NULLS LAST, id) "
               "INCLUDE (assignee_id, hazard_id) WHERE status = 'open'")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_human_task_open")
    op.execute("CREATE INDEX ix_human_task_open ON human_task (role, organisation_id) "
               "INCLUDE (assignee_id, due_at, hazard_id) WHERE status = 'open'")
