"""Issue 17's acceptance: an administrator makes the three change requests in the Chinese UI alone — the bureau
head approves the write-off of major hazards (a 局领导 lane, four-eyes against the write-off), verification within
7 days instead of 10 (the timer's days field), a required photo of the posted notice on the supervision decision
(the form editor) — deploys, and a hazard goes through each change."""
from __future__ import annotations

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.steps import (
    do_step,
    fill,
    hazard_id,
    in_days,
    png,
    rectify_and_apply_for_acceptance,
    status,
)
from tests.browser.test_designer_modeler_zh import FLOW_MIDDLE, PROPS, SELECT, drop, open_designer
from tests.browser.test_lifecycle_pages import report_through_the_page

pytestmark = pytest.mark.browser

LANES = "() => window.hlDesigner.modeler.get('elementRegistry').filter(e => e.type === 'bpmn:Lane').map(e => e.id)"
SHOW = "id => { const m = window.hlDesigner.modeler; m.get('canvas').scrollToElement(m.get('elementRegistry').get(id)); }"
EXPRESSION = """id => window.hlDesigner.modeler.get('elementRegistry').get(id).businessObject
  .eventDefinitions[0].timeDuration.body"""


def add_bureau_head_step(browser, admin) -> None:
    """(a) A 局领导 lane below the inspectors' and the approval step after the write-off in it, four-eyes."""
    before = set(admin.evaluate(LANES))
    admin.evaluate(SELECT, "Lane_inspector")
    admin.locator('.djs-context-pad .entry[data-action="lane-insert-below"]').click()
    lane = next(iter(set(admin.evaluate(LANES)) - before))
    admin.evaluate(SELECT, lane)
    admin.wait_for_selector(f'#hl-panel-body[data-element="{lane}"]')
    admin.select_option('#hl-panel-body [data-prop="laneName"]', "局领导")

    admin.evaluate(SHOW, "Flow_write_off_end")
    x, y = admin.evaluate(FLOW_MIDDLE, "Flow_write_off_end")
    step = drop(admin, "create.user-task", x, y)
    admin.wait_for_selector("#hl-task-modal.show")
    admin.fill("#hl-task-name", "局领导审批销号")
    admin.select_option("#hl-task-lane", lane)
    admin.select_option("#hl-task-form", "review")
    admin.click("#hl-task-confirm")
    admin.wait_for_selector(f'#hl-panel-body[data-element="{step}"]')
    admin.select_option('#hl-panel-body [data-prop="status"]', label="待核销")
    choices = admin.locator('#hl-panel-body [data-prop="differentPersonFrom"] option').all_inner_texts()
    assert "核销销号" in choices and "政府现场审查" in choices
    admin.select_option('#hl-panel-body [data-prop="differentPersonFrom"]', label="核销销号")
    assert admin.evaluate(PROPS, step)["differentPersonFrom"] == "write_off"
    admin.evaluate(SHOW, step)
    browser.shot(admin, "change-requests-01-bureau-head-step-four-eyes")


def verify_within_7_days(browser, admin) -> None:
    """(b) The verification timer in days: 10 → 7."""
    admin.evaluate(SELECT, "verification_limit")
    admin.wait_for_selector('#hl-panel-body[data-element="verification_limit"]')
    days = admin.locator('#hl-panel-body [data-prop="timerDays"]')
    assert days.input_value() == "10"
    days.fill("7")
    days.press("Tab")
    assert admin.evaluate(EXPRESSION, "verification_limit") == '"P7D"'
    browser.shot(admin, "change-requests-02-verification-in-7-days")


def deploy(admin) -> None:
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="valid"]', timeout=30_000)
    admin.click("#hl-deploy")
    admin.fill("#hl-deploy-note", "局领导审批销号；七日内审查")
    admin.click("#hl-deploy-confirm")
    admin.wait_for_selector('#hl-designer[data-deployed="2"]', timeout=30_000)


def require_notice_photo(browser, admin) -> None:
    """(c) A required photo of the posted notice on the supervision decision's form."""
    admin.goto("/admin/forms/supervision_decision")
    admin.wait_for_selector("#hl-add-field")
    admin.click("#hl-add-field")
    card = admin.locator("#hl-fields .hl-field-card").last
    card.locator('[data-prop="widget"]').select_option("attachments")
    card = admin.locator("#hl-fields .hl-field-card").last
    card.locator('[data-prop="name"]').fill("notice_photo")
    card.locator('[data-prop="name"]').press("Tab")
    card = admin.locator("#hl-fields .hl-field-card").last
    card.locator('[data-prop="label-zh"]').fill("告示张贴照片")
    card.locator('[data-prop="required"]').select_option("always")
    admin.click("#hl-form-save")
    admin.wait_for_selector('#hl-form-editor[data-saved="2"]')  # its second version
    browser.shot(admin, "change-requests-03-notice-photo-required")


