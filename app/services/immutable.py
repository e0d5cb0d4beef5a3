"""Per-application caches of rows that never change once committed: process and form versions, by id.

A version row is written once and never updated, so the hot path (completing a task, firing a timer)
need not read it again.  The cache lives on the application object, so two applications (two databases,
as in the tests) never share entries.  Only committed rows are looked up by id: the services that create
versions (deploy, form edit, `flask shipped install`) never read their new rows through it, and reads
never create versions.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")
_MAX_ENTRIES = 4096


def lookup(kind: str, key: Any, load: Callable[[], T | None]) -> T | None:
    """The cached value for (kind, key), loading it with `load` on a miss; None results are not kept."""
    cache: dict[Any, Any] = current_app.extensions.setdefault("hazardloop.immutable", {}).setdefault(kind, {})
    hit = cache.get(key)
    if hit is None:
        hit = load()
        if hit is not None:
            if len(cache) >= _MAX_ENTRIES:
                cache.clear()
            cache[key] = hit
    return hit


def clear() -> None:
    """Forget every cached row of this application: for whoever breaks the rule that ids are never reused
    (tests that truncate the tables and restart their sequences, a database restored under a running app)."""
    current_app.extensions.pop("hazardloop.immutable", None)
