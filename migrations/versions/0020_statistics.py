"""statistics: a rollup of hazard counters per day found × enterprise × classification (issue 14), and the
plan figures the statistics read on the hazard (five in place, funds committed and spent, fixed on time)

Existing hazards are counted by `flask stats rebuild` (run it once after upgrading a database that has
hazards; README "Statistics").

Revision ID: 5bade7a4a7bc
Revises: 3f6b8d0a2c47
Create Date: 2026-12-06 00:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5bade7a4a7bc"
down_revision = "3f6b8d0a2c47"
branch_labels = None
depends_on = None

COUNTERS = ("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off", "listed",
            "five_in_place")


def upgrade():
    with op.batch_alter_table("hazard") as batch:
        batch.add_column(sa.Column("five_in_place", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("fixed_on_time", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("plan_funds", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("funds_spent", sa.BigInteger(), nullable=True))
    op.create_table(
        "hazard_stats_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("supervising_unit_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(10), nullable=False),
        sa.Column("hazard_type", sa.String(40), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS],
        sa.Column("funds_committed", sa.BigInteger(), nullable=False),
        sa.Column("funds_spent", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "enterprise_id", "supervising_unit_id", "region_id", "grade", "hazard_type",
                                "source", name="pk_hazard_stats_daily"),
    )
    op.create_index("ix_hazard_stats_unit_day", "hazard_stats_daily", ["supervising_unit_id", "day"])
    op.create_index("ix_hazard_stats_enterprise_day", "hazard_stats_daily", ["enterprise_id", "day"])


def downgrade():
    op.drop_index("ix_hazard_stats_enterprise_day", table_name="hazard_stats_daily")
    op.drop_index("ix_hazard_stats_unit_day", table_name="hazard_stats_daily")
    op.drop_table("hazard_stats_daily")
    with op.batch_alter_table("hazard") as batch:
        batch.drop_column("funds_spent")
        batch.drop_column("plan_funds")
        batch.drop_column("fixed_on_time")
        batch.drop_column("five_in_place")
