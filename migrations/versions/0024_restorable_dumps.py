"""backups restore: the search functions behind the register's, enterprises' and people's GIN indexes call
hl_grams by its schema-qualified name, so pg_restore (which runs with an empty search_path) can rebuild the
indexes — before this, restoring a pg_dump stopped at `function hl_grams(text) does not exist`

Revision ID: e2b7c41d9a60
Revises: 7c21e5d9a0b3
Create Date: 2026-12-06 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e2b7c41d9a60"
down_revision = "7c21e5d9a0b3"
branch_labels = None
depends_on = None

# (signature, arguments as declared, the text hl_grams is applied to)
FUNCTIONS = (
    ("hl_hazard_keys", "title text, number text, location text, supervising_unit_id integer, enterprise_id integer",
     "{grams}(coalesce(title, '') || chr(10) || coalesce(number, '') || chr(10) || coalesce(location, '')) "
     "|| ARRAY['u:' || coalesce(supervising_unit_id, 0), 'e:' || coalesce(enterprise_id, 0)]"),
    ("hl_organisation_grams", "name text, credit_code text",
     "{grams}(coalesce(name, '') || chr(10) || coalesce(credit_code, ''))"),
    ("hl_user_grams", "username text, display_name text",
     "{grams}(lower(coalesce(username, '')) || chr(10) || lower(coalesce(display_name, '')))"),
)


def _define(grams: str) -> None:
    for name, arguments, body in FUNCTIONS:
        # Same signature and result: the indexes stay valid (nothing is rebuilt).
        op.execute(f"""
            CREATE OR REPLACE FUNCTION {name}({arguments}) RETURNS text[]
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT {body.format(grams=grams)}
            $$""")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.scalar(sa.text("SELECT current_schema()"))
    _define(f'"{schema}".hl_grams')


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _define("hl_grams")
