"""The identity of people who report from the public, encrypted at rest (依法为举报人保密).

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived from REPORTER_KEY, which lives
outside the database (environment, a file, or instance/reporter_key in development; app/keys.py): a copy of the
database alone does not say who reported.
"""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    # Any string (a 64-hex token, a pass phrase) becomes the 32 bytes Fernet needs.
    digest = hashlib.sha256(("hazardloop-reporter:" + current_app.config["REPORTER_KEY"]).encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(text: str | None) -> str | None:
    """`text` encrypted for the database (None stays None)."""
    if text is None:
        return None
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def unseal(token: str | None) -> str | None:
    """The text of `seal`; a value the key cannot open reads as an empty string (another key, damage)."""
    if token is None:
        return None
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return ""
