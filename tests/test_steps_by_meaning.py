"""Issue 15/14 follow-up: steps found by what they are, not by the form's name.

A triage whose answer step shows a copy of public_triage (same fields, another key) still opens a hazard and sets
the report's status; the reward forms likewise. The first-answer deadline comes from the instance's deadline timer,
the "report received" notice from the arrival of whatever step opens first. Deploying refuses a triage whose answer
step's form lacks the decision field, and a file field on a periodic or public report's step (their pages take no
files). The periodic report's page shows and completes every open step; two generic steps on one page never share
an HTML id."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    HumanTask,
    Notification,
    PeriodicReport,
    ProcessVersion,
    PublicReport,
    PublicReportStatus,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
)
from app.services import designer, forms, lifecycle, periodic_reports, processes, public_reports, triage_forms
from app.services.form_usage import FormInUse
from tests.test_public_reports import ACCEPT, _answer, _csrf, _report_id, _signed_in, send
from tests.test_triage_steps import REVIEW_FORM, _deploy_with_review, _open, _user


def _active_xml(key: str) -> str:
    return db.session.scalar(sa.select(ProcessVersion.bpmn_xml).where(ProcessVersion.process_key == key,
                                                                      ProcessVersion.active.is_(True)))


def _copy_form(source: str, key: str, **changes) -> None:
    forms.save_form(_user("admin").id, key, {**forms.get_form(source).as_dict(), "key": key, **changes})


def _deploy_triage_with_copies(app) -> None:
    """The triage with every known step pointed at a copy of its form (same fields, other keys)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for source in ("public_triage", "public_reward_propose", "public_reward_decide"):
            _copy_form(source, f"{source}_v2")
        xml = _active_xml(lifecycle.TRIAGE_PROCESS)
        for source in ("public_triage", "public_reward_propose", "public_reward_decide"):
            xml = xml.replace(f'value="{source}"', f'value="{source}_v2"')
        designer.deploy(_user("admin"), lifecycle.TRIAGE_PROCESS, xml, note="copied forms")
        db.session.remove()


