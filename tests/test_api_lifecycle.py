"""The closed loop through the JSON API: each step by the right person, every wrong person refused."""
from __future__ import annotations

from tests.helpers import complete, current_task, hazard, in_days, report, upload, upload_pdf


def assess_general(api, hazard_id):
    complete(api.as_("officer_a"), current_task(api.as_("officer_a"), hazard_id, "assess"), {
        "grade": "general", "responsible_person": "张安全", "measures": "加锁并张贴警示标识",
        "rectification_deadline": in_days(7)})


def rectify(api, hazard_id, name="rectify"):
    officer = api.as_("officer_a")
    complete(officer, current_task(officer, hazard_id, name), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(0)})


def test_general_hazard_goes_from_report_to_closed_with_a_failed_review_in_between(api):
    officer, principal = api.as_("officer_a"), api.as_("principal_a")
    h = report(officer, photos=[upload(officer)])
    assert h["status"] == "assessing" and h["number"].startswith("YH")
    assess_general(api, h["id"])
    assert hazard(officer, h["id"])["status"] == "rectifying"
    assert hazard(officer, h["id"])["grade"] == "general"
    rectify(api, h["id"])
    complete(principal, current_task(principal, h["id"], "review"),
             {"review_result": "fail", "review_opinion": "警示标识不清晰"})
    assert hazard(officer, h["id"])["status"] == "rectifying"
    rectify(api, h["id"])
    complete(principal, current_task(principal, h["id"], "review"), {"review_result": "pass"})
    final = hazard(officer, h["id"])
    assert final["status"] == "closed" and final["current_tasks"] == [] and final["closed_at"]
    actions = [e["action"] for e in final["timeline"]]
    assert actions[0] == "hazard_reported" and actions.count("task_completed") == 5
    assert len([a for a in final["attachments"] if a["kind"] == "image"]) == 3


def test_major_hazard_is_written_off_after_a_failed_verification_sends_it_back(api):
    officer, principal, inspector = api.as_("officer_a"), api.as_("principal_a"), api.as_("inspector")
    h = report(officer, title="喷漆房通风失效")
    complete(officer, current_task(officer, h["id"], "assess"), {
        "grade": "major", "responsible_person": "李厂长", "major_criterion": "工贸重大隐患判定标准第十条"})
    plan = {"measures": "更换防爆风机", "funds": 180000, "rectification_deadline": in_days(30),
            "responsible_person": "李厂长", "emergency_plan": "停产并设警戒区"}
    complete(officer, current_task(officer, h["id"], "plan"), plan)
    complete(principal, current_task(principal, h["id"], "approve_report"), {
        "plan_decision": "approve", "report_current_state": "风机损坏", "report_harm": "可能爆炸",
        "reported_to_workers_congress": True})
    assert hazard(officer, h["id"])["status"] == "supervision_review"
    complete(inspector, current_task(inspector, h["id"], "supervision_decision"), {
        "plan_review": "accept", "listed": True, "notice_number": "示应急督〔2026〕12号", "supervision_deadline": in_days(45)})
    listed = hazard(officer, h["id"])
    assert listed["listed"] is True and listed["notice_number"] == "示应急督〔2026〕12号"
    rectify(api, h["id"], "rectify_major")
    complete(officer, current_task(officer, h["id"], "acceptance"), {
        "acceptance_by": "agency", "acceptance_opinion": "整改合格", "acceptance_report": [upload_pdf(officer)]})
    complete(inspector, current_task(inspector, h["id"], "verification"), {
        "verification_result": "fail", "verification_opinion": "报警装置未联动", "failure_reason": "未联动",
        "verified_on": in_days(0)})
    back = hazard(officer, h["id"])
    assert back["status"] == "rectifying"
    failed = [e for e in back["timeline"] if e["task"] == "verification"]
    assert failed[-1]["data"]["data"]["failure_reason"] == "未联动"
    rectify(api, h["id"], "rectify_major")
    complete(officer, current_task(officer, h["id"], "acceptance"), {
        "acceptance_by": "expert", "acceptance_opinion": "复验合格", "acceptance_report": [upload_pdf(officer)]})
    complete(inspector, current_task(inspector, h["id"], "verification"), {
        "verification_result": "pass", "verification_opinion": "合格", "verified_on": in_days(0)})
    complete(inspector, current_task(inspector, h["id"], "write_off"), {"write_off_document": "销号〔2026〕3号"})
    final = hazard(inspector, h["id"])
    assert final["status"] == "written_off" and final["grade"] == "major" and final["closed_at"]


