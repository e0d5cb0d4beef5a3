"""Installing what ships with HazardLoop: the forms in forms/ and the diagrams in bpmn/.

Reads never write: looking up the active version of a process or a form only reads. What ships is put
into the database by this explicit step — `flask shipped install`, run after `flask db upgrade` by
`make run`, by the tests' set-up and in the README's production steps. It is idempotent: the first run
installs version 1 of each; after an upgrade of HazardLoop a changed file becomes a new version, unless
an administrator has replaced the shipped version in the designer or the form editor (theirs is kept).
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from app.extensions import db
from app.services import forms, processes


def shipped_processes() -> list[str]:
    """The process keys that ship in bpmn/."""
    return sorted(p.stem for p in Path(current_app.config["BPMN_DIR"]).glob("*.bpmn"))


def install() -> list[str]:
    """Install the shipped forms, then the shipped diagrams (which name the forms), in one transaction."""
    try:
        done = [forms.install_shipped(key) for key in forms.shipped_keys()]
        bpmn_dir = Path(current_app.config["BPMN_DIR"])
        done += [processes.install_shipped(key, (bpmn_dir / f"{key}.bpmn").read_text(encoding="utf-8"))
                 for key in shipped_processes()]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return done
