"""Issue 15 follow-up: a triage redesigned in the designer stays completable, and every subject's tasks can be claimed.

An administrator adds a step "科长审核" with its own form before the answer: the report's page offers it (the generic
task form renderer validates it), it is completed through the unit of work, then the answer is given as before.
Claim / release work for a public report's and a periodic report's tasks (services/tasks.py), offered in My work and
on the subject's page; a colleague sees who took it and is refused with a message naming them."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, HumanTask, PeriodicReport, ProcessVersion, PublicReport, TaskStatus, User
from app.services import designer, forms, lifecycle, periodic_reports, tasks
from tests.test_public_reports import ACCEPT, _answer, _csrf, _report_id, _signed_in, send

KEY = lifecycle.TRIAGE_PROCESS

REVIEW_FORM = {
    "key": "section_review",
    "title": {"zh": "科长审核", "en": "Section chief's review"},
    "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "properties": {"opinion": {"type": "string", "minLength": 1, "maxLength": 500}},
               "required": ["opinion"], "additionalProperties": False},
    "fields": [{"name": "opinion", "widget": "textarea", "label": {"zh": "审核意见", "en": "Opinion"}}],
}

REVIEW_TASK = """<bpmn:userTask id="review" name="科长审核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="section_review"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_start_answer</bpmn:incoming>
      <bpmn:outgoing>Flow_review_answer</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_review_answer" sourceRef="review" targetRef="answer"/>
    """


def _user(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def _open(report_id: int) -> list[HumanTask]:
    return list(db.session.scalars(sa.select(HumanTask).where(HumanTask.public_report_id == report_id,
                                                              HumanTask.status == TaskStatus.open)
                                   .order_by(HumanTask.id)))


def _deploy_with_review(app) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        admin = _user("admin")
        forms.save_form(admin.id, "section_review", REVIEW_FORM)
        xml = db.session.scalar(sa.select(ProcessVersion.bpmn_xml).where(ProcessVersion.process_key == KEY,
                                                                          ProcessVersion.active.is_(True)))
        xml = xml.replace('<bpmn:flowNodeRef>answer</bpmn:flowNodeRef>',
                          '<bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n        '
                          '<bpmn:flowNodeRef>answer</bpmn:flowNodeRef>')
        xml = xml.replace('<bpmn:incoming>Flow_start_answer</bpmn:incoming>',
                          '<bpmn:incoming>Flow_review_answer</bpmn:incoming>')
        xml = xml.replace('<bpmn:userTask id="answer"', REVIEW_TASK + '<bpmn:userTask id="answer"')
        xml = xml.replace('sourceRef="start" targetRef="answer"', 'sourceRef="start" targetRef="review"')
        designer.deploy(admin, KEY, xml, note="a section chief's review before the answer")
        db.session.remove()


def test_a_step_added_in_the_designer_is_done_from_the_report_page_then_the_answer(app):
    _deploy_with_review(app)
    report_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        [task] = _open(report_id)
        assert task.form_key == "section_review"
        task_id = task.id
    inspector = _signed_in(app, "inspector")
    page = inspector.get(f"/public-reports/{report_id}").get_data(as_text=True)
    assert f'id="step-form-{task_id}"' in page and 'name="opinion"' in page
    assert 'id="answer-accept"' not in page  # the answer is not open yet
    token = _csrf(inspector, f"/public-reports/{report_id}")
    # The generic renderer validates: the required opinion is missing.
    resp = inspector.post(f"/public-reports/{report_id}/steps/{task_id}", data={"csrf_token": token, "opinion": ""})
    assert resp.status_code == 422 and f'id="step-form-{task_id}"' in resp.get_data(as_text=True)
    resp = inspector.post(f"/public-reports/{report_id}/steps/{task_id}",
                          data={"csrf_token": token, "opinion": "情况属实，同意受理"})
    assert resp.status_code == 302
    with app.app_context():
        [answer] = _open(report_id)
        assert answer.form_key == "public_triage"
        completed = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.chain == f"public_report:{report_id}",
                                                                  AuditEvent.action == "task_completed"))
        assert completed is not None and "情况属实" in completed.data
    # Done already: a second submission is a clear conflict, not a 500.
    resp = inspector.post(f"/public-reports/{report_id}/steps/{task_id}",
                          data={"csrf_token": token, "opinion": "again"})
    assert resp.status_code == 302
    assert _answer(inspector, report_id, "accept", **ACCEPT).status_code == 302
    with app.app_context():
        assert db.session.get(PublicReport, report_id).hazard_id is not None


def test_a_known_step_is_not_completed_through_the_generic_path(app):
    report_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        [task] = _open(report_id)
        task_id = task.id
    inspector = _signed_in(app, "inspector")
    token = _csrf(inspector, f"/public-reports/{report_id}")
    resp = inspector.post(f"/public-reports/{report_id}/steps/{task_id}",
                          data={"csrf_token": token, "decision": "accept"}, follow_redirects=True)
    assert resp.status_code == 409
    with app.app_context():
        assert [t.id for t in _open(report_id)] == [task_id]


def test_a_claimed_triage_task_is_taken_for_colleagues_and_refused_to_them(app):
    report_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        [task] = _open(report_id)
        task_id = task.id
    inspector, head = _signed_in(app, "inspector"), _signed_in(app, "bureau_head")
    # My work offers the claim for a public report's task.
    work = inspector.get("/tasks").get_data(as_text=True)
    assert f'action="/tasks/{task_id}/claim"' in work
    token = _csrf(inspector, f"/public-reports/{report_id}")
    resp = inspector.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "next": f"/public-reports/{report_id}"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/public-reports/{report_id}")
    page = inspector.get(f"/public-reports/{report_id}").get_data(as_text=True)
    assert f'action="/tasks/{task_id}/release"' in page and 'id="answer-accept"' in page
    # The colleague sees who took it, gets no answer form, and is refused with the name.
    page = head.get(f"/public-reports/{report_id}").get_data(as_text=True)
    with app.app_context():
        name = _user("inspector").display_name
    assert "hl-taken" in page and name in page and 'id="answer-accept"' not in page
    resp = _answer(head, report_id, "reject", outcome="不属实")
    assert resp.status_code == 403 and name in resp.get_data(as_text=True)
    resp = head.post(f"/tasks/{task_id}/claim", data={"csrf_token": _csrf(head, f"/public-reports/{report_id}")})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(HumanTask, task_id).assignee_id == _user("inspector").id
        assert db.session.get(PublicReport, report_id).status.value == "received"
    # Released: the colleague may answer.
    assert inspector.post(f"/tasks/{task_id}/release", data={"csrf_token": token}).status_code == 302
    assert 'id="answer-accept"' in head.get(f"/public-reports/{report_id}").get_data(as_text=True)
    with app.app_context():
        chain = list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.chain == f"public_report:{report_id}").order_by(AuditEvent.seq)))
        assert "task_claimed" in chain and "task_released" in chain


def test_claim_and_release_of_a_periodic_reports_step_through_the_same_service(app):
    with app.app_context():
        periodic_reports.open_period("2026Q1")
        officer = _user("officer_a")
        report = db.session.scalar(sa.select(PeriodicReport).where(PeriodicReport.enterprise_id == officer.organisation_id))
        task = db.session.scalar(sa.select(HumanTask).where(HumanTask.report_id == report.id,
                                                           HumanTask.status == TaskStatus.open))
        report_id, task_id = report.id, task.id
        with app.test_request_context(headers={"Accept-Language": "en"}):
            tasks.claim(officer, task_id)
        db.session.remove()
    officer = _signed_in(app, "officer_a")
    page = officer.get(f"/reports/{report_id}").get_data(as_text=True)
    assert f'action="/tasks/{task_id}/release"' in page
    # The task page of a report's step leads to the report.
    resp = officer.get(f"/tasks/{task_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/reports/{report_id}")
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "en"}):
        released = tasks.release(_user("officer_a"), task_id)
        assert released.assignee_id is None
    # Someone who cannot see the report gets 404 for its task.
    other = _signed_in(app, "officer_b")
    resp = other.post(f"/tasks/{task_id}/claim", data={"csrf_token": _csrf(other, "/tasks")})
    assert resp.status_code == 404
    with app.app_context():
        assert db.session.get(HumanTask, task_id).assignee_id is None
        assert re.search("task_claimed", " ".join(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.chain == f"report:{report_id}"))))


def test_a_periodic_reports_steps_pointed_at_copied_forms_still_record_the_figures_and_the_state(app):
    """The /reports/<id> page renders whatever form the open step has; what the step means (recording the figures)
    is known by the form's figures field, not by its name, so a copy of the form made in the designer still works."""
    import json as _json

    with app.test_request_context(headers={"Accept-Language": "en"}):
        admin = _user("admin")
        copy = {**forms.get_form("report_prepare").as_dict(), "key": "report_prepare_copy"}
        forms.save_form(admin.id, "report_prepare_copy", copy)
        xml = db.session.scalar(sa.select(ProcessVersion.bpmn_xml).where(
            ProcessVersion.process_key == lifecycle.REPORT_PROCESS, ProcessVersion.active.is_(True)))
        sign_copy = {**forms.get_form("report_sign").as_dict(), "key": "report_sign_copy"}
        forms.save_form(admin.id, "report_sign_copy", sign_copy)
        designer.deploy(admin, lifecycle.REPORT_PROCESS, xml.replace('value="report_prepare"',
                                                                     'value="report_prepare_copy"')
                        .replace('value="report_sign"', 'value="report_sign_copy"'))
        periodic_reports.open_period("2026Q1")
        officer = _user("officer_a")
        report_id = db.session.scalar(sa.select(PeriodicReport.id).where(
            PeriodicReport.enterprise_id == officer.organisation_id, PeriodicReport.period == "2026Q1"))
        db.session.remove()
    client = _signed_in(app, "officer_a")
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert 'id="report-form-' in page and 'name="figures_checked"' in page
    token = _csrf(client, f"/reports/{report_id}")
    [step] = re.findall(rf'action="(/reports/{report_id}/steps/\d+)"', page)
    resp = client.post(step, data={"csrf_token": token, "figures_checked": "true"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        report = db.session.get(PeriodicReport, report_id)
        assert report.status.value == "signing" and _json.loads(report.figures)["found"] >= 0
    principal = _signed_in(app, "principal_a")
    token = _csrf(principal, f"/reports/{report_id}")
    [step] = re.findall(rf'action="(/reports/{report_id}/steps/\d+)"',
                        principal.get(f"/reports/{report_id}").get_data(as_text=True))
    resp = principal.post(step, data={"csrf_token": token, "sign_decision": "approve"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(PeriodicReport, report_id).status.value == "submitted"