def to_supervision(browser) -> tuple[object, int]:
    officer = browser.login("officer_a")
    hazard = report_major(officer)
    do_step(officer, hazard, {"goal": "恢复通风", "measures": "更换防爆风机", "funds": "180000",
                              "responsible_person": "李厂长", "rectification_deadline": in_days(30),
                              "emergency_plan": "停产并设置警戒区"})
    principal = browser.login("principal_a")
    do_step(principal, hazard, {"plan_decision": "approve", "report_current_state": "风机损坏",
                                "report_harm": "可能引发爆炸", "reported_to_workers_congress": True})
    assert status(principal) == "supervision_review"
    return officer, hazard


def report_major(officer) -> int:
    report_through_the_page(officer, "喷漆房通风系统失效", [png()])
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)
    do_step(officer, hazard, {"grade": "major", "responsible_person": "李厂长",
                              "major_criterion": "工贸企业重大事故隐患判定标准 第十条"})
    return hazard


def test_three_change_requests_made_in_the_chinese_ui_then_a_hazard_goes_through_each(browser):
    admin = browser.login("admin")
    open_designer(admin)
    add_bureau_head_step(browser, admin)
    verify_within_7_days(browser, admin)
    deploy(admin)
    require_notice_photo(browser, admin)

    officer, hazard = to_supervision(browser)
    # (c) The decision cannot be submitted without the notice photo; with it, it goes through.
    inspector = browser.login("inspector")
    inspector.goto(f"/hazards/{hazard}")
    inspector.click(".hl-open-task")
    fill(inspector, {"plan_review": "accept", "listed": True, "notice_number": "示应急督〔2026〕12号",
                     "supervision_deadline": in_days(45), "supervision_tier": "district"})
    assert inspector.locator('[data-field="notice_photo"]').is_visible()
    inspector.click("#task-submit")
    inspector.wait_for_selector(".hl-field-error")
    assert "告示张贴照片" in inspector.locator('[data-field="notice_photo"]').inner_text()
    browser.shot(inspector, "change-requests-04-decision-needs-the-photo")
    fill(inspector, {"notice_photo": [png("notice.png", (30, 90, 200))]})
    inspector.click("#task-submit")
    inspector.wait_for_url(f"**/hazards/{hazard}")
    assert status(inspector) == "rectifying"

    rectify_and_apply_for_acceptance(officer, hazard)
    assert status(officer) == "verifying"
    # (b) The verification is due 7 days from now (the deadline the step shows).
    inspector.goto(f"/hazards/{hazard}")
    assert in_days(7) in inspector.locator('[data-step="verification"]').inner_text()
    do_step(inspector, hazard, {"verification_result": "pass", "verification_opinion": "现场审查合格",
                                "verified_on": in_days(0)})
    do_step(inspector, hazard, {"write_off_document": "示应急销〔2026〕3号"})
    assert status(inspector) == "writing_off"

    # (a) The write-off waits for the bureau head; the inspector who wrote off cannot approve it.
    approval = inspector.locator('[data-step]:has-text("局领导审批销号")')
    assert approval.count() == 1 and "局领导" in approval.inner_text()
    assert approval.locator(".hl-open-task").count() == 0
    head = browser.login("bureau_head")
    do_step(head, hazard, {"review_result": "pass", "review_opinion": "同意销号"})
    assert status(head) == "written_off"


def test_the_inspector_who_wrote_off_as_bureau_head_cannot_approve_and_is_told_why(browser):
    admin = browser.login("admin")
    open_designer(admin)
    add_bureau_head_step(browser, admin)
    deploy(admin)
    officer, hazard = to_supervision(browser)
    head = browser.login("bureau_head")  # an inspector with the 局领导 flag: four-eyes is what stops them
    do_step(head, hazard, {"plan_review": "accept", "listed": False})
    rectify_and_apply_for_acceptance(officer, hazard)
    do_step(head, hazard, {"verification_result": "pass", "verification_opinion": "合格", "verified_on": in_days(0)})
    do_step(head, hazard, {"write_off_document": "示应急销〔2026〕4号"})
    head.goto(f"/hazards/{hazard}")
    waiting = head.locator(".hl-waiting")
    assert "双人把关" in waiting.inner_text() and head.locator(".hl-open-task").count() == 0
    browser.shot(head, "change-requests-05-four-eyes-waits-visibly")
    assert_accessible(head, "hazard detail (four-eyes waiting)")


def test_the_positions_page_and_the_person_form(browser):
    admin = browser.login("admin")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-positions")
    admin.fill("#position-name", "车间主任")
    admin.select_option("#position-kind", "enterprise")
    admin.click("#position-add")
    admin.wait_for_selector('#position-table tr[data-position="车间主任"]')
    assert_accessible(admin, "positions")
    browser.shot(admin, "change-requests-06-positions")
    admin.goto("/admin/users")
    admin.click("text=张安全（宏达）")
    admin.check('#person-positions label:has-text("车间主任")')
    admin.fill("#f-email", "zhang.anquan@hongda.cn")  # the demo address is a reserved domain the form refuses
    admin.click("#person-save")
    admin.wait_for_load_state()
    assert admin.locator(".hl-flash.alert-success").count() == 1, admin.locator("main").inner_text()[:1500]
    assert admin.locator('#person-positions input[type="checkbox"]').first.is_checked()
    assert_accessible(admin, "person form with positions")