def test_a_copied_answer_form_still_opens_the_hazard_and_the_reward_forms_keep_their_effects(app, api):
    _deploy_triage_with_copies(app)
    report_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        [task] = _open(report_id)
        assert task.form_key == "public_triage_v2"
    [step] = api.as_("inspector").get(f"/public-reports/{report_id}").get_json()["current_tasks"]
    assert step["action"] == "answer"
    inspector = _signed_in(app, "inspector")
    page = inspector.get(f"/public-reports/{report_id}").get_data(as_text=True)
    assert 'id="answer-accept"' in page and f'id="step-form-{task.id}"' not in page
    assert _answer(inspector, report_id, "accept", **ACCEPT).status_code == 302
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        assert report.status == PublicReportStatus.accepted and report.hazard_id is not None
        [propose] = _open(report_id)
        assert propose.form_key == "public_reward_propose_v2"
    token = _csrf(inspector, f"/public-reports/{report_id}")
    resp = inspector.post(f"/public-reports/{report_id}/reward",
                          data={"csrf_token": token, "reward": "propose", "amount": "200", "reason": "属实"})
    assert resp.status_code == 302
    head = _signed_in(app, "bureau_head")
    token = _csrf(head, f"/public-reports/{report_id}")
    resp = head.post(f"/public-reports/{report_id}/reward/decision", data={"csrf_token": token, "approve": "1"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.text("select status from public_reward where public_report_id = :r"),
                                 {"r": report_id}) == "approved"


def test_the_first_answer_deadline_is_the_instances_deadline_timer_whatever_the_steps_are_called(app, api):
    _deploy_triage_with_copies(app)
    report_id = _report_id(app, send(app.test_client(), app)["tracking_code"])
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        timer = db.session.scalar(sa.select(Timer).where(Timer.instance_id == report.instance_id,
                                                         Timer.kind == TimerKind.engine,
                                                         Timer.status == TimerStatus.pending))
        assert timer.deadline == triage_forms.FIRST_ANSWER
        # The task's own due time is not what is read: the timer row the scheduler fires is.
        [task] = _open(report_id)
        task.due_at = None
        db.session.commit()
        assert public_reports.answer_deadlines([report]) == {report_id: timer.due_at}
        due = timer.due_at
    [item] = [i for i in api.as_("inspector").get("/public-reports").get_json()["items"] if i["id"] == report_id]
    assert item["answer_due"][:10] == due.date().isoformat()


def test_the_received_notice_comes_with_whatever_step_opens_first(app):
    _deploy_with_review(app)  # a section chief's review (its own form) before the answer
    code = send(app.test_client(), app)["tracking_code"]
    with app.app_context():
        rows = db.session.scalars(sa.select(Notification).where(Notification.kind == "public_report_received")).all()
        assert rows and all(json.loads(r.params)["code"] == code for r in rows)
        assert {json.loads(r.params)["step"] for r in rows} == {"科长审核"}


def _refused(app, key: str, xml: str) -> list[str]:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(processes.DiagramInvalid) as refused:
            designer.deploy(_user("admin"), key, xml)
        db.session.rollback()
        return [p["message"] for p in refused.value.problems]


def test_deploy_refuses_a_triage_whose_answer_step_lacks_the_decision_field(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        forms.save_form(_user("admin").id, "section_review", REVIEW_FORM)
        xml = _active_xml(lifecycle.TRIAGE_PROCESS).replace('value="public_triage"', 'value="section_review"')
        db.session.commit()
    messages = _refused(app, lifecycle.TRIAGE_PROCESS, xml)
    assert any("“decision”" in m and "accept, merge, refer, reject" in m for m in messages), messages
    # A copy with only three of the four answers is not the answer either.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        copy = forms.get_form("public_triage").as_dict()
        copy["schema"]["properties"]["decision"]["enum"] = ["accept", "merge", "reject"]
        copy["fields"] = [f if f["name"] != "decision" else
                          {**f, "choices": [c for c in f["choices"] if c["value"] != "refer"]} for f in copy["fields"]]
        forms.save_form(_user("admin").id, "triage_three", {**copy, "key": "triage_three"})
        xml = _active_xml(lifecycle.TRIAGE_PROCESS).replace('value="public_triage"', 'value="triage_three"')
        db.session.commit()
    assert any("“decision”" in m for m in _refused(app, lifecycle.TRIAGE_PROCESS, xml))


FILE_FIELD = {"name": "photos", "widget": "attachments", "label": {"zh": "照片", "en": "Photos"}}


def test_a_file_field_is_refused_on_a_report_or_triage_step_at_deploy_and_when_the_form_is_saved(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        review = {**REVIEW_FORM, "key": "review_files", "fields": [*REVIEW_FORM["fields"], FILE_FIELD]}
        review["schema"] = {**REVIEW_FORM["schema"], "properties": {
            **REVIEW_FORM["schema"]["properties"], "photos": {"type": "array", "items": {"type": "integer"}}}}
        forms.save_form(_user("admin").id, "review_files", review)
        xml = _active_xml(lifecycle.REPORT_PROCESS).replace('value="report_sign"', 'value="review_files"')
        db.session.commit()
    messages = _refused(app, lifecycle.REPORT_PROCESS, xml)
    assert any("photos" in m and "no files" in m for m in messages), messages
    # A form a live report step shows cannot get a file field afterwards.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        sign = forms.get_form("report_sign").as_dict()
        sign["fields"] = [*sign["fields"], FILE_FIELD]
        sign["schema"]["properties"]["photos"] = {"type": "array", "items": {"type": "integer"}}
        with pytest.raises(FormInUse) as refused:
            designer.save_form(_user("admin"), "report_sign", sign)
        assert "no files" in refused.value.message and "主要负责人签字" in refused.value.extra["problems"][0]


PARALLEL = """<bpmn:parallelGateway id="fork">
      <bpmn:incoming>Flow_start_fork</bpmn:incoming>
      <bpmn:outgoing>Flow_start_prepare</bpmn:outgoing>
      <bpmn:outgoing>Flow_fork_check1</bpmn:outgoing>
      <bpmn:outgoing>Flow_fork_check2</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:userTask id="check1" name="现场复核一">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="section_review"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>Flow_fork_check1</bpmn:incoming>
      <bpmn:outgoing>Flow_check1_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="check2" name="现场复核二">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="section_review"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>Flow_fork_check2</bpmn:incoming>
      <bpmn:outgoing>Flow_check2_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_check1"><bpmn:incoming>Flow_check1_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_check2"><bpmn:incoming>Flow_check2_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_start_fork" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="Flow_fork_check1" sourceRef="fork" targetRef="check1"/>
    <bpmn:sequenceFlow id="Flow_fork_check2" sourceRef="fork" targetRef="check2"/>
    <bpmn:sequenceFlow id="Flow_check1_end" sourceRef="check1" targetRef="end_check1"/>
    <bpmn:sequenceFlow id="Flow_check2_end" sourceRef="check2" targetRef="end_check2"/>
    <bpmn:sequenceFlow id="Flow_start_prepare" sourceRef="fork" targetRef="prepare"/>
    """


def test_every_open_step_of_a_periodic_report_is_shown_and_done_on_its_page_with_ids_of_its_own(app, api):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        forms.save_form(_user("admin").id, "section_review", REVIEW_FORM)
        xml = _active_xml(lifecycle.REPORT_PROCESS)
        xml = xml.replace('<bpmn:outgoing>Flow_start_prepare</bpmn:outgoing>\n    </bpmn:startEvent>',
                          '<bpmn:outgoing>Flow_start_fork</bpmn:outgoing>\n    </bpmn:startEvent>')
        xml = xml.replace('<bpmn:sequenceFlow id="Flow_start_prepare" sourceRef="start" targetRef="prepare"/>', PARALLEL)
        xml = xml.replace('<bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>',
                          '<bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>fork</bpmn:flowNodeRef>'
                          '<bpmn:flowNodeRef>check1</bpmn:flowNodeRef><bpmn:flowNodeRef>check2</bpmn:flowNodeRef>'
                          '<bpmn:flowNodeRef>end_check1</bpmn:flowNodeRef><bpmn:flowNodeRef>end_check2</bpmn:flowNodeRef>')
        designer.deploy(_user("admin"), lifecycle.REPORT_PROCESS, xml, note="two checks beside the preparing")
        periodic_reports.open_period("2026Q1")
        officer = _user("officer_a")
        report_id = db.session.scalar(sa.select(PeriodicReport.id).where(
            PeriodicReport.enterprise_id == officer.organisation_id, PeriodicReport.period == "2026Q1"))
        by_spec = dict(db.session.execute(sa.select(HumanTask.spec_name, HumanTask.id).where(
            HumanTask.report_id == report_id, HumanTask.status == TaskStatus.open)).all())
        db.session.remove()
    assert sorted(by_spec) == ["check1", "check2", "prepare"]
    open_ids = sorted(by_spec.values())
    client = _signed_in(app, "officer_a")
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    for task_id in open_ids:
        assert f'id="report-form-{task_id}"' in page and f'action="/reports/{report_id}/steps/{task_id}"' in page
    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert [i for i, n in ids.items() if n > 1] == []
    assert page.count('name="opinion"') == 2
    # The API lists every open step too.
    listed = api.as_("officer_a").get(f"/reports/periodic/{report_id}").get_json()["current_tasks"]
    assert sorted(t["id"] for t in listed) == open_ids
    # The second check is done first, with its own form; the others stay open.
    check2 = by_spec["check2"]
    token = _csrf(client, f"/reports/{report_id}")
    resp = client.post(f"/reports/{report_id}/steps/{check2}", data={"csrf_token": token, "opinion": ""})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f't{check2}-f-opinion-error' in text
    resp = client.post(f"/reports/{report_id}/steps/{check2}", data={"csrf_token": token, "opinion": "已复核"})
    assert resp.status_code == 302
    resp = client.post(f"/reports/{report_id}/steps/{check2}", data={"csrf_token": token, "opinion": "again"})
    assert resp.status_code == 409 and 'id="report-refused"' in resp.get_data(as_text=True)
    resp = client.post(f"/reports/{report_id}/steps/{by_spec['prepare']}",
                       data={"csrf_token": token, "figures_checked": "true"})
    assert resp.status_code == 302
    with app.app_context():
        still = set(db.session.scalars(sa.select(HumanTask.spec_name).where(
            HumanTask.report_id == report_id, HumanTask.status == TaskStatus.open)))
        assert still == {"check1", "sign"}  # the first check still waits beside the signature
        assert json.loads(db.session.get(PeriodicReport, report_id).figures)["found"] >= 0
