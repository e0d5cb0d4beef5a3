"""statutory: the national table's figures (issue 14) — a governance plan recorded and each of its five in place,
and the tier a listed hazard is supervised at, on the hazard; general hazards found and fixed, plans, the five and
the listings by tier in the statistics rollup; repeat hazards (反复性隐患): the checklist item a hazard was reported
from, which occurrence of the same fault it is, its links to the earlier ones, and a `repeat` counter in the rollup

The hazards' new columns are filled as their next step runs; existing hazards keep them false (no plan counted)
until then. Run `flask stats rebuild` after upgrading a database that has hazards (README "Statistics").

Revision ID: 7c41e2d9b0a5
Revises: e2b7c41d9a60
Create Date: 2026-12-06 02:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7c41e2d9b0a5"
down_revision = "e2b7c41d9a60"
branch_labels = None
depends_on = None

FLAGS = ("planned", "plan_targets", "plan_funds_materials", "plan_organisation", "plan_time_limit",
         "plan_safety_emergency")
COUNTERS = ("general_found", "general_fixed", "major_planned", "plan_targets", "plan_funds_materials",
            "plan_organisation", "plan_time_limit", "plan_safety_emergency", "listed_district", "listed_township",
            "repeat")


def upgrade():
    with op.batch_alter_table("hazard") as batch:
        for name in FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("supervision_tier", sa.String(20), nullable=True))
        batch.add_column(sa.Column("checklist_item_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("repeat_number", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_hazard_checklist_item_id_checklist_item", "checklist_item",
                                 ["checklist_item_id"], ["id"])
    op.create_index("ix_hazard_checklist_item_id", "hazard", ["checklist_item_id"])
    op.create_index("ix_hazard_enterprise_location_type", "hazard",
                    ["enterprise_id", "location", "hazard_type", "created_at"])
    op.create_table(
        "hazard_repeat",
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("earlier_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazard.id"], name="fk_hazard_repeat_hazard_id_hazard"),
        sa.ForeignKeyConstraint(["earlier_id"], ["hazard.id"], name="fk_hazard_repeat_earlier_id_hazard"),
        sa.PrimaryKeyConstraint("hazard_id", "earlier_id", name="pk_hazard_repeat"),
    )
    op.create_index("ix_hazard_repeat_earlier_id", "hazard_repeat", ["earlier_id"])
    with op.batch_alter_table("hazard_stats_daily") as batch:
        for name in COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_index("ix_hazard_repeat_earlier_id", table_name="hazard_repeat")
    op.drop_table("hazard_repeat")
    op.drop_index("ix_hazard_enterprise_location_type", table_name="hazard")
    op.drop_index("ix_hazard_checklist_item_id", table_name="hazard")
    with op.batch_alter_table("hazard_stats_daily") as batch:
        for name in reversed(COUNTERS):
            batch.drop_column(name)
    with op.batch_alter_table("hazard") as batch:
        batch.drop_constraint("fk_hazard_checklist_item_id_checklist_item", type_="foreignkey")
        batch.drop_column("repeat_number")
        batch.drop_column("checklist_item_id")
        batch.drop_column("supervision_tier")
        for name in reversed(FLAGS):
            batch.drop_column(name)
