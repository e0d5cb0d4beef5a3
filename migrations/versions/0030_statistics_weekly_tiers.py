"""statistics: the weekly rollup (counters per block of days inside a month — 1–7, 8–14, 15–21, 22–28, 29 to
the end — × the monthly rollup's key), filled from the daily rollup, so that a partial month at a period's edge is
read from a few blocks rather than one row per enterprise and day; and the listings at the provincial and city
tiers (listed_province, listed_city) in all three rollups; the daily rollup's rows carry their enterprise's
industry section (`industry`), so that grouping or filtering them by industry needs no join (issue 14)

The new tier counters start at 0 and are not refilled: before this revision the supervision decision offered only
the district and township tiers, so no hazard is listed at the provincial or city tier yet (`flask stats check`
confirms it; `flask stats rebuild` recomputes every rollup from the hazards).

Revision ID: 5d2f8b7e1c30
Revises: 9e4a6c8b2d17
Create Date: 2026-12-06 06:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5d2f8b7e1c30"
down_revision = "9e4a6c8b2d17"
branch_labels = None
depends_on = None

KEY = ("week", "supervising_unit_id", "region_id", "industry", "grade", "hazard_type", "source")
TIERS = ("listed_province", "listed_city")
COUNTERS = ("found", "fixed", "fixed_on_time", "overdue", "major_found", "major_written_off", "listed",
            "five_in_place", "funds_committed", "funds_spent", "general_found", "general_fixed", "major_planned",
            "plan_targets", "plan_funds_materials", "plan_organisation", "plan_time_limit", "plan_safety_emergency",
            "listed_district", "listed_township", "repeat", *TIERS)
MONEY = ("funds_committed", "funds_spent")
ROLLUPS = ("hazard_stats_daily", "hazard_stats_monthly")


def upgrade():
    for table in ROLLUPS:
        for name in TIERS:
            op.add_column(table, sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.add_column("hazard_stats_daily", sa.Column("industry", sa.String(1), nullable=False, server_default=""))
    op.execute("""
        UPDATE hazard_stats_daily SET industry = (
            SELECT substr(coalesce(o.industry, ''), 1, 1) FROM organisation o
            WHERE o.id = hazard_stats_daily.enterprise_id)
        WHERE EXISTS (SELECT 1 FROM organisation o WHERE o.id = hazard_stats_daily.enterprise_id
                      AND coalesce(o.industry, '') <> '')""")
    op.create_table(
        "hazard_stats_weekly",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("supervising_unit_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("industry", sa.String(1), nullable=False),
        sa.Column("grade", sa.String(10), nullable=False),
        sa.Column("hazard_type", sa.String(40), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        *[sa.Column(name, sa.BigInteger() if name in MONEY else sa.Integer(), nullable=False,
                    server_default="0" if name in TIERS else None) for name in COUNTERS],
        sa.PrimaryKeyConstraint(*KEY, name="pk_hazard_stats_weekly"),
    )
    op.create_index("ix_hazard_stats_weekly_unit_week", "hazard_stats_weekly", ["supervising_unit_id", "week"])
    # Existing figures: the daily rollup summed per block (statistics.week_of), with each enterprise's industry
    # section as it is now (the column just filled); in key order, as the hook writes them.
    if op.get_bind().dialect.name == "postgresql":
        week = ("CAST(date_trunc('month', d.day) AS date) "
                "+ LEAST(CAST(EXTRACT(day FROM d.day) AS integer) - 1, 28) / 7 * 7")
    else:
        week = ("date(d.day, 'start of month', "
                "'+' || (min(CAST(strftime('%d', d.day) AS integer) - 1, 28) / 7 * 7) || ' days')")
    sums = ", ".join(f"SUM(d.{name})" for name in COUNTERS)
    op.execute(f"""
        INSERT INTO hazard_stats_weekly ({", ".join(KEY)}, {", ".join(COUNTERS)})
        SELECT {week}, d.supervising_unit_id, d.region_id, d.industry, d.grade, d.hazard_type, d.source, {sums}
        FROM hazard_stats_daily d
        GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7""")


def downgrade():
    op.drop_index("ix_hazard_stats_weekly_unit_week", table_name="hazard_stats_weekly")
    op.drop_table("hazard_stats_weekly")
    op.drop_column("hazard_stats_daily", "industry")
    for table in ROLLUPS:
        for name in TIERS:
            op.drop_column(table, name)
