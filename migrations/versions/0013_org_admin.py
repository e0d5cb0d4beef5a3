"""organisation administration: what regulators file an enterprise by, its status, and the admin lists' indexes

Enterprises gain scale, legal representative, principal, contact phone and a status (active/closed: closing
is not deleting). Regions may also be streets and parks (the township tier): a kind is stored as text, so
that needs no change here.

The administrator's enterprise list (city scale: 100,000 rows) is read by name, for the whole city
(kind, name) or one district (supervising unit, name); its text search on PostgreSQL goes through a GIN
index of the character bigrams of name and credit code (hl_organisation_grams, built on
hl_grams of migration 0006), as the register does.

Revision ID: 734e63d08b01
Revises: 8a3c5e7f9b16
Create Date: 2026-12-05 23:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "734e63d08b01"
down_revision = "8a3c5e7f9b16"
branch_labels = None
depends_on = None

SEARCH_INDEX = "ix_organisation_search_grams"


def upgrade():
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("scale", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("legal_representative", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("principal_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="active"))
    op.create_index("ix_organisation_kind_name", "organisation", ["kind", "name", "id"])
    op.create_index("ix_organisation_unit_name", "organisation", ["supervising_unit_id", "name", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION hl_organisation_grams(name text, credit_code text) RETURNS text[]
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT hl_grams(coalesce(name, '') || chr(10) || coalesce(credit_code, ''))
            $$""")
        op.execute(f"CREATE INDEX {SEARCH_INDEX} ON organisation USING gin (hl_organisation_grams(name, credit_code))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
        op.execute("DROP FUNCTION IF EXISTS hl_organisation_grams(text, text)")
    op.drop_index("ix_organisation_unit_name", table_name="organisation")
    op.drop_index("ix_organisation_kind_name", table_name="organisation")
    with op.batch_alter_table("organisation") as batch:
        for column in ("status", "contact_phone", "principal_name", "legal_representative", "scale"):
            batch.drop_column(column)
