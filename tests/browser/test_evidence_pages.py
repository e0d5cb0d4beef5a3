"""A major hazard through a returned plan, a failed verification and write-off, in Chromium: each decision page
shows what is decided on, a step sent back says why and is marked "returned", and every role is told of what
arrives — in the inbox and by e-mail at a local SMTP server."""
from __future__ import annotations

import pytest

from app.extensions import db
from tests.browser.axe import assert_accessible
from tests.browser.steps import do_step, fill, in_days, pdf, png, report
from tests.test_notifications import Mailbox, free_port

pytestmark = pytest.mark.browser

PLAN = {"goal": "恢复通风", "measures": "更换防爆风机，增设可燃气体报警", "funds": "180000",
        "responsible_person": "李厂长", "rectification_deadline": in_days(30), "emergency_plan": "停产并设置警戒区"}


@pytest.fixture
def mail(live_app):
    from aiosmtpd.controller import Controller

    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: live_app.config.get(k) for k in ("MAIL_ENABLED", "MAIL_HOST", "MAIL_PORT", "MAIL_SENDER")}
    live_app.config.update(MAIL_ENABLED=True, MAIL_HOST="127.0.0.1", MAIL_PORT=port,
                           MAIL_SENDER="hazardloop@test.local")
    yield mailbox
    live_app.config.update(saved)
    controller.stop()


def send_mail(live_app) -> None:
    from app.services import timers

    with live_app.app_context():
        timers.tick()
        db.session.remove()


def open_task(page, hazard: int) -> None:
    page.goto(f"/hazards/{hazard}")
    page.click(".hl-open-task")
    page.wait_for_selector("#task-form")


def inbox_kinds(page) -> list[str]:
    page.goto("/notifications")
    return page.locator(".hl-notification, [data-kind]").evaluate_all("els => els.map(e => e.dataset.kind)")


