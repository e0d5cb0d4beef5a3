"""timer claim order: ix_timer_due carries the id, the scheduler's tie-break

The scheduler claims the most overdue rows `ORDER BY due_at, id` (a deadline and its overdue notice fall
due at the same instant; the older row, the diagram's timer, goes first).  Deadlines are whole days
(23:59:59 China time), so at city scale tens of thousands of pending rows share one due_at; with the
index on (status, due_at) alone every claim read and sorted that whole group before taking a row.
With the id in the index the claim reads only the rows it takes.

Revision ID: 8b5d2f0c6e13
Revises: 7a4c1e9b3d52
Create Date: 2026-12-01 11:00:00
"""
from alembic import op

revision = "8b5d2f0c6e13"
down_revision = "7a4c1e9b3d52"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_due")
        batch_op.create_index("ix_timer_due", ["status", "due_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("timer", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_due")
        batch_op.create_index("ix_timer_due", ["status", "due_at"], unique=False)
