"""Extension requests: an officer asks for more time; the principal (or, for a listed hazard, the inspector)
decides; an approved extension moves the deadline, its timers and its escalations, all on record."""
from __future__ import annotations

from datetime import timedelta

from app.services.errors import ServiceError
from tests.deadline_steps import (
    Person,
    alerts,
    audit_actions,
    deadline_of,
    general_hazard_rectifying,
    major_hazard_rectifying,
    move_to,
    tick,
    told,
    view,
)
from tests.helpers import in_days

MINUTE = timedelta(minutes=1)


def ask(api, hazard_id: int, new_deadline: str, reason: str = "备件到货延迟", who: str = "officer_a", status=201):
    from app.extensions import db
    from app.models import User
    from app.services import extension_requests

    app = api.client.application
    with app.test_request_context():
        user = db.session.query(User).filter_by(username=who).one()
        try:
            request = extension_requests.request_extension(user, hazard_id, {"requested_deadline": new_deadline,
                                                                     "reason": reason})
        except ServiceError as exc:  # the caller checks what was refused
            db.session.rollback()
            return exc
        request_id = request.id
        db.session.remove()
    return request_id


def decide(app, request_id: int, who: str, approve: bool, note: str | None = None):
    from app.extensions import db
    from app.models import User
    from app.services import extension_requests

    with app.test_request_context():
        user = db.session.query(User).filter_by(username=who).one()
        try:
            extension_requests.decide(user, request_id, approve, note)
        except ServiceError as exc:
            db.session.rollback()
            return exc
        finally:
            db.session.remove()
    return None


def test_an_approved_extension_moves_the_deadline_and_cancels_the_old_escalation(api, app):
    old_day, new_day = in_days(3), in_days(20)
    hazard_id = general_hazard_rectifying(api, old_day)
    move_to(deadline_of(old_day) + MINUTE)
    tick(app)
    assert view(api, "officer_a", hazard_id)["overdue"] is True
    assert ("escalation", 3, "inspector") in alerts(app, hazard_id, status="pending")

    request_id = ask(api, hazard_id, new_day, "关键备件需从外地调运")
    assert [n["requested"] for n in told(app, "principal_a", "extension_requested")] == [new_day]
    assert told(app, "inspector", "extension_requested") == [], "an unlisted hazard is the enterprise's call"
    assert decide(app, request_id, "principal_a", True) is None

    detail = view(api, "officer_a", hazard_id)
    assert detail["overdue"] is False and detail["rectification_deadline"] == new_day
    task = next(t for t in detail["current_tasks"] if t["name"] == "rectify")
    assert task["due_at"].startswith(deadline_of(new_day).isoformat()[:16])
    pending = alerts(app, hazard_id, status="pending")
    assert ("escalation", 3, "inspector") in pending  # planned again ...
    from app.extensions import db
    from app.models import Timer, TimerKind, TimerStatus

    with app.app_context():
        old = db.session.query(Timer).filter(Timer.hazard_id == hazard_id, Timer.kind == TimerKind.escalation,
                                             Timer.status == TimerStatus.cancelled).all()
        assert {t.anchor_at for t in old} == {deadline_of(old_day)}, "... and the old escalation is cancelled"
        assert {t.anchor_at for t in db.session.query(Timer).filter(
            Timer.hazard_id == hazard_id, Timer.status == TimerStatus.pending)} == {deadline_of(new_day)}
        db.session.remove()

    move_to(deadline_of(old_day) + timedelta(days=8))  # past both old escalation tiers
    tick(app)
    assert told(app, "inspector", "deadline_escalated") == [] and told(app, "bureau_head") == []
    move_to(deadline_of(new_day) - timedelta(days=3) + MINUTE)
    tick(app)
    assert [n["due"] for n in told(app, "officer_a", "deadline_reminder")] == [new_day]
    move_to(deadline_of(new_day) + MINUTE)
    tick(app)
    assert view(api, "principal_a", hazard_id)["overdue"] is True
    assert [n["due"] for n in told(app, "principal_a", "deadline_overdue")] == [old_day, new_day]
    assert [n["requested"] for n in told(app, "officer_a", "extension_approved")] == [new_day]
    actions = [e["action"] for e in audit_actions(app, hazard_id)]
    assert actions.index("extension_requested") < actions.index("extension_approved")
    approved = audit_actions(app, hazard_id, "extension_approved")[0]
    assert (approved["from"], approved["to"]) == (old_day, new_day)


