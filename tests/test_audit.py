"""The audit trail is evidence: `flask audit verify` passes on a real history and catches tampering."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Hazard
from app.services import audit
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


# Keyed chain (issue 18): an intruder with database access but not AUDIT_KEY.
def _rehash(hazard_id: int, key: str | None) -> None:
    """What an intruder with database access would do: recompute the chain (and its head) after an edit."""
    prev = audit.GENESIS
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.hazard_id == hazard_id)
                                .order_by(AuditEvent.seq)).all()
    for ev in events:
        ev.prev_hash = prev
        ev.hash = prev = audit.event_hash(key, ev.chain, ev.seq, prev, ev.action, ev.actor_id, ev.hazard_id,
                                          ev.task_spec, ev.data, ev.created_at)
    db.session.execute(sa.update(Hazard).where(Hazard.id == hazard_id).values(audit_hash=prev))
    db.session.commit()


def test_an_edited_event_with_a_recomputed_plain_chain_is_detected(api, app, runner):
    hazard_id = make_history(api)
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_event SET data = REPLACE(data, '\"张\"', '\"李\"') "
                                   "WHERE hazard_id = :h AND seq = 2"), {"h": hazard_id})
        db.session.commit()
        _rehash(hazard_id, None)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"hazard:{hazard_id}" in result.output and "altered" in result.output


def test_a_hazard_whose_whole_chain_and_head_were_deleted_is_detected(api, app, runner):
    hazard_id = make_history(api)
    with app.app_context():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.hazard_id == hazard_id))
        db.session.execute(sa.update(Hazard).where(Hazard.id == hazard_id).values(audit_seq=0, audit_hash=None))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"hazard:{hazard_id}" in result.output and "whole chain" in result.output


def test_a_trail_from_before_the_key_is_rekeyed_once_and_a_tampered_one_is_refused(api, app, runner):
    hazard_id = make_history(api)
    with app.app_context():
        for chain_hazard in db.session.scalars(sa.select(Hazard.id)).all():
            _rehash(chain_hazard, None)  # as the upgrade finds it: plain SHA-256
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.hazard_id.is_(None)))
        db.session.execute(sa.text("DELETE FROM audit_head"))
        db.session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1
    result = runner.invoke(args=["audit", "rekey", "--from-plain"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # A key rotation checks the old key first: an edit made meanwhile is refused, not laundered.
    old = app.instance_path + "/old_key"
    with open(old, "w", encoding="utf-8") as out:
        out.write(app.config["AUDIT_KEY"])
    with app.app_context():
        db.session.execute(sa.text("UPDATE audit_event SET actor_id = NULL WHERE hazard_id = :h AND seq = 1"),
                           {"h": hazard_id})
        db.session.commit()
    result = runner.invoke(args=["audit", "rekey", "--old-key-file", old])
    assert result.exit_code == 1 and "Nothing re-keyed" in result.output
