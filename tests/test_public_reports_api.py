"""The bureau's side of public reports through /api/v1/public-reports (issue 15 follow-up): the unit's inspectors
list their reports (paged, filtered by status and overdue), read one as the page shows it (never the reporter),
reveal the reporter (audited like the page), answer it, propose and decide the reward — the pages' service
functions; enterprise users get 404. /api/v1/tasks lists tasks of every subject with a `subject` object, `hazard`
null for a report's; claim and release work on a public report's task and a claimed one is refused to colleagues."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Hazard, HumanTask, PublicReport, TaskStatus
from tests.deadline_steps import move_to
from tests.test_public_reports import ACCEPT, MOBILE, NAME, _report_id, send
from tests.test_triage_steps import _deploy_with_review


def _received(app, **overrides) -> int:
    return _report_id(app, send(app.test_client(), app, **overrides)["tracking_code"])


def _task(app, report_id: int) -> HumanTask:
    with app.app_context():
        task = db.session.scalar(sa.select(HumanTask).where(HumanTask.public_report_id == report_id,
                                                            HumanTask.status == TaskStatus.open))
        db.session.expunge(task)
        return task


def test_the_units_inspectors_list_and_read_their_reports_without_the_reporter(app, api):
    report_id = _received(app)
    inspector = api.as_("inspector")
    resp = inspector.get("/public-reports")
    assert resp.status_code == 200, resp.get_json()
    [item] = [i for i in resp.get_json()["items"] if i["id"] == report_id]
    assert item["status"] == "received" and item["overdue"] is False and item["has_reporter"] is True
    assert item["answer_due"] is not None
    detail = inspector.get(f"/public-reports/{report_id}").get_json()
    text = str(detail)
    assert NAME not in text and MOBILE not in text
    [step] = detail["current_tasks"]
    assert step["action"] == "answer" and step["can_act"] is True and step["assignee"] is None
    # Filters: status and overdue.
    assert [i["id"] for i in inspector.get("/public-reports?status=rejected").get_json()["items"]] == []
    assert report_id in [i["id"] for i in inspector.get("/public-reports?overdue=false").get_json()["items"]]
    with app.app_context():
        move_to(db.session.get(PublicReport, report_id).created_at + timedelta(days=8))
    api.tokens.clear()  # the tokens issued 8 days ago have expired
    late = inspector.get("/public-reports?overdue=true").get_json()["items"]
    assert report_id in [i["id"] for i in late] and all(i["overdue"] for i in late)
    # Another unit's inspector and the enterprise find nothing.
    assert api.as_("inspector_west").get(f"/public-reports/{report_id}").status_code == 404
    for path in ("/public-reports", f"/public-reports/{report_id}"):
        resp = api.as_("officer_a").get(path)
        assert resp.status_code == 404 and "request_id" in resp.get_json()
    assert api.as_("officer_a").post(f"/public-reports/{report_id}/reporter").status_code == 404


def test_revealing_the_reporter_is_audited(app, api):
    report_id = _received(app)
    resp = api.as_("inspector").post(f"/public-reports/{report_id}/reporter")
    assert resp.status_code == 200 and resp.get_json() == {"name": NAME, "contact": MOBILE}
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reporter_details_read")).all()
        assert any(str(report_id) in e.data for e in events)


def test_accept_then_reward_proposal_and_the_bureau_heads_decision(app, api):
    report_id = _received(app)
    inspector = api.as_("inspector")
    bad = inspector.post(f"/public-reports/{report_id}/answer", json={"decision": "maybe"})
    assert bad.status_code == 422 and "decision" in bad.get_json()["fields"]
    resp = inspector.post(f"/public-reports/{report_id}/answer", json={"decision": "accept", **ACCEPT})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "accepted" and body["hazard_id"] is not None
    assert [t["action"] for t in body["current_tasks"]] == ["reward"]
    with app.app_context():
        assert db.session.get(Hazard, body["hazard_id"]).source == "public_report"
    again = inspector.post(f"/public-reports/{report_id}/answer", json={"decision": "reject", "outcome": "x"})
    assert again.status_code == 409
    bad = inspector.post(f"/public-reports/{report_id}/reward", json={"amount": "abc", "reason": "x"})
    assert bad.status_code == 422 and "amount" in bad.get_json()["fields"]
    bad = inspector.post(f"/public-reports/{report_id}/reward", json={"amount": 0, "reason": "x"})
    assert bad.status_code == 422 and "amount" in bad.get_json()["fields"]
    resp = inspector.post(f"/public-reports/{report_id}/reward", json={"amount": 200, "reason": "线索准确"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["reward"]["amount"] == "200.00" and body["reward"]["status"] == "proposed"
    assert [t["action"] for t in body["current_tasks"]] == ["reward_decision"]
    # Only the head of the bureau decides.
    assert inspector.post(f"/public-reports/{report_id}/reward/decision", json={"approve": True}).status_code == 403
    head = api.as_("bureau_head")
    bad = head.post(f"/public-reports/{report_id}/reward/decision", json={"approve": False})
    assert bad.status_code == 422 and "decision_note" in bad.get_json()["fields"]
    resp = head.post(f"/public-reports/{report_id}/reward/decision", json={"approve": True})
    assert resp.status_code == 200 and resp.get_json()["reward"]["status"] == "approved"
    assert resp.get_json()["current_tasks"] == []


def test_reject_and_no_reward(app, api):
    report_id = _received(app)
    inspector = api.as_("inspector")
    bad = inspector.post(f"/public-reports/{report_id}/answer", json={"decision": "reject"})
    assert bad.status_code == 422 and "outcome" in bad.get_json()["fields"]
    resp = inspector.post(f"/public-reports/{report_id}/answer", json={"decision": "reject", "outcome": "经核查不属实"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    accepted = _received(app, description="车间配电箱门长期敞开，电线裸露在外")
    inspector.post(f"/public-reports/{accepted}/answer", json={"decision": "accept", **ACCEPT})
    resp = inspector.post(f"/public-reports/{accepted}/reward", json={"reward": "none"})
    assert resp.status_code == 200 and resp.get_json()["reward"] is None and resp.get_json()["current_tasks"] == []


def test_tasks_of_every_subject_carry_their_subject_and_claims_are_shared(app, api):
    report_id = _received(app)
    task = _task(app, report_id)
    inspector, head = api.as_("inspector"), api.as_("bureau_head")
    items = inspector.get("/tasks?per_page=200").get_json()["items"]
    [item] = [i for i in items if i["id"] == task.id]
    assert item["hazard"] is None
    assert item["subject"] == {"kind": "public_report", "id": report_id, "title": item["subject"]["title"],
                               "url": f"/api/v1/public-reports/{report_id}"}
    detail = inspector.get(f"/tasks/{task.id}").get_json()
    assert detail["subject"]["kind"] == "public_report" and detail["form"]["key"] == "public_triage"
    # Completing it as a hazard's task is refused: it is done through the report's endpoints.
    resp = inspector.post(f"/tasks/{task.id}/complete", json={"data": {"decision": "reject"}})
    assert resp.status_code == 409
    # Claimed by one inspector: taken for the others, refused to them with the name.
    assert inspector.post(f"/tasks/{task.id}/claim").get_json()["assignee_id"] is not None
    step = head.get(f"/public-reports/{report_id}").get_json()["current_tasks"][0]
    assert step["can_act"] is False and step["assignee"]
    refused = head.post(f"/public-reports/{report_id}/answer", json={"decision": "reject", "outcome": "不属实"})
    assert refused.status_code == 403 and step["assignee"] in refused.get_json()["error"]
    assert head.post(f"/tasks/{task.id}/claim").status_code == 403
    assert task.id not in [i["id"] for i in head.get("/tasks?per_page=200").get_json()["items"]]
    assert inspector.post(f"/tasks/{task.id}/release").status_code == 200
    assert head.post(f"/public-reports/{report_id}/answer",
                     json={"decision": "reject", "outcome": "不属实"}).status_code == 200
    # Hazard tasks keep their hazard and say so.
    hazard_items = [i for i in api.as_("officer_a").get("/tasks").get_json()["items"] if i["hazard"]]
    assert all(i["subject"]["kind"] == "hazard" and i["subject"]["id"] == i["hazard"]["id"] for i in hazard_items)


def test_a_step_added_in_the_designer_is_done_through_the_api(app, api):
    _deploy_with_review(app)
    report_id = _received(app)
    inspector = api.as_("inspector")
    [step] = inspector.get(f"/public-reports/{report_id}").get_json()["current_tasks"]
    assert step["action"] == "step" and step["form"] == "section_review"
    bad = inspector.post(f"/public-reports/{report_id}/steps/{step['id']}", json={"data": {}})
    assert bad.status_code == 422 and "opinion" in bad.get_json()["fields"]
    resp = inspector.post(f"/public-reports/{report_id}/steps/{step['id']}", json={"data": {"opinion": "同意"}})
    assert resp.status_code == 200, resp.get_json()
    assert [t["action"] for t in resp.get_json()["current_tasks"]] == ["answer"]
    again = inspector.post(f"/public-reports/{report_id}/steps/{step['id']}", json={"data": {"opinion": "同意"}})
    assert again.status_code == 409


def test_refer_moves_the_report_and_issues_the_answer_again(app, api):
    from app.models import Organisation

    report_id = _received(app)
    with app.app_context():
        west = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == "西山镇安全生产监管站"))
    resp = api.as_("inspector").post(f"/public-reports/{report_id}/answer", json={"decision": "refer", "unit_id": west})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "referred" and body["supervising_unit_id"] == west
    assert [t["action"] for t in body["current_tasks"]] == ["answer"]
    west_view = api.as_("inspector_west").get(f"/public-reports/{report_id}")
    assert west_view.status_code == 200 and west_view.get_json()["current_tasks"][0]["can_act"] is True
    bad = api.as_("inspector_west").post(f"/public-reports/{report_id}/answer",
                                         json={"decision": "refer", "unit_id": 2147483647})
    assert bad.status_code == 422 and "unit_id" in bad.get_json()["fields"]
