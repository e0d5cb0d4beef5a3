"""What a step of the public-report triage means, known by what its form is (the field it records and the values it
takes) — never by the form's key — and the name of the triage's first-answer deadline. Kept below the services that
use it (public_answers, public_reports, processes' deploy checks), so that none of them imports another for it."""
from __future__ import annotations

from app.services import forms

DECISIONS = ("accept", "merge", "refer", "reject")
FIRST_ANSWER = "first_answer"  # the `deadline` property of the triage's first-answer timer

# What a triage step means, known by what its form is — the field it records and the values it takes — never by the
# form's key: a step pointed at a copied or edited form (same field, same values) keeps its effects. The names are
# also the API's `action` of each step.
ANSWER, PROPOSE, DECIDE = "answer", "reward", "reward_decision"
STEP_FIELDS = {ANSWER: ("decision", DECISIONS), PROPOSE: ("reward", ("propose", "none")),
               DECIDE: ("reward_decision", ("approve", "refuse"))}


def form_meaning(form: forms.FormDefinition) -> str | None:
    """ANSWER, PROPOSE or DECIDE when the form records that step's field with all its values (see STEP_FIELDS),
    else None (a step of its own form: complete_step)."""
    properties = form.schema.get("properties", {})
    for meaning, (name, values) in STEP_FIELDS.items():
        enum = properties.get(name, {}).get("enum") if isinstance(properties.get(name), dict) else None
        if isinstance(enum, list) and set(values) <= set(enum):
            return meaning
    return None
