"""Decisions with their evidence in sight: what each task page shows above its form, steps sent back (reason,
"returned" mark, the form starting from the last submission), files filed by kind, and arrivals notified."""
from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import select

from app.engine.specs import parse_process
from app.extensions import db
from app.models import Attachment, Notification, OutboxEmail, User
from app.services import forms
from tests.deadline_steps import Person, tick, told
from tests.helpers import complete, current_task, in_days, report, upload, upload_pdf

ROOT = Path(__file__).resolve().parents[1]
PLAN = {"measures": "更换防爆风机，增设可燃气体报警", "funds": 180000, "rectification_deadline": in_days(30),
        "responsible_person": "李厂长", "emergency_plan": "停产并设置警戒区"}
APPROVE = {"plan_decision": "approve", "report_current_state": "风机损坏，通风不足", "report_harm": "可能引发爆炸",
           "reported_to_workers_congress": True}
ACCEPT = {"plan_review": "accept", "listed": True, "notice_number": "示应急督〔2026〕12号",
          "supervision_deadline": in_days(45)}


def page(person: Person, path: str):
    resp = person.get(path)
    assert resp.status_code == 200, resp.status_code
    return lxml.html.fromstring(resp.get_data(as_text=True))


SIMPLE = re.compile(r'#([\w-]+)|\.([\w-]+)|\[([\w-]+)="([^"]*)"\]')


def select_all(tree, css: str) -> list:
    """Elements matching descendant selectors of ids, classes and [attr="value"] (lxml without cssselect)."""
    path = ""
    for part in css.split():
        tests = []
        for id_, cls, attr, value in SIMPLE.findall(part):
            if id_:
                tests.append(f'@id="{id_}"')
            elif cls:
                tests.append(f'contains(concat(" ", normalize-space(@class), " "), " {cls} ")')
            else:
                tests.append(f'@{attr}="{value}"')
        path += "//*" + "".join(f"[{t}]" for t in tests)
    return tree.xpath(path)


def text(tree, css: str) -> str:
    return " ".join(" ".join(e.text_content().split()) for e in select_all(tree, css))


def major_to_approval(api) -> int:
    officer = api.as_("officer_a")
    h = report(officer, title="喷漆房通风系统失效")
    complete(officer, current_task(officer, h["id"], "assess"), {
        "grade": "major", "responsible_person": "李厂长", "major_criterion": "判定标准第十条"})
    complete(officer, current_task(officer, h["id"], "plan"), PLAN)
    return h["id"]


def to_supervision(api, hazard_id: int) -> None:
    principal = api.as_("principal_a")
    complete(principal, current_task(principal, hazard_id, "approve_report"), APPROVE)


def to_verification(api, hazard_id: int, photo: int | None = None) -> None:
    officer = api.as_("officer_a")
    complete(officer, current_task(officer, hazard_id, "rectify_major"), {
        "measures_taken": "已更换防爆风机", "after_photos": [photo or upload(officer)], "completed_on": in_days(0)})
    complete(officer, current_task(officer, hazard_id, "acceptance"), {
        "acceptance_by": "agency", "acceptance_opinion": "整改合格，同意恢复生产",
        "acceptance_report": [upload_pdf(officer)], "resume_application": True})


# ------------------------------------------------------------------------------------ from the diagram
def test_each_user_task_knows_the_steps_before_it_walking_back_over_gateways():
    parsed = parse_process((ROOT / "bpmn" / "hazard_lifecycle.bpmn").read_bytes(), "hazard_lifecycle")
    before = {name: set(meta.predecessors) for name, meta in parsed.user_tasks.items()}
    assert before["approve_report"] == {"plan"}
    assert before["supervision_decision"] == {"approve_report"}  # over the plan gateway
    assert before["verification"] == {"acceptance"}  # not through the 10-day boundary timer
    assert before["plan"] == {"assess", "approve_report", "supervision_decision"}  # first time, and both returns
    assert before["rectify_major"] == {"supervision_decision", "verification"}
    assert before["assess"] == set()


def test_the_principal_approves_with_the_plan_on_the_page(api, app, client):
    hazard_id = major_to_approval(api)
    principal = Person(client, "principal_a")
    tree = page(principal, f"/tasks/{current_task(api.as_('principal_a'), hazard_id, 'approve_report')}?lang=en")
    shown = text(tree, "#task-evidence")
    assert "更换防爆风机" in shown and "180,000" in shown.replace("¥", "") and "停产并设置警戒区" in shown
    assert "Measures" in shown and "Funds" in shown and "Emergency plan" in shown  # the form's labels, in English
    assert "李厂长" in shown and "张安全" in shown  # the responsible person, and who wrote the plan
    assert not select_all(tree, "#task-returned")