def test_wrong_people_are_refused_at_every_kind_of_step(api):
    officer, principal = api.as_("officer_a"), api.as_("principal_a")
    h = report(officer)
    assess = current_task(officer, h["id"], "assess")
    data = {"grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(3)}
    # Another enterprise cannot even see the hazard or its task.
    assert api.as_("officer_b").get(f"/hazards/{h['id']}").status_code == 404
    assert api.as_("officer_b").post(f"/tasks/{assess}/complete", json={"data": data}).status_code == 404
    # An inspector outside the jurisdiction sees nothing either.
    assert api.as_("inspector_west").get(f"/hazards/{h['id']}").status_code == 404
    # The principal of the same enterprise sees it but cannot do the officer's task.
    assert principal.get(f"/hazards/{h['id']}").status_code == 200
    assert principal.post(f"/tasks/{assess}/complete", json={"data": data}).status_code == 403
    # The district inspector may see it but not do enterprise work.
    assert api.as_("inspector").post(f"/tasks/{assess}/complete", json={"data": data}).status_code == 403
    # The administrator designs processes; they do not complete enterprise tasks.
    assert api.as_("admin").post(f"/tasks/{assess}/complete", json={"data": data}).status_code == 403
    complete(officer, assess, data)
    assert officer.post(f"/tasks/{assess}/complete", json={"data": data}).status_code == 409


def test_lists_show_each_user_only_their_own_hazards_and_tasks(api):
    a = report(api.as_("officer_a"), title="A的隐患")
    b = report(api.as_("officer_b"), title="B的隐患")
    ids_a = {h["id"] for h in api.as_("officer_a").get("/hazards").get_json()["items"]}
    ids_b = {h["id"] for h in api.as_("officer_b").get("/hazards").get_json()["items"]}
    assert ids_a == {a["id"]} and ids_b == {b["id"]}
    assert {h["id"] for h in api.as_("inspector").get("/hazards").get_json()["items"]} == {a["id"], b["id"]}
    assert {h["id"] for h in api.as_("inspector_west").get("/hazards").get_json()["items"]} == {b["id"]}
    tasks_a = api.as_("officer_a").get("/tasks").get_json()
    assert [t["hazard_id"] for t in tasks_a["items"]] == [a["id"]]
    assert api.as_("principal_a").get("/tasks").get_json()["items"] == []


def test_hazard_list_filters_and_paginates(api):
    officer = api.as_("officer_a")
    for i in range(5):
        report(officer, title=f"隐患{i}", location=f"车间{i}")
    page = officer.get("/hazards?per_page=2&page=2").get_json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["pages"] == 3
    assert [h["title"] for h in officer.get("/hazards?q=车间3").get_json()["items"]] == ["隐患3"]
    assert officer.get("/hazards?status=assessing").get_json()["total"] == 5
    assert officer.get("/hazards?grade=major").get_json()["total"] == 0
    assert officer.get("/hazards?overdue=maybe").status_code == 422
    resp = officer.get("/hazards?page=0")
    assert resp.status_code == 422 and "page" in resp.get_json()["fields"]


def test_claimed_task_is_hidden_from_colleagues_and_can_be_released(api, app):
    from app.clock import clock
    from app.extensions import db
    from app.models import Organisation, Role, User
    from app.services.auth import hash_password

    with app.app_context():
        ent = db.session.get(User, 2).organisation_id  # officer_a's enterprise
        db.session.add(User(username="officer_a2", display_name="同事", role=Role.officer, organisation_id=ent,
                            password_hash=hash_password("hazardloop"), created_at=clock.now()))
        db.session.commit()
        assert db.session.get(Organisation, ent).name
    officer, colleague = api.as_("officer_a"), api.as_("officer_a2")
    h = report(officer)
    task = current_task(officer, h["id"], "assess")
    assert officer.post(f"/tasks/{task}/claim").status_code == 200
    assert colleague.get("/tasks").get_json()["items"] == []
    assert colleague.post(f"/tasks/{task}/claim").status_code == 403
    assert colleague.post(f"/tasks/{task}/release").status_code == 403
    assert officer.post(f"/tasks/{task}/release").status_code == 200
    assert [t["id"] for t in colleague.get("/tasks").get_json()["items"]] == [task]


def test_a_task_can_be_delegated_only_to_someone_who_may_do_it(api, app):
    from app.clock import clock
    from app.extensions import db
    from app.models import Role, User
    from app.services.auth import hash_password

    with app.app_context():
        ent = db.session.scalar(db.select(User.organisation_id).where(User.username == "officer_a"))
        colleague = User(username="officer_a3", display_name="同事三", role=Role.officer, organisation_id=ent,
                         password_hash=hash_password("hazardloop"), created_at=clock.now())
        db.session.add(colleague)
        db.session.commit()
        colleague_id = colleague.id
        principal_id = db.session.scalar(db.select(User.id).where(User.username == "principal_a"))
        officer_b_id = db.session.scalar(db.select(User.id).where(User.username == "officer_b"))
    officer = api.as_("officer_a")
    task = current_task(officer, report(officer)["id"], "assess")
    for wrong in (principal_id, officer_b_id, 999999, "x"):
        resp = officer.post(f"/tasks/{task}/delegate", json={"user_id": wrong})
        assert resp.status_code == 422 and "user_id" in resp.get_json()["fields"]
    assert officer.post(f"/tasks/{task}/delegate", json={"user_id": colleague_id}).get_json()["assignee_id"] == colleague_id
    assert officer.get("/tasks").get_json()["items"] == []
    assert [t["id"] for t in api.as_("officer_a3").get("/tasks").get_json()["items"]] == [task]
