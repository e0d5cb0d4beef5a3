"""Issue 17, roles that match a bureau: the bureau head's lane (局领导), positions an administrator defines,
and four-eyes (a step a different person must do from an earlier one)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import designer
from tests import designer_diagrams as dd
from tests.document_steps import major_hazard
from tests.helpers import complete, current_task, hazard, in_days, report, upload
from tests.test_designer_pages import Admin

KEY = "hazard_lifecycle"


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def with_approval(lane: str = "局领导", four_eyes: str | None = "write_off") -> str:
    """The lifecycle with a step after the write-off in a lane of its own, four-eyes against the write-off."""
    xml = dd.add_lane(dd.shipped(), "Lane_extra", lane)
    xml = dd.add_user_task_after(xml, "write_off", "bureau_approval", "局领导审批销号", form="review",
                                 lane="Lane_extra", status="writing_off")
    if four_eyes:
        xml = dd.add_property(xml, "bureau_approval", "differentPersonFrom", four_eyes)
    return xml


def deploy(app, xml: str) -> None:
    with app.app_context():
        designer.deploy(admin(), KEY, xml)


def at_write_off(api, app) -> int:
    """A major hazard taken to the inspector's write-off step; returns its id."""
    h = major_hazard(api, app, "accepted")
    inspector = api.as_("inspector")
    complete(inspector, current_task(inspector, h, "verification"), {
        "verification_result": "pass", "verification_opinion": "合格", "verified_on": in_days(0)})
    return h


def task_ids(api) -> set[int]:
    return {t["id"] for t in api.get("/tasks").get_json()["items"]}


def test_the_bureau_heads_lane_goes_to_the_bureau_head_and_four_eyes_stops_the_inspector_who_wrote_off(app, api):
    deploy(app, with_approval())
    inspector, head = api.as_("inspector"), api.as_("bureau_head")
    h = at_write_off(api, app)
    complete(inspector, current_task(inspector, h, "write_off"), {"write_off_document": "销号〔2026〕3号"})
    approval = current_task(inspector, h, "bureau_approval")
    # Only the bureau head has it in the work list; the ordinary inspector is refused by role.
    assert approval in task_ids(head) and approval not in task_ids(inspector)
    refused = inspector.post(f"/tasks/{approval}/complete", json={"data": {"review_result": "pass"}})
    assert refused.status_code == 403
    complete(head, approval, {"review_result": "pass"})
    assert hazard(inspector, h)["status"] == "written_off"


def test_the_bureau_head_who_wrote_off_cannot_approve_and_the_step_waits_visibly(app, api, client):
    deploy(app, with_approval())
    head = api.as_("bureau_head")  # an inspector with the flag: may do the write-off too
    h = at_write_off(api, app)
    complete(head, current_task(head, h, "write_off"), {"write_off_document": "销号〔2026〕4号"})
    approval = current_task(head, h, "bureau_approval")
    assert approval not in task_ids(head)
    refused = head.post(f"/tasks/{approval}/complete?lang=en", json={"data": {"review_result": "pass"}})
    assert refused.status_code == 403
    assert "different person" in refused.get_json()["error"]
    detail = hazard(head, h)
    waiting = next(t for t in detail["current_tasks"] if t["name"] == "bureau_approval")
    assert waiting["status"] == "open"
    page = Admin(client, "bureau_head")
    html = page.client.get(f"/hazards/{h}?lang=en").get_data(as_text=True)
    assert "different person from 郑局长（区应急局）" in html and "For: bureau head" in html
    task_page = page.client.post(f"/tasks/{approval}?lang=en", data={"csrf_token": page.token,
                                                                     "review_result": "pass"})
    assert task_page.status_code == 403 and "four-eyes" in task_page.get_data(as_text=True)


def validation_problems(app, xml: str) -> dict[str | None, list[str]]:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found: dict[str | None, list[str]] = {}
        for problem in designer.validate(admin(), KEY, xml).problems:
            found.setdefault(problem["element_id"], []).append(problem["message"])
        return found


