"""a hazard's audit-chain head lives on its row; alerts no longer point to their timer row by id

The hazard row is read under the instance lock by every step that writes its chain, so keeping the
chain's head (seq, hash) there saves the head's own SELECT … FOR UPDATE and UPDATE on every step. The
`audit_head` table keeps the system chain. `timer.parent_id` was written and never read (an alert
names its deadline's timer by task_uuid within the instance); without it an engine timer and its
alerts are inserted in one statement.

Revision ID: 5c9d1e3f7a82
Revises: 4b8c0d2e6f71
Create Date: 2026-12-01 22:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5c9d1e3f7a82"
down_revision = "4b8c0d2e6f71"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hazard") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("audit_hash", sa.String(64), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE hazard SET audit_seq = h.seq, audit_hash = h.hash FROM audit_head h "
                   "WHERE h.chain = 'hazard:' || hazard.id")
    else:
        op.execute("UPDATE hazard SET audit_seq = (SELECT seq FROM audit_head WHERE chain = 'hazard:' || hazard.id), "
                   "audit_hash = (SELECT hash FROM audit_head WHERE chain = 'hazard:' || hazard.id) "
                   "WHERE EXISTS (SELECT 1 FROM audit_head WHERE chain = 'hazard:' || hazard.id)")
    op.execute("DELETE FROM audit_head WHERE chain LIKE 'hazard:%'")
    with op.batch_alter_table("timer") as batch:
        batch.drop_constraint("fk_timer_parent_id_timer", type_="foreignkey")
        batch.drop_index("ix_timer_parent_id")
        batch.drop_column("parent_id")


def downgrade():
    with op.batch_alter_table("timer") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_index("ix_timer_parent_id", ["parent_id"])
        batch.create_foreign_key("fk_timer_parent_id_timer", "timer", ["parent_id"], ["id"])
    op.execute("INSERT INTO audit_head (chain, seq, hash) SELECT 'hazard:' || id, audit_seq, audit_hash "
               "FROM hazard WHERE audit_seq > 0")
    with op.batch_alter_table("hazard") as batch:
        batch.drop_column("audit_hash")
        batch.drop_column("audit_seq")
