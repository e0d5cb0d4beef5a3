"""Choosing an enterprise on a page: a short list when the user sees a few, else a search field (type-ahead).

A district inspector of a large city sees thousands of enterprises and the administrator all of them, too many
to send as <option>s with every page. Up to ENTERPRISE_SELECT_MAX the filters and the report form keep a plain
<select>; beyond it they show a text field whose suggestions come from GET /enterprises/search, and a script
(static/js/enterprise-search.js) puts the chosen enterprise's id in a hidden field. Without the script the typed
name is sent and resolved here: one visible enterprise of that name (or containing it) is taken, otherwise
the field explains what to do.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models import Organisation, User
from app.services import access

bp = Blueprint("enterprises", __name__)

# Suggestions per search; the type-ahead asks again as the user types more.
SEARCH_LIMIT = 20


@dataclass
class EnterprisePicker:
    """What the enterprise field of a page shows."""
    options: list[Organisation] | None  # a short list (a <select>), or None: a search field
    chosen: Organisation | None = None
    typed: str = ""
    error: str | None = None
    matches: list[Organisation] = field(default_factory=list)  # suggestions sent with the page
    active_only: bool = False  # closed enterprises are not offered (the search field asks for ?active=1)

    @property
    def search(self) -> bool:
        return self.options is None

    @property
    def several(self) -> bool:
        """Whether the user sees more than one enterprise (else there is nothing to choose)."""
        return self.options is None or len(self.options) > 1


def _search_field_threshold() -> int:
    return max(int(current_app.config.get("ENTERPRISE_SELECT_MAX", 50)), 0)


def picker(user: User, enterprise_id: int | None, typed: str | None,
           active_only: bool = False) -> tuple[EnterprisePicker, int | None]:
    """The field for this user and the enterprise id to use: the id sent, else the typed name resolved.

    `active_only`: offer only enterprises in operation (reporting a new hazard); filters keep the closed ones,
    whose hazards stay on record."""
    limit = _search_field_threshold()
    rows = access.visible_enterprises(user, limit=limit + 1, active_only=active_only)
    found = EnterprisePicker(rows if len(rows) <= limit else None, active_only=active_only)
    if enterprise_id:
        if found.options is not None:
            found.chosen = next((e for e in found.options if e.id == enterprise_id), None)
        else:
            found.chosen = access.visible_enterprise(user, enterprise_id, active_only)
        found.typed = found.chosen.name if found.chosen else ""
        return found, enterprise_id
    typed = " ".join((typed or "").split())[:200]
    if not typed:
        return found, None
    found.typed = typed
    candidates = (access.search_enterprises(user, typed, limit=SEARCH_LIMIT + 1, exact=True, active_only=active_only)
                  or access.search_enterprises(user, typed, limit=SEARCH_LIMIT + 1, active_only=active_only))
    if len(candidates) == 1:
        found.chosen = candidates[0]
        found.typed = found.chosen.name
        return found, found.chosen.id
    found.matches = candidates[:SEARCH_LIMIT]
    if not candidates:
        found.error = _("No enterprise you may see has “%(text)s” in its name. Check the spelling, or type "
                        "a shorter part of the name and choose from the suggestions.", text=typed)
    elif len(candidates) > SEARCH_LIMIT:
        found.error = _("More than %(n)s enterprises have “%(text)s” in their name. Type more of the name "
                        "and choose one from the suggestions.", n=SEARCH_LIMIT, text=typed)
    else:
        found.error = _("%(n)s enterprises have “%(text)s” in their name. Choose one from the suggestions, "
                        "or type its full name.", n=len(candidates), text=typed)
    return found, None


@bp.get("/enterprises/search")
@login_required
def search():
    """Up to 20 enterprises the user may see whose name contains `q` (the type-ahead's suggestions);
    `active=1`: only those in operation."""
    text = " ".join((request.args.get("q") or "").split())[:200]
    rows = access.search_enterprises(current_user, text, limit=SEARCH_LIMIT + 1,
                                     active_only=request.args.get("active") == "1")
    response = jsonify({"items": [{"id": e.id, "name": e.name, "address": e.address}
                                  for e in rows[:SEARCH_LIMIT]],
                        "more": len(rows) > SEARCH_LIMIT})
    response.headers["Cache-Control"] = "private, max-age=60"
    return response
