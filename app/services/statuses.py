"""The hazard status vocabulary (table hazard_status): where a hazard stands, as a step or an end event of its
diagram names it. The built-ins are HazardStatus (seeded by migration 0021, labels in Chinese and English);
administrators add their own from the designer (a key and both labels, final or not). Deploying refuses a status
that is not in the vocabulary; the register's filter, the hazard's badge and the designer's dropdown read it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import FINAL_STATUSES, HazardStatus, StatusTerm, User
from app.services import audit
from app.services.capabilities import may_administer
from app.services.errors import Forbidden, ValidationFailed

KEY = re.compile(r"^[a-z][a-z0-9_]{1,29}$")
LABEL_MAX = 60


@dataclass(frozen=True)
class Term:
    key: str
    label_zh: str
    label_en: str
    final: bool = False
    builtin: bool = False


# The built-ins, in the register's order (the same words migration 0021 seeds into the table, which SQL readers
# of the database see; the application takes the built-ins from here).
BUILTIN = tuple(Term(key, zh, en, key in FINAL_STATUSES, True) for key, zh, en in (
    (HazardStatus.reported, "新登记", "Newly reported"), (HazardStatus.assessing, "评估分级中", "Assessing"),
    (HazardStatus.planning, "制定方案中", "Planning"), (HazardStatus.approving, "待审批", "Awaiting approval"),
    (HazardStatus.supervision_review, "监管审查中", "Supervision review"),
    (HazardStatus.rectifying, "整改中", "Rectifying"), (HazardStatus.reviewing, "复查中", "Reviewing"),
    (HazardStatus.accepting, "验收评估中", "Acceptance"), (HazardStatus.verifying, "政府审查中", "Government verification"),
    (HazardStatus.writing_off, "待核销", "Writing off"), (HazardStatus.closed, "已闭环", "Closed"),
    (HazardStatus.written_off, "已核销", "Written off"), (HazardStatus.waiting, "等待中", "Waiting")))


def vocabulary() -> list[Term]:
    """Every status, the built-ins first in the register's order, then the added ones as they were added (read
    once per request)."""
    if has_app_context() and "_status_vocabulary" in g:
        return g._status_vocabulary
    builtin = {t.key for t in BUILTIN}
    rows = db.session.scalars(select(StatusTerm).where(StatusTerm.builtin.is_(False))
                              .order_by(StatusTerm.position, StatusTerm.key))
    found = list(BUILTIN) + [Term(r.key, r.label_zh, r.label_en, r.final) for r in rows if r.key not in builtin]
    if has_app_context():
        g._status_vocabulary = found
    return found


def _forget() -> None:
    if has_app_context():
        g.pop("_status_vocabulary", None)


def custom() -> list[Term]:
    """The statuses administrators added."""
    return [term for term in vocabulary() if not term.builtin]


def keys() -> list[str]:
    """Every status a diagram may name."""
    return [str(term.key) for term in vocabulary()]


def known(key: str) -> bool:
    return key in set(HazardStatus) or any(row.key == key for row in vocabulary())


def is_final(status: Any) -> bool:
    """Whether a hazard in this status is done (closed, written off, or an added final status)."""
    if status in FINAL_STATUSES:
        return True
    if isinstance(status, HazardStatus) or status is None:
        return False
    return any(row.key == status and row.final for row in vocabulary())


def label(key: str, locale: str) -> str | None:
    """An added status's label in the language (None for a key that is not in the vocabulary)."""
    row = next((r for r in vocabulary() if r.key == key), None)
    if row is None:
        return None
    return row.label_en if locale == "en" else row.label_zh


def add_status(actor: User | None, values: dict[str, Any]) -> StatusTerm:
    """Add a status to the vocabulary: both labels required; the key given (lower-case letters, digits, _) or made
    from the English label."""
    if actor is None or not may_administer(actor):
        raise Forbidden(_("Only administrators can add hazard statuses."))
    errors: dict[str, str] = {}
    labels = {}
    for name in ("label_zh", "label_en"):
        raw = values.get(name)
        text = " ".join(raw.split()) if isinstance(raw, str) else ""
        if not text:
            errors[name] = _("Enter the status as the register should show it, in both languages.")
        elif len(text) > LABEL_MAX:
            errors[name] = _("Use at most %(n)s characters.", n=LABEL_MAX)
        labels[name] = text
    raw_key = values.get("key")
    key = raw_key.strip() if isinstance(raw_key, str) else ""
    if not key and labels.get("label_en"):
        key = re.sub(r"[^a-z0-9]+", "_", labels["label_en"].lower()).strip("_")[:30]
        if key and not key[0].isalpha():
            key = f"s_{key}"[:30]
    if not KEY.match(key or ""):
        errors["key"] = _("Use 2 to 30 lower-case letters, digits or _, starting with a letter (e.g. rejected).")
    elif known(key):
        errors["key"] = _("The status %(key)s exists already; choose it from the list or give another key.", key=key)
    final = values.get("final", False)
    if not isinstance(final, bool):
        errors["final"] = _("Answer true or false.")
    if errors:
        raise ValidationFailed(_("The status was not added: correct the marked fields."), fields=errors)
    position = (db.session.scalar(select(func.max(StatusTerm.position))) or len(BUILTIN)) + 1
    row = StatusTerm(key=key, label_zh=labels["label_zh"], label_en=labels["label_en"], final=final, builtin=False,
                     position=position)
    db.session.add(row)
    audit.record("status_added", actor_id=actor.id, data={"key": key, "label_zh": row.label_zh,
                                                          "label_en": row.label_en, "final": final})
    db.session.commit()
    _forget()
    return row
