"""The audit trail is evidence: `flask audit verify` passes on a real history and catches tampering."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from tests.helpers import complete, current_task, in_days, report


def make_history(api) -> int:
    officer = api.as_("officer_a")
    h = report(officer)
    complete(officer, current_task(officer, h["id"], "assess"), {
        "grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(3)})
    report(api.as_("officer_b"))
    return h["id"]


def test_audit_verify_passes_on_an_untouched_history(api, runner):
    make_history(api)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_an_edited_event_is_detected(api, app, runner):
    hazard_id = make_history(api)
    with app.app_context():
        db.session.execute(sa.text(
            "UPDATE audit_event SET data = REPLACE(data, '\"张\"', '\"李\"') WHERE hazard_id = :h AND seq = 2"),
            {"h": hazard_id})
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"hazard:{hazard_id}" in result.output and "altered" in result.output


def test_a_deleted_event_is_detected_even_at_the_end_of_a_chain(api, app, runner):
    hazard_id = make_history(api)
    with app.app_context():
        last = db.session.execute(sa.text("SELECT max(seq) FROM audit_event WHERE hazard_id = :h"),
                                  {"h": hazard_id}).scalar()
        db.session.execute(sa.text("DELETE FROM audit_event WHERE hazard_id = :h AND seq = :s"),
                           {"h": hazard_id, "s": last})
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "deleted" in result.output


def test_a_rewritten_chain_with_recomputed_links_still_fails_on_its_hashes(api, app, runner):
    hazard_id = make_history(api)
    with app.app_context():
        # Swap the actor of the first event and "repair" the next link: the content hash still gives it away.
        db.session.execute(sa.text("UPDATE audit_event SET actor_id = NULL WHERE hazard_id = :h AND seq = 1"),
                           {"h": hazard_id})
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "altered" in result.output