def test_the_supervision_decision_shows_the_plan_named_in_its_form_and_the_report(api, app, client):
    hazard_id = major_to_approval(api)
    to_supervision(api, hazard_id)
    inspector = Person(client, "inspector")
    tree = page(inspector, f"/tasks/{current_task(api.as_('inspector'), hazard_id, 'supervision_decision')}")
    steps = [e.get("data-step") for e in select_all(tree, "#task-evidence .hl-source")]
    assert steps == ["plan", "approve_report"]
    shown = text(tree, "#task-evidence")
    assert "更换防爆风机" in shown and "风机损坏，通风不足" in shown and "可能引发爆炸" in shown


def test_the_government_sends_a_plan_back_and_the_redone_plan_shows_why_is_marked_and_starts_from_the_last(
        api, app, client):
    hazard_id = major_to_approval(api)
    to_supervision(api, hazard_id)
    inspector = api.as_("inspector")
    complete(inspector, current_task(inspector, hazard_id, "supervision_decision"),
             {"plan_review": "return"}, status=422)  # a return needs its reason
    complete(inspector, current_task(inspector, hazard_id, "supervision_decision"),
             {"plan_review": "return", "return_reason": "资金测算不足，补充防爆电气改造费用"})
    officer_api = api.as_("officer_a")
    task_id = current_task(officer_api, hazard_id, "plan")

    officer = Person(client, "officer_a")
    worklist = page(officer, "/tasks")
    card = select_all(worklist, f'.hl-task[data-task-id="{task_id}"]')[0]
    assert select_all(card, ".hl-badge-returned")
    tree = page(officer, f"/tasks/{task_id}")
    returned = text(tree, "#task-returned")
    assert "资金测算不足" in returned and "周检查" in returned
    assert select_all(tree, "#f-measures")[0].text_content() == PLAN["measures"]  # pre-filled
    assert select_all(tree, "#f-responsible_person")[0].get("value") == "李厂长"
    assert [e.get("data-step") for e in select_all(tree, "#task-evidence .hl-source")] == ["assess", "approve_report"]
    # The first plan was never returned: the assessment's page has no such mark.
    assert not select_all(page(officer, f"/hazards/{hazard_id}"), ".hl-badge-returned")
    assert [n["kind"] for n in told(app, "officer_a", "task_returned")] == ["task_returned"]


def test_a_rejected_verification_files_the_first_photos_as_a_rejected_attempt_and_shows_the_ten_day_limit(
        api, app, client):
    hazard_id = major_to_approval(api)
    to_supervision(api, hazard_id)
    inspector_api = api.as_("inspector")
    complete(inspector_api, current_task(inspector_api, hazard_id, "supervision_decision"), ACCEPT)
    to_verification(api, hazard_id)

    inspector = Person(client, "inspector")
    verification = current_task(inspector_api, hazard_id, "verification")
    tree = page(inspector, f"/tasks/{verification}?lang=en")
    shown = text(tree, "#task-evidence")
    assert "整改合格，同意恢复生产" in shown and "Assessment agency" in shown and "张安全" in shown
    assert select_all(tree, '#task-evidence .hl-file')  # the acceptance report, openable from the evidence
    deadline = text(tree, "#task-deadline")
    assert "10-day verification limit" in deadline and "10 days left" in deadline
    kinds = [g.get("data-kind") for g in select_all(tree, "#task-files .hl-evidence-group")]
    assert kinds == ["photo_after", "acceptance_report"]

    complete(inspector_api, verification, {"verification_result": "fail", "verification_opinion": "风机未接地",
                                           "failure_reason": "补做接地并复测", "verified_on": in_days(0)})
    officer_api = api.as_("officer_a")
    redo = current_task(officer_api, hazard_id, "rectify_major")
    officer = Person(app.test_client(), "officer_a")
    tree = page(officer, f"/tasks/{redo}")
    assert "补做接地并复测" in text(tree, "#task-returned")
    assert select_all(tree, "#f-measures_taken")[0].text_content() == "已更换防爆风机"
    assert select_all(tree, '[data-field="after_photos"] .hl-thumb') == []  # new photos for a new attempt
    to_verification(api, hazard_id)

    detail = page(officer, f"/hazards/{hazard_id}?lang=en")
    after = select_all(detail, "#gallery .hl-evidence-photo_after")
    assert [(g.get("data-attempt"), "hl-attempt-rejected" in g.get("class")) for g in after] == [
        ("1", True), ("2", False)]
    assert "attempt 1 — rejected" in text(detail, "#gallery")
    with app.app_context():
        kinds = {a.evidence_kind for a in db.session.scalars(select(Attachment).where(
            Attachment.hazard_id == hazard_id))}
        db.session.remove()
    assert kinds == {"photo_after", "acceptance_report"}


