"""the register's scope indexes carry grade, overdue and created_at

A filtered register (a district's rectifying general hazards: 4,529 of 63,545 at city) counted its rows
by reading every hazard of the jurisdiction with that status from the table, to check the grade. With
the filter columns in the scope indexes the count is an index-only scan. PostgreSQL only (INCLUDE).

Revision ID: 2f7a9b1c3d55
Revises: 9c2d4e6f8a10
Create Date: 2026-12-01 12:00:00
"""
from alembic import op

revision = "2f7a9b1c3d55"
down_revision = "9c2d4e6f8a10"
branch_labels = None
depends_on = None

SCOPES = {"ix_hazard_unit_status": "supervising_unit_id", "ix_hazard_enterprise_status": "enterprise_id"}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column in SCOPES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON hazard ({column}, status) INCLUDE (grade, overdue, created_at)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column in SCOPES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON hazard ({column}, status)")