def test_a_major_hazard_is_decided_with_its_evidence_in_sight_and_everyone_is_told(browser, live_app, mail):
    officer = browser.login("officer_a")
    hazard = report(officer, {"title": "喷漆房通风系统失效", "description": "巡检时发现风机停转。", "location": "喷漆房",
                              "hazard_type": "unsafe_condition", "photos": [png()]})
    do_step(officer, hazard, {"grade": "major", "responsible_person": "李厂长", "major_criterion": "判定标准第十条"})
    do_step(officer, hazard, PLAN)

    # The principal decides on the plan with the plan on the page, and sends it back.
    principal = browser.login("principal_a")
    open_task(principal, hazard)
    decides_on = principal.locator("#task-evidence").inner_text()
    assert "更换防爆风机，增设可燃气体报警" in decides_on and "180,000" in decides_on and "停产并设置警戒区" in decides_on
    browser.shot(principal, "20-approve-with-plan")
    assert_accessible(principal, "20-approve-with-plan")
    fill(principal, {"plan_decision": "return", "return_reason": "资金未包含防爆电气改造"})
    principal.click("#task-submit")
    principal.wait_for_url(f"**/hazards/{hazard}")

    # The officer is told, sees the "returned" mark, the reason, and a form that starts from the last plan.
    officer.goto("/tasks")
    assert officer.locator('.hl-task[data-hazard] >> text=已退回').count() == 1
    assert "task_returned" in inbox_kinds(officer)
    open_task(officer, hazard)
    assert "资金未包含防爆电气改造" in officer.locator("#task-returned").inner_text()
    assert "李厂长（宏达）" in officer.locator("#task-returned").inner_text()
    assert officer.locator("#f-measures").input_value() == PLAN["measures"]
    browser.shot(officer, "21-returned-plan-prefilled")
    assert_accessible(officer, "21-returned-plan-prefilled")
    fill(officer, {"funds": "260000"})
    officer.click("#task-submit")
    officer.wait_for_url(f"**/hazards/{hazard}")

    open_task(principal, hazard)
    assert "260,000" in principal.locator("#task-evidence").inner_text()
    fill(principal, {"plan_decision": "approve", "report_current_state": "风机损坏，通风不足",
                     "report_harm": "可能引发爆炸", "reported_to_workers_congress": True})
    principal.click("#task-submit")
    principal.wait_for_url(f"**/hazards/{hazard}")

    # The inspector is told, and decides with the plan and the report in sight.
    inspector = browser.login("inspector")
    assert "task_arrived" in inbox_kinds(inspector)
    open_task(inspector, hazard)
    shown = inspector.locator("#task-evidence").inner_text()
    assert "更换防爆风机" in shown and "260,000" in shown and "风机损坏，通风不足" in shown
    browser.shot(inspector, "22-supervision-with-plan-and-report")
    assert_accessible(inspector, "22-supervision-with-plan-and-report")
    fill(inspector, {"plan_review": "accept", "listed": True, "notice_number": "示应急督〔2026〕12号",
                     "supervision_deadline": in_days(45), "supervision_tier": "district"})
    inspector.click("#task-submit")
    inspector.wait_for_url(f"**/hazards/{hazard}")

    do_step(officer, hazard, {"measures_taken": "已更换防爆风机", "after_photos": [png("after.png", (40, 180, 60))],
                              "completed_on": in_days(0)})
    do_step(officer, hazard, {"acceptance_by": "agency", "acceptance_opinion": "整改合格，同意恢复生产",
                              "acceptance_report": [pdf()], "resume_application": True})

    # Verification: the acceptance opinion, who gave it, its report, and the 10-day limit.
    open_task(inspector, hazard)
    shown = inspector.locator("#task-evidence").inner_text()
    assert "整改合格，同意恢复生产" in shown and "评估机构" in shown and "张安全（宏达）" in shown
    assert inspector.locator("#task-evidence .hl-file >> text=report.pdf").count() == 1
    assert "10日审查时限" in inspector.locator("#task-deadline").inner_text() or \
        "10" in inspector.locator("#task-deadline").inner_text()
    browser.shot(inspector, "23-verification-with-acceptance")
    assert_accessible(inspector, "23-verification-with-acceptance")
    fill(inspector, {"verification_result": "fail", "verification_opinion": "风机未接地",
                     "failure_reason": "补做接地并复测", "verified_on": in_days(0)})
    inspector.click("#task-submit")
    inspector.wait_for_url(f"**/hazards/{hazard}")

    officer.goto("/tasks")
    assert officer.locator(".hl-badge-returned").count() == 1
    open_task(officer, hazard)
    assert "补做接地并复测" in officer.locator("#task-returned").inner_text()
    fill(officer, {"after_photos": [png("after-2.png", (40, 60, 180))], "completed_on": in_days(0)})
    officer.click("#task-submit")
    officer.wait_for_url(f"**/hazards/{hazard}")
    do_step(officer, hazard, {"acceptance_by": "agency", "acceptance_opinion": "接地已补做，复测合格",
                              "acceptance_report": [pdf("report-2.pdf")], "resume_application": True})
    do_step(inspector, hazard, {"verification_result": "pass", "verification_opinion": "现场审查合格",
                                "verified_on": in_days(0)})
    do_step(inspector, hazard, {"write_off_document": "示应急销〔2026〕3号"})
    gallery = inspector.locator("#gallery")
    assert gallery.locator(".hl-evidence-photo_after.hl-attempt-rejected img").count() == 1
    assert gallery.locator(".hl-evidence-photo_after:not(.hl-attempt-rejected) img").count() == 1
    assert "第 1 次（未通过）" in gallery.inner_text()
    browser.shot(inspector, "24-written-off-attempts")
    assert_accessible(inspector, "24-written-off-attempts")

    # E-mail: each arrival reached its people at the local SMTP server.
    send_mail(live_app)
    subjects = {to: [m["Subject"] for m in mail.to(f"{to}@demo.hazardloop.local")]
                for to in ("officer_a", "principal_a", "inspector")}
    assert any("已退回" in s for s in subjects["officer_a"]), subjects
    assert sum("新任务" in s for s in subjects["principal_a"]) == 2  # the plan, and the plan again
    assert any("新任务" in s for s in subjects["inspector"]), subjects
