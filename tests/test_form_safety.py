"""Forms and processes checked against each other (issue 17): a form save cannot strand running work, a waiting
task can be re-issued with the current form, a diagram failing at run time answers people in words (never
with the engine's), the form editor's conditional rules are checked by the server, and texts follow timers."""
from __future__ import annotations

import copy
import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, HumanTask, StepFailure, User
from app.services import designer, forms
from app.services.errors import ValidationFailed
from app.services.form_usage import FormInUse
from tests import designer_diagrams as dd
from tests.deadline_steps import Person, apply_for_acceptance, major_hazard_rectifying
from tests.helpers import complete, current_task, in_days, report
from tests.test_designer_pages import Admin

ENGINE_WORDS = ("NameError", "WorkflowTaskException", "WorkflowException", "Traceback", "EngineError",
                "is not defined", "verification_gateway", "Flow_verification", "SpiffWorkflow")
PASS = {"verification_opinion": "合格", "verified_on": in_days(0)}


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def renamed(definition: dict, old: str, new: str) -> dict:
    """The definition with data key `old` renamed to `new` everywhere (schema, fields, rules)."""
    return json.loads(json.dumps(definition, ensure_ascii=False).replace(f'"{old}"', f'"{new}"'))


def at_verification(api) -> int:
    hazard_id = major_hazard_rectifying(api, plan_deadline=in_days(30), listed=False)
    apply_for_acceptance(api, hazard_id)
    return hazard_id


def refused_at_verification(api, data: dict) -> tuple[object, int, int, str]:
    """Take a major hazard to the verification and send `data` there through the API, which the process refuses:
    (the inspector's API, hazard id, task id, the answer's body), the body checked for engine words."""
    hazard_id = at_verification(api)
    inspector = api.as_("inspector")
    task_id = current_task(inspector, hazard_id, "verification")
    resp = inspector.post(f"/tasks/{task_id}/complete", json={"data": data})
    assert resp.status_code == 409
    body = json.dumps(resp.get_json(), ensure_ascii=False)
    assert not [w for w in (*ENGINE_WORDS, "ghost") if w in body]
    return inspector, hazard_id, task_id, body


def test_renaming_a_key_a_condition_reads_is_refused_with_the_process_and_step_named(app, client):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        before = forms.get_form("verification")
        edited = renamed(before.as_dict(), "verification_result", "result")
        with pytest.raises(FormInUse) as refused:
            designer.save_form(admin(), "verification", edited)
        problems = refused.value.extra["problems"]
        assert refused.value.extra["reissue_possible"] is False
        assert any("隐患排查治理闭环" in p and "审查是否通过?" in p and "“通过”" in p and "verification_result" in p
                   and "condition" in p for p in problems), problems
        assert not any(word in p for p in problems for word in ("Flow_verification", "verification_gateway"))
        assert forms.get_form("verification").number == before.number  # nothing saved
        db.session.remove()
    resp = Admin(client).post_json("/admin/forms/verification", {"definition": edited})
    body = resp.get_json()
    assert resp.status_code == 422 and body["reissue_possible"] is False
    assert any("审查是否通过?" in p and "verification_result" in p for p in body["problems"])


def test_a_key_only_waiting_tasks_hold_is_refused_then_saved_with_an_explicit_reissue(app, api):
    officer = api.as_("officer_a")
    hazard = report(officer)
    task_id = current_task(officer, hazard["id"], "assess")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        edited = renamed(forms.get_form("assess").as_dict(), "measures", "measures_text")
        with pytest.raises(FormInUse) as refused:
            designer.save_form(admin(), "assess", edited)
        assert refused.value.extra["reissue_possible"] is True
        assert "1 waiting task(s)" in refused.value.extra["problems"][0]
        assert "measures" in refused.value.extra["problems"][0]
        saved = designer.save_form(admin(), "assess", edited, reissue=True)
        task = db.session.get(HumanTask, task_id)
        assert task.form_version_id == saved.id
        reissued = db.session.scalars(select(AuditEvent).where(AuditEvent.hazard_id == hazard["id"],
                                                               AuditEvent.action == "task_reissued")).all()
        assert len(reissued) == 1 and json.loads(reissued[0].data)["to_version"] == saved.number
        db.session.remove()
    complete(officer, task_id, {"grade": "general", "responsible_person": "张安全", "measures_text": "加锁",
                                "rectification_deadline": in_days(7)})


