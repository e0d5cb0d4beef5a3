"""statistics monthly rollup: the statistics counters per month found × supervising unit × region × industry
section × grade × type × source (issue 14, "Speed"), filled from the daily rollup, so that a city's year is read
from a few rows per region and month rather than one per hazard

Revision ID: 9e4a6c8b2d17
Revises: 4e8a1c6b2d97
Create Date: 2026-12-06 05:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "9e4a6c8b2d17"
down_revision = "4e8a1c6b2d97"
branch_labels = None
depends_on = None

KEY = ("month", "supervising_unit_id", "region_id", "industry", "grade", "hazard_type", "source")
COUNTERS = ("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off", "listed",
            "five_in_place", "funds_committed", "funds_spent", "general_found", "general_fixed", "major_planned",
            "plan_targets", "plan_funds_materials", "plan_organisation", "plan_time_limit", "plan_safety_emergency",
            "listed_district", "listed_township", "repeat")
MONEY = ("funds_committed", "funds_spent")


def upgrade():
    op.create_table(
        "hazard_stats_monthly",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("supervising_unit_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("industry", sa.String(1), nullable=False),
        sa.Column("grade", sa.String(10), nullable=False),
        sa.Column("hazard_type", sa.String(40), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        *[sa.Column(name, sa.BigInteger() if name in MONEY else sa.Integer(), nullable=False) for name in COUNTERS],
        sa.PrimaryKeyConstraint(*KEY, name="pk_hazard_stats_monthly"),
    )
    op.create_index("ix_hazard_stats_monthly_unit_month", "hazard_stats_monthly", ["supervising_unit_id", "month"])
    # Existing figures: the daily rollup summed per month, with each enterprise's industry section as it is now.
    month = ("CAST(date_trunc('month', d.day) AS date)" if op.get_bind().dialect.name == "postgresql"
             else "date(d.day, 'start of month')")
    sums = ", ".join(f"SUM(d.{name})" for name in COUNTERS)
    op.execute(f"""
        INSERT INTO hazard_stats_monthly ({", ".join(KEY)}, {", ".join(COUNTERS)})
        SELECT {month}, d.supervising_unit_id, d.region_id, substr(coalesce(o.industry, ''), 1, 1), d.grade,
               d.hazard_type, d.source, {sums}
        FROM hazard_stats_daily d LEFT JOIN organisation o ON o.id = d.enterprise_id
        GROUP BY {month}, d.supervising_unit_id, d.region_id, substr(coalesce(o.industry, ''), 1, 1), d.grade,
                 d.hazard_type, d.source""")


def downgrade():
    op.drop_index("ix_hazard_stats_monthly_unit_month", table_name="hazard_stats_monthly")
    op.drop_table("hazard_stats_monthly")
