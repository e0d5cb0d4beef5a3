"""The application's secrets (SECRET_KEY, AUDIT_KEY, REPORTER_KEY): from the environment, from a file, or, outside production,
generated once into the instance folder. Production refuses to start without them."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

# config name -> the file in the instance folder that keeps a generated key outside production
INSTANCE_FILES = {"SECRET_KEY": "secret_key", "AUDIT_KEY": "audit_key", "REPORTER_KEY": "reporter_key"}


class MissingSecret(RuntimeError):
    pass


def resolve(app: Flask) -> None:
    """Fill app.config's SECRET_KEY, AUDIT_KEY and REPORTER_KEY, or raise MissingSecret in production."""
    for name, filename in INSTANCE_FILES.items():
        app.config[name] = _secret(app, name, filename)


def _secret(app: Flask, name: str, filename: str) -> str:
    if app.config.get(name):
        return app.config[name]
    given = app.config.get(f"{name}_FILE")
    if given:
        path = Path(given)
        if not path.is_file():
            raise MissingSecret(f"{name}_FILE={given} does not exist: create it (e.g. `python -c 'import secrets; "
                                f"print(secrets.token_hex(32))' > {given}`) or unset {name}_FILE.")
        return path.read_text(encoding="utf-8").strip()
    if app.config.get("ENVIRONMENT") == "production" and not app.testing:
        raise MissingSecret(
            f"{name} is not set. In production every worker must use the same key: set {name} (or {name}_FILE, a "
            f"file holding it), e.g. `export {name}=$(python -c 'import secrets; print(secrets.token_hex(32))')`. "
            "For a first look on your own machine set HAZARDLOOP_ENV=development (as `make run` does).")
    path = Path(app.instance_path) / filename
    if not path.is_file():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()