def with_workshop_step(lane: str = "车间主任") -> str:
    """The lifecycle with a step after the general rectification in a lane named after a position."""
    xml = dd.add_lane(dd.shipped(), "Lane_extra", lane)
    return dd.add_user_task_after(xml, "rectify", "workshop_check", "车间主任确认", form="review", lane="Lane_extra",
                                  status="reviewing")


def user_id(api, username: str) -> int:
    found = api.as_("admin").get(f"/admin/users?q={username}").get_json()["items"]
    return next(u["id"] for u in found if u["username"] == username)


def test_a_position_lane_goes_to_its_holders_in_the_hazards_enterprise(app, api):
    admin_api = api.as_("admin")
    created = admin_api.post("/admin/positions", json={"name": "车间主任", "kind": "enterprise"})
    assert created.status_code == 201, created.get_json()
    position = created.get_json()["id"]
    assert admin_api.post("/admin/positions", json={"name": "车间主任", "kind": "government"}).status_code == 422
    # Given to officer_a (enterprise A) and officer_b (enterprise B); an inspector cannot hold an enterprise's.
    for name in ("officer_a", "officer_b"):
        changed = admin_api.patch(f"/admin/users/{user_id(api, name)}", json={"positions": [position]})
        assert changed.status_code == 200 and changed.get_json()["positions"][0]["name"] == "车间主任"
    wrong = admin_api.patch(f"/admin/users/{user_id(api, 'inspector')}", json={"positions": [position]})
    assert wrong.status_code == 422 and "positions" in wrong.get_json()["fields"]

    deploy(app, with_workshop_step())
    officer, principal, other = api.as_("officer_a"), api.as_("principal_a"), api.as_("officer_b")
    h = report(officer)["id"]
    complete(officer, current_task(officer, h, "assess"), {
        "grade": "general", "responsible_person": "张安全", "measures": "加锁", "rectification_deadline": in_days(7)})
    complete(officer, current_task(officer, h, "rectify"), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(0)})
    step = current_task(officer, h, "workshop_check")
    assert step in task_ids(officer) and step not in task_ids(principal) and step not in task_ids(other)
    assert principal.post(f"/tasks/{step}/complete", json={"data": {"review_result": "pass"}}).status_code == 403
    complete(officer, step, {"review_result": "pass"})
    assert current_task(principal, h, "review")

    # Retired, the position's lane is refused at deploy, with the lane named; so is a lane naming nobody.
    assert admin_api.patch(f"/admin/positions/{position}", json={"active": False}).status_code == 200
    found = validation_problems(app, with_workshop_step())
    assert any("车间主任" in m and "retired" in m for m in found["workshop_check"])
    found = validation_problems(app, with_workshop_step("仓库保管员"))
    assert any("仓库保管员" in m for m in found["workshop_check"])


def test_four_eyes_must_name_another_user_task(app):
    found = validation_problems(app, with_approval(four_eyes="no_such_step"))
    assert any("no_such_step" in m for m in found["bureau_approval"])
    found = validation_problems(app, with_approval(four_eyes="bureau_approval"))
    assert any("itself" in m for m in found["bureau_approval"])
    assert "bureau_approval" not in validation_problems(app, with_approval(four_eyes="核销销号"))  # by name