def test_a_stranded_task_gets_a_clear_message_and_is_rescued_by_reissuing_it(app, api, client):
    # The hazard from the issue: a renamed key saved before the check existed strands the verification.
    with app.test_request_context():
        original = forms.get_form("verification").as_dict()
        text = forms.canonical_json(renamed(original, "verification_result", "result"))
        forms._add_version("verification", text, "x" * 64, "editor", None, "renamed before the check")
        db.session.commit()
        db.session.remove()
    inspector, hazard_id, task_id, body = refused_at_verification(api, dict(PASS, result="pass"))
    assert "管理员" in body and "未保存" in body  # in the user's language (Chinese by default)
    page = Person(client, "inspector")
    resp = page.post(f"/tasks/{task_id}?lang=en", {"result": "pass", **PASS})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "process could not continue" in html
    assert "Someone else" not in html and not [w for w in ENGINE_WORDS if w in html]

    with app.app_context():
        failure = db.session.scalar(select(StepFailure).where(StepFailure.task_id == task_id))
        assert failure is not None and failure.attempts == 2 and "verification_result" in failure.reason
        db.session.remove()
    admin_page = Admin(app.test_client())
    library = admin_page.client.get("/admin/processes?lang=en").get_data(as_text=True)
    failing = library.split('hl-failing"', 1)[1].split("</table>", 1)[0]
    assert "政府现场审查" in failing and "审查是否通过?" in failing and "A completion was refused" in failing

    # Saving the original form again is refused while the stranded task holds `result`, unless re-issued.
    resp = admin_page.post_json("/admin/forms/verification", {"definition": original})
    assert resp.status_code == 422 and resp.get_json()["reissue_possible"] is True
    resp = admin_page.post_json("/admin/forms/verification", {"definition": original, "reissue": True})
    assert resp.status_code == 201, resp.get_json()
    complete(inspector, task_id, dict(PASS, verification_result="pass"))
    assert current_task(inspector, hazard_id, "write_off")
    library = admin_page.client.get("/admin/processes?lang=en").get_data(as_text=True)
    assert "hl-failing" not in library  # the task is done: nothing fails any more


def test_one_waiting_task_is_reissued_from_the_form_page(app, api, client):
    officer = api.as_("officer_a")
    hazard = report(officer)
    task_id = current_task(officer, hazard["id"], "assess")
    with app.test_request_context():
        edited = copy.deepcopy(forms.get_form("assess").as_dict())
        edited["description"] = {"zh": "新的说明", "en": "New notes"}
        saved = designer.save_form(admin(), "assess", edited)
        number = saved.number
        db.session.remove()
    person = Admin(client)
    html = person.client.get("/admin/forms/assess?lang=en").get_data(as_text=True)
    assert "隐患排查治理闭环, version 1, step" in html and f'data-task="{task_id}"' in html
    assert "Version 1: 1 waiting task(s)" in html
    resp = person.client.post(f"/admin/tasks/{task_id}/reissue", data={"csrf_token": person.token})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(HumanTask, task_id).form_version_id == forms.get_form("assess").version_id
        assert forms.get_form("assess").number == number
        db.session.remove()
    assert person.client.post("/admin/tasks/99999999999/reissue", data={"csrf_token": person.token}).status_code == 404
    officer_page = Person(app.test_client(), "officer_a")
    assert officer_page.post(f"/admin/tasks/{task_id}/reissue", {}).status_code == 403


def test_a_diagram_failing_at_run_time_answers_in_words_on_page_and_api(app, api, client):
    broken = dd.set_condition(dd.shipped(), "Flow_verification_pass", 'verification_result == "pass" and ghost')
    with app.test_request_context():
        dd.activate_unchecked("hazard_lifecycle", broken)
        db.session.remove()
    inspector, hazard_id, task_id, _body = refused_at_verification(api, dict(PASS, verification_result="pass"))
    page = Person(client, "inspector")
    resp = page.post(f"/tasks/{task_id}", {"verification_result": "pass", **PASS})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "管理员" in html
    assert not [w for w in (*ENGINE_WORDS, "ghost") if w in html]
    assert current_task(inspector, hazard_id, "verification") == task_id  # nothing moved