def test_an_extension_before_the_deadline_moves_the_timer_itself(api, app):
    old_day, new_day = in_days(10), in_days(15)
    hazard_id = general_hazard_rectifying(api, old_day)
    request_id = ask(api, hazard_id, new_day)
    decide(app, request_id, "principal_a", True)
    from app.extensions import db
    from app.models import Timer, TimerKind, TimerStatus

    with app.app_context():
        timer = db.session.query(Timer).filter_by(hazard_id=hazard_id, kind=TimerKind.engine).one()
        assert (timer.status, timer.due_at) == (TimerStatus.pending, deadline_of(new_day))
        db.session.remove()
    move_to(deadline_of(old_day) + MINUTE)
    tick(app)
    assert told(app, "officer_a", "deadline_overdue") == []
    assert audit_actions(app, hazard_id, "timer_fired") == []
    move_to(deadline_of(new_day) + MINUTE)
    tick(app)
    assert [e["task"] for e in audit_actions(app, hazard_id, "timer_fired")] == ["rectify_deadline"]


def test_a_listed_hazard_is_extended_by_the_inspector_and_both_deadlines_move(api, app):
    hazard_id = major_hazard_rectifying(api, plan_deadline=in_days(10), listed=True, supervision_deadline=in_days(12))
    request_id = ask(api, hazard_id, in_days(40))
    assert [n["number"] for n in told(app, "inspector", "extension_requested")]
    assert told(app, "principal_a", "extension_requested") == []
    refused = decide(app, request_id, "principal_a", True)
    assert refused is not None and refused.status == 403, "the principal cannot extend a listed hazard"
    assert decide(app, request_id, "inspector", True) is None
    detail = view(api, "inspector", hazard_id)
    assert (detail["rectification_deadline"], detail["supervision_deadline"]) == (in_days(40), in_days(40))
    move_to(deadline_of(in_days(12)) + MINUTE)
    tick(app)
    assert told(app, "officer_a", "deadline_overdue") == []


def test_a_refusal_needs_a_reason_and_changes_nothing(api, app):
    day = in_days(5)
    hazard_id = general_hazard_rectifying(api, day)
    request_id = ask(api, hazard_id, in_days(9))
    missing = decide(app, request_id, "principal_a", False)
    assert missing.status == 422 and "note" in missing.fields
    assert decide(app, request_id, "principal_a", False, "整改条件已具备，不予延期") is None
    assert view(api, "officer_a", hazard_id)["rectification_deadline"] == day
    assert [n["note"] for n in told(app, "officer_a", "extension_refused")] == ["整改条件已具备，不予延期"]
    assert audit_actions(app, hazard_id, "extension_refused")[0]["note"] == "整改条件已具备，不予延期"
    again = decide(app, request_id, "principal_a", True)
    assert again.status == 409


def test_only_the_enterprise_officer_may_ask_once_for_a_later_date_with_a_reason(api, app):
    day = in_days(5)
    hazard_id = general_hazard_rectifying(api, day)
    assert ask(api, hazard_id, in_days(9), who="principal_a").status == 403
    assert ask(api, hazard_id, in_days(9), who="officer_b").status == 404, "another enterprise sees nothing"
    early = ask(api, hazard_id, in_days(4))
    assert early.status == 422 and "requested_deadline" in early.fields
    no_reason = ask(api, hazard_id, in_days(9), reason=" ")
    assert no_reason.status == 422 and "reason" in no_reason.fields
    assert isinstance(ask(api, hazard_id, in_days(9)), int)
    assert ask(api, hazard_id, in_days(11)).status == 409, "one request at a time"


def test_the_extension_pages_let_the_officer_ask_and_the_principal_decide(api, app, client):
    day = in_days(5)
    hazard_id = general_hazard_rectifying(api, day)
    officer = Person(client, "officer_a")
    page = officer.get(f"/hazards/{hazard_id}/extension")
    assert page.status_code == 200 and 'id="extension-form"' in page.get_data(as_text=True)
    bad = officer.post(f"/hazards/{hazard_id}/extension", {"requested_deadline": "", "reason": ""})
    assert bad.status_code == 422
    sent = officer.post(f"/hazards/{hazard_id}/extension", {"requested_deadline": in_days(12), "reason": "设备返厂"})
    assert sent.status_code == 302
    officer.post("/logout")

    principal = Person(client, "principal_a")
    listing = principal.get("/extensions").get_data(as_text=True)
    request_id = int(listing.split('href="/extensions/')[1].split('"')[0])
    assert principal.get(f"/extensions/{request_id}").status_code == 200
    done = principal.post(f"/extensions/{request_id}", {"decision": "approve", "note": ""})
    assert done.status_code == 302
    shown = principal.get(f"/extensions/{request_id}").get_data(as_text=True)
    assert 'data-status="approved"' in shown
    assert view(api, "officer_a", hazard_id)["rectification_deadline"] == in_days(12)