def test_a_form_definition_names_only_known_kinds_of_evidence_and_steps(app):
    with app.app_context():
        raw = forms.get_form("rectify").as_dict()
        raw["fields"][1]["evidenceKind"] = "selfie"
        raw["evidence"] = ["plan", {"step": "acceptance", "fields": ["acceptance_opinion"]}]
        errors = forms.check_definition("rectify", raw)
        assert "selfie" not in errors["fields.after_photos"] and "photo_after" in errors["fields.after_photos"]
        assert "evidence" not in errors
        raw["evidence"] = [{"step": "plan", "fields": "measures"}]
        assert "evidence" in forms.check_definition("rectify", raw)
        raw["evidence"] = "plan"
        assert "evidence" in forms.check_definition("rectify", raw)
        db.session.remove()


# ------------------------------------------------------------------------------------------ arrivals
def emails(app, address: str) -> list[OutboxEmail]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == address)
                                       .order_by(OutboxEmail.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def test_a_task_that_arrives_tells_each_person_who_may_take_it_once(api, app):
    hazard_id = major_to_approval(api)
    to_supervision(api, hazard_id)
    # The inspection task of enterprise A is for the inspectors of its township station and the units above it.
    arrivals = {u: [n["step"] for n in told(app, u, "task_arrived")] for u in
                ("inspector", "bureau_head", "inspector_west", "principal_a", "officer_a")}
    assert arrivals == {"inspector": ["审查报告并决定挂牌督办"], "bureau_head": ["审查报告并决定挂牌督办"],
                        "inspector_west": [], "principal_a": ["审批方案并双报告"],
                        "officer_a": ["评估分级", "制定治理方案（五落实）"]}
    inspector = api.as_("inspector")
    task_id = current_task(inspector, hazard_id, "supervision_decision")
    assert inspector.post(f"/tasks/{task_id}/claim").status_code == 200
    assert len(told(app, "bureau_head", "task_arrived")) == 1, "claiming tells nobody again"


def test_a_small_group_gets_one_e_mail_per_task_and_a_large_one_a_digest(api, app):
    app.config.update(MAIL_ENABLED=True, NOTIFY_GROUP_EMAIL_MAX=1, NOTIFY_DIGEST_MINUTES=0,
                      MAIL_HOST="127.0.0.1", MAIL_PORT=9)  # nothing listens: the outbox keeps what was written
    hazard_id = major_to_approval(api)
    to_supervision(api, hazard_id)
    to_supervision_again = major_to_approval(api)
    to_supervision(api, to_supervision_again)
    tick(app)
    officer_mails = emails(app, "officer_a@demo.hazardloop.local")
    assert len(officer_mails) == 4  # alone in the group: assess and plan of each hazard, one e-mail each
    assert all("/notifications/" in m.body for m in officer_mails)
    [digest] = emails(app, "inspector@demo.hazardloop.local")  # two inspectors may take it: > 1, a digest
    assert "2" in digest.subject and digest.body.count("/notifications/") == 2
    with app.app_context():
        assert db.session.scalar(select(Notification).where(Notification.email.is_not(None))) is None
        inspector = db.session.scalar(select(User).where(User.username == "inspector"))
        assert len(db.session.scalars(select(Notification).where(
            Notification.user_id == inspector.id, Notification.kind == "task_arrived")).all()) == 2
        db.session.remove()


def test_without_mail_arrivals_only_reach_the_inbox(api, app):
    major_to_approval(api)
    tick(app)
    assert emails(app, "officer_a@demo.hazardloop.local") == []
    assert len(told(app, "officer_a", "task_arrived")) == 2


@pytest.mark.parametrize("lang,expected", [("en", "New task:"), ("zh", "新任务")])
def test_arrivals_read_in_the_readers_language(api, app, client, lang, expected):
    major_to_approval(api)
    html = Person(client, "officer_a").get(f"/notifications?lang={lang}").get_data(as_text=True)
    assert expected in html