def test_conditional_rules_as_the_editor_writes_them_are_checked_and_enforced(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        definition = forms.get_form("verification").as_dict()
        definition["fields"].append({"name": "photo_note", "widget": "text", "label": {"zh": "照片说明"},
                                     "showIf": {"field": "verification_result", "equals": "fail"}})
        definition["schema"]["properties"]["photo_note"] = {"type": "string", "maxLength": 200}
        # What the editor's "required only when … is …" adds: to the clause of that condition.
        definition["schema"]["allOf"][0]["then"]["required"].append("photo_note")
        saved = designer.save_form(admin(), "verification", definition)
        form = forms.form_version(saved.id)
        with pytest.raises(ValidationFailed) as missing:
            forms.validate(form, {"verification_result": "fail", "failure_reason": "未接地", **PASS})
        assert set(missing.value.fields) == {"photo_note"}
        forms.validate(form, {"verification_result": "pass", **PASS})  # not required when it passes

        for breakage, field in [
            (lambda d: d["fields"][-1].update(showIf={"field": "nothing_here", "equals": "x"}), "fields.photo_note"),
            (lambda d: d["fields"][-1].update(showIf={"field": "verification_result", "equals": "maybe"}),
             "fields.photo_note"),
            (lambda d: d["fields"][-1].update(showIf={"field": "verification_result"}), "fields.photo_note"),
            (lambda d: d["schema"]["allOf"][0]["then"]["required"].append("ghost"), "schema"),
        ]:
            bad = copy.deepcopy(definition)
            breakage(bad)
            with pytest.raises(ValidationFailed) as refused:
                designer.save_form(admin(), "verification", bad)
            assert field in refused.value.fields, refused.value.fields
        db.session.remove()


def test_the_verification_text_follows_the_timer_and_a_contradicting_text_is_warned(app, api, client):
    shorter = dd.shipped().replace('"P10D"', '"P7D"')
    with app.test_request_context():
        designer.deploy(admin(), "hazard_lifecycle", shorter, note="verify within 7 days")
        db.session.remove()
    hazard_id = at_verification(api)
    inspector = api.as_("inspector")
    task_id = current_task(inspector, hazard_id, "verification")
    form = inspector.get(f"/tasks/{task_id}").get_json()["form"]
    assert "7日内" in form["description"]["zh"] and "within 7 days" in form["description"]["en"]
    page = Person(client, "inspector").client.get(f"/tasks/{task_id}?lang=en").get_data(as_text=True)
    assert "within 7 days" in page and "{deadline_days}" not in page

    person = Admin(app.test_client())
    with app.test_request_context():
        definition = forms.get_form("verification").as_dict()
    definition["fields"][1]["help"] = {"zh": "须在10日内完成审查。", "en": "Verify within 10 days."}
    resp = person.post_json("/admin/forms/verification?lang=en", {"definition": definition})
    assert resp.status_code == 201
    warnings = resp.get_json()["warnings"]
    assert any("10 days" in w and "7 days" in w and "政府现场审查" in w for w in warnings), warnings
    assert re.search(r'id="hl-form-warnings"', person.client.get("/admin/forms/verification").get_data(as_text=True))
    # Changing the timer in the designer: validation warns about the form's text, without refusing the diagram.
    resp = person.post_json("/admin/processes/hazard_lifecycle/validate?lang=en",
                            {"xml": dd.shipped().replace('"P10D"', '"P5D"')})
    result = resp.get_json()
    assert resp.status_code == 200 and result["deployable"] is True, result["problems"]
    assert {w["element_id"] for w in result["warnings"]} == {"verification"}  # the Chinese and the English help
    assert any("5 days" in w["message"] and "10 days" in w["message"] for w in result["warnings"])


def test_a_new_form_takes_any_title_and_gets_a_safe_key(app, client):
    person = Admin(client)
    resp = person.client.get("/admin/new-form?title=" + "张贴告知照片")
    assert resp.status_code == 302 and "/admin/forms/form?" in resp.headers["Location"]
    html = person.client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-new-title="张贴告知照片"' in html
    resp = person.client.get("/admin/forms/张贴告知照片")
    assert resp.status_code == 302 and "new-form" in resp.headers["Location"]
    resp = person.client.get("/admin/new-form?title=Notice photo")
    assert "/admin/forms/notice_photo?" in resp.headers["Location"]
    assert "/admin/forms/assess_2?" in person.client.get("/admin/new-form?title=assess").headers["Location"]
    resp = person.client.get("/admin/new-form?title=")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/forms")
