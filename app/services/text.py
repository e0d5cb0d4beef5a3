"""Text the database can hold: every layer that reads a client's text (pages, API, services) asks here."""
from __future__ import annotations


def unfit_text(value: str) -> bool:
    """Whether `value` holds what the database cannot store: a NUL character or a lone surrogate."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
