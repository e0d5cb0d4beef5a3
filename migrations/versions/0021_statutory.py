"""statutory: the national table's figures (issue 14) — a governance plan recorded and each of its five in place,
and the tier a listed hazard is supervised at, on the hazard; general hazards found and fixed, plans, the five and
the listings by tier in the statistics rollup

The hazards' new columns are filled as their next step runs; existing hazards keep them false (no plan counted)
until then. Run `flask stats rebuild` after upgrading a database that has hazards (README "Statistics").

Revision ID: 7c41e2d9b0a5
Revises: 5bade7a4a7bc
Create Date: 2026-12-06 02:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7c41e2d9b0a5"
down_revision = "5bade7a4a7bc"
branch_labels = None
depends_on = None

FLAGS = ("planned", "plan_targets", "plan_funds_materials", "plan_organisation", "plan_time_limit",
         "plan_safety_emergency")
COUNTERS = ("general_found", "general_fixed", "major_planned", "plan_targets", "plan_funds_materials",
            "plan_organisation", "plan_time_limit", "plan_safety_emergency", "listed_district", "listed_township")


def upgrade():
    with op.batch_alter_table("hazard") as batch:
        for name in FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("supervision_tier", sa.String(20), nullable=True))
    with op.batch_alter_table("hazard_stats_daily") as batch:
        for name in COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("hazard_stats_daily") as batch:
        for name in reversed(COUNTERS):
            batch.drop_column(name)
    with op.batch_alter_table("hazard") as batch:
        batch.drop_column("supervision_tier")
        for name in reversed(FLAGS):
            batch.drop_column(name)
