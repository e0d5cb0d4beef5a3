"""Text search of hazards: a case-insensitive substring match, narrowed on PostgreSQL by the keys index."""
from __future__ import annotations

from sqlalchemy import Text, cast, func, or_
from sqlalchemy.dialects.postgresql import ARRAY

from app.extensions import db
from app.models import Hazard, User
from app.services.policy import hazard_scope_orgs


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards escaped (use with `escape="\\"`), so that it matches only itself."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_keys(user: User) -> list[str] | None:
    """The scope keys of migration 0006 that cover what this user may see; None for everything."""
    scope = hazard_scope_orgs(user)
    if scope is None:
        return None
    column, orgs = scope
    prefix = "u" if column is Hazard.supervising_unit_id else "e"
    return [f"{prefix}:{org}" for org in sorted(orgs)]


def text_match(text: str, *columns, scope: list[str] | None = None):
    """Rows whose columns contain `text` (case-insensitive).

    On PostgreSQL the index of migration 0006 narrows the rows first: every substring of two or more
    characters contains all of its character bigrams, and `scope` (see search_keys) limits them to the
    user's jurisdiction inside the index. The ILIKE keeps the exact matches; the caller's scope clause
    still decides what is visible.
    """
    text = text.strip()
    pattern = f"%{escape_like(text)}%"
    clause = or_(*(column.ilike(pattern, escape="\\") for column in columns))
    if uses_keys_index(text):
        keys = func.hl_hazard_keys(Hazard.title, Hazard.number, Hazard.location, Hazard.supervising_unit_id,
                                   Hazard.enterprise_id)
        clause = keys.op("@>")(func.hl_grams(text)) & clause
        if scope:
            clause = keys.op("&&")(cast(scope, ARRAY(Text))) & clause
    return clause


def uses_keys_index(text: str | None) -> bool:
    """Whether text_match will use the index of keys (which applies the jurisdiction itself)."""
    return bool(text) and len(text.strip()) >= 2 and db.session.get_bind().dialect.name == "postgresql"
