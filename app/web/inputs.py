"""Reading what a client sent: whole numbers within PostgreSQL's integer, and text the database can hold.

Every page reads its numbers with `int_arg` and every request's query string, form fields and file names pass
`refuse_unfit_text` before any view runs, so an odd value is a 422 naming the field, never a 500 from the
database (PostgreSQL refuses integers beyond 2147483647, NUL characters and lone surrogates). Path ids are
bounded by the `int` URL converter (`BoundedInt`): a larger id matches no route (404).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from app.services.errors import ValidationFailed
from app.services.text import unfit_text

INT_MAX = 2_147_483_647  # PostgreSQL's integer: ids and page numbers beyond it cannot exist
MAX_JSON_DEPTH = 32  # forms and task data are flat; a deeper document is an attack or a mistake


class BoundedInt(IntegerConverter):
    """`<int:...>` in a URL: a whole number up to INT_MAX (a larger one is a 404, it never reaches SQL)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = INT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def int_arg(name: str, source: MultiDict | None = None, lo: int = 1, hi: int = INT_MAX) -> int | None:
    """The whole number sent as `name` (in the query string unless `source` is given): None when it is absent
    or not a number (a filter left empty); ValidationFailed naming the field when it is outside lo..hi."""
    return bounded_int(name, (request.args if source is None else source).get(name), lo, hi)


def int_args(name: str, source: MultiDict | None = None, lo: int = 1, hi: int = INT_MAX) -> list[int]:
    """Every whole number sent as `name` (a list of checkboxes), as `int_arg` reads one."""
    found = (bounded_int(name, raw, lo, hi) for raw in (request.args if source is None else source).getlist(name))
    return [value for value in found if value is not None]


def bounded_int(name: str, raw: str | None, lo: int = 1, hi: int = INT_MAX) -> int | None:
    """`raw` as a whole number: None when it is empty or not a number, ValidationFailed naming `name` when it
    is outside lo..hi."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    if len(raw) > len(str(hi)) or not lo <= int(raw) <= hi:
        message = _("%(field)s must be a whole number from %(lo)d to %(hi)d.", field=name, lo=lo, hi=hi)
        raise ValidationFailed(message, fields={name: message})
    return int(raw)


def refuse_unfit_text() -> None:
    """Before every view: a query parameter, form field or file name holding a NUL character or a broken
    (lone surrogate) character is refused with 422 naming the field, before anything is read or stored."""
    sent = [*request.args.items(multi=True)]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        sent += request.form.items(multi=True)
        sent += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    for name, value in sent:
        if unfit_text(name) or unfit_text(value):
            field = name.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\\u0000")
            message = _("“%(field)s” holds a character that cannot be stored (NUL, \\u0000, or a broken "
                        "character). Remove it and send again.", field=field)
            raise ValidationFailed(message, fields={field: message})


class JSONTooDeep(json.JSONDecodeError):
    """A JSON document nested more than MAX_JSON_DEPTH levels deep (a ValueError, answered like bad JSON)."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_JSON_DEPTH} levels deep", "(too deep)", 0)  # a doc: not "empty"


def load_json(loads: Callable[[Any], Any], data: Any) -> Any:
    """`loads(data)`, refusing a document nested more than MAX_JSON_DEPTH deep (JSONTooDeep) before it reaches
    a validator or the engine, both of which recurse: JSON nested 100,000 deep is a 400, not a RecursionError."""
    try:
        value = loads(data)
    except RecursionError:
        raise JSONTooDeep() from None
    level = [value]
    for _depth in range(MAX_JSON_DEPTH + 1):
        level = [child for item in level if isinstance(item, dict | list)
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return value
    raise JSONTooDeep()


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with `load_json`'s depth bound on everything read (request.get_json included)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return load_json(lambda data: super(BoundedJSONProvider, self).loads(data, **kwargs), s)