def test_positions_are_managed_on_their_page_and_given_on_the_people_page(app, api, client):
    page = Admin(client)
    added = page.client.post("/admin/positions?lang=en", data={"csrf_token": page.token, "name": " 科长 ",
                                                               "kind": "government"})
    assert added.status_code == 302
    twice = page.client.post("/admin/positions?lang=en", data={"csrf_token": page.token, "name": "科长",
                                                               "kind": "enterprise"})
    assert twice.status_code == 422 and "exists already" in twice.get_data(as_text=True)
    listed = api.as_("admin").get("/admin/positions").get_json()["items"]
    position = next(p for p in listed if p["name"] == "科长")
    assert position["kind"] == "government" and position["active"] is True
    renamed = page.client.post(f"/admin/positions/{position['id']}", data={
        "csrf_token": page.token, "action": "rename", "name": "安监科长"})
    assert renamed.status_code == 302
    inspector = user_id(api, "inspector")
    form = page.client.get(f"/admin/users/{inspector}?lang=en").get_data(as_text=True)
    assert "安监科长" in form and 'name="positions_shown"' in form
    saved = page.client.post(f"/admin/users/{inspector}?lang=en", data={
        "csrf_token": page.token, "display_name": "周检查（区应急局）", "role": "inspector",
        "organisation_id": str(api.as_("admin").get(f"/admin/users/{inspector}").get_json()["organisation_id"]),
        "positions_shown": "1", "positions": [str(position["id"])]})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    held = api.as_("admin").get(f"/admin/users/{inspector}").get_json()["positions"]
    assert [p["name"] for p in held] == ["安监科长"]
    retired = page.client.post(f"/admin/positions/{position['id']}", data={"csrf_token": page.token,
                                                                          "action": "retire"})
    assert retired.status_code == 302
    assert api.as_("admin").get("/admin/positions").get_json()["items"][0]["active"] is False
    # Nobody but an administrator manages positions.
    assert api.as_("principal_a").get("/admin/positions").status_code == 403


def test_an_added_status_is_deployable_shown_filtered_and_final_at_an_end_event(app, api, client):
    admin_api = api.as_("admin")
    step = admin_api.post("/admin/statuses", json={"label_zh": "待张贴告示", "label_en": "Notice posting"})
    assert step.status_code == 201 and step.get_json()["key"] == "notice_posting"
    page = Admin(client)
    end = page.post_json("/admin/statuses", {"key": "rejected", "label_zh": "不予受理", "label_en": "Rejected",
                                             "final": True})
    assert end.status_code == 201 and end.get_json()["final"] is True
    again = admin_api.post("/admin/statuses?lang=en", json={"key": "rejected", "label_zh": "x", "label_en": "y"})
    assert again.status_code == 422 and "exists already" in again.get_json()["fields"]["key"]
    assert admin_api.post("/admin/statuses", json={"label_zh": "无英文"}).status_code == 422
    assert api.as_("officer_a").post("/admin/statuses", json={"label_zh": "a", "label_en": "b"}).status_code == 403
    keys = [s["key"] for s in api.as_("officer_a").get("/statuses").get_json()["items"]]
    assert keys[0] == "reported" and keys[-2:] == ["notice_posting", "rejected"]

    xml = dd.set_property(dd.set_property(dd.shipped(), "rectify", "status", "notice_posting"),
                          "end_closed", "status", "rejected")
    assert "rectify" not in validation_problems(app, xml)
    assert "rectify" in validation_problems(app, dd.set_property(dd.shipped(), "rectify", "status", "no_such"))
    deploy(app, xml)
    officer, principal = api.as_("officer_a"), api.as_("principal_a")
    h = report(officer)["id"]
    complete(officer, current_task(officer, h, "assess"), {
        "grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(7)})
    assert hazard(officer, h)["status"] == "notice_posting"
    assert [x["id"] for x in officer.get("/hazards?status=notice_posting").get_json()["items"]] == [h]
    assert officer.get("/hazards?status=nonsense").status_code == 422
    register = page.client.get("/hazards?status=notice_posting&lang=en").get_data(as_text=True)
    assert 'value="notice_posting" selected' in register and "Notice posting" in register
    complete(officer, current_task(officer, h, "rectify"), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(0)})
    complete(principal, current_task(principal, h, "review"), {"review_result": "pass"})
    done = hazard(officer, h)
    assert done["status"] == "rejected" and done["overdue"] is False and done["closed_at"]
    options = page.client.get("/admin/processes/hazard_lifecycle/designer?lang=zh").get_data(as_text=True)
    assert "rejected" in options and "notice_posting" in options
