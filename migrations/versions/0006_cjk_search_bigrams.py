"""register search for Chinese text: one GIN index of character bigrams and scope keys

The city benchmark searched the register for Chinese words of two characters and more (配电箱, 叉车 …),
the way people search. pg_trgm extracts no trigram from a two-character pattern, so those searches read
every hazard the user may see (p95 780 ms at city). Any substring of two or more characters contains all
of its character bigrams, so `keys @> grams(query)` finds the candidate rows through a GIN index, and the
ILIKE that follows keeps the exact matches. A word is common across a city (50,000 hazards) but rare in
one district, so the same array also carries the hazard's scope as keys of three or more characters
(`u:<supervising unit>`, `e:<enterprise>`, never a bigram): `keys && '{u:1,u:2,…}'` lets the index
intersect word and jurisdiction before any row is read. The one index replaces the three trigram
indexes, so each hazard write updates two fewer GIN indexes. PostgreSQL only; SQLite keeps ILIKE.

Revision ID: 9c2d4e6f8a10
Revises: 8b5d2f0c6e13
Create Date: 2026-12-01 11:05:00
"""
from alembic import op

revision = "9c2d4e6f8a10"
down_revision = "8b5d2f0c6e13"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = ("title", "number", "location")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION hl_grams(s text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}'::text[])
            FROM (SELECT lower(s) AS t) AS d, generate_series(1, length(t) - 1) AS i
        $$""")
    op.execute("""
        CREATE FUNCTION hl_hazard_keys(title text, number text, location text, supervising_unit_id integer,
                                       enterprise_id integer) RETURNS text[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT hl_grams(coalesce(title, '') || chr(10) || coalesce(number, '') || chr(10)
                            || coalesce(location, ''))
                   || ARRAY['u:' || coalesce(supervising_unit_id, 0), 'e:' || coalesce(enterprise_id, 0)]
        $$""")
    op.execute("CREATE INDEX ix_hazard_search_keys ON hazard "
               "USING gin (hl_hazard_keys(title, number, location, supervising_unit_id, enterprise_id))")
    for column in TRIGRAM_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_hazard_{column}_trgm")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in TRIGRAM_COLUMNS:
        op.execute(f"CREATE INDEX ix_hazard_{column}_trgm ON hazard USING gin ({column} gin_trgm_ops)")
    op.execute("DROP INDEX IF EXISTS ix_hazard_search_keys")
    op.execute("DROP FUNCTION IF EXISTS hl_hazard_keys(text, text, text, integer, integer)")
    op.execute("DROP FUNCTION IF EXISTS hl_grams(text)")
