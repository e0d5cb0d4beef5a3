"""The closed loop driven through the pages alone, in headless Chromium, by the people who do each step."""
from __future__ import annotations

import pytest

from tests.browser.steps import (
    do_step,
    fill,
    hazard_id,
    in_days,
    png,
    rectify_and_apply_for_acceptance,
    status,
)

pytestmark = pytest.mark.browser


def report_through_the_page(page, title: str, photos=None) -> int:
    page.click("#hl-nav >> text=报告隐患")
    page.wait_for_selector("#report-form")
    values = {"title": title, "description": "巡检时发现，现场已设置临时警示。", "location": "一车间东侧配电房",
              "hazard_type": "unsafe_condition"}
    if photos:
        values["photos"] = photos
    fill(page, values)
    return page


def test_officer_reports_with_a_photo_assesses_and_rectifies_then_the_principal_closes_it(browser):
    officer = browser.login("officer_a")
    assert officer.locator("#worklist-empty").is_visible()
    browser.shot(officer, "01-worklist-empty")

    report_through_the_page(officer, "配电箱门未关闭、无警示标识", [png("before.png")])
    assert officer.locator(".hl-files .hl-kept img").count() == 1  # the photo's preview before sending
    browser.shot(officer, "02-report-form")
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)
    assert status(officer) == "assessing"
    assert officer.locator(".hl-gallery-before img").count() == 1
    assert "YH" in officer.locator(".hl-flash").inner_text()

    # The same step left open in a second tab, sent after it was done in the first: refused, nothing typed is lost.
    stale = officer.context.new_page()
    stale.goto(f"/hazards/{hazard}")
    stale.click(".hl-open-task")
    stale.wait_for_selector("#task-form")
    do_step(officer, hazard, {"grade": "general", "responsible_person": "张安全", "measures": "关闭箱门并张贴警示标识",
                              "rectification_deadline": in_days(7)},
            shot=lambda p: browser.shot(p, "03-task-assess"))
    assert status(officer) == "rectifying"
    fill(stale, {"grade": "general", "responsible_person": "李厂长", "measures": "第二个标签页里写的措施"})
    stale.click("#task-submit")
    stale.wait_for_selector("#task-refused")
    assert "已办理完毕" in stale.locator("#task-refused").inner_text()
    assert stale.locator('#task-entered [data-field="measures"] textarea').input_value() == "第二个标签页里写的措施"
    browser.shot(stale, "03b-task-refused")
    stale.close()
    assert officer.locator('[data-fact="responsible"]').inner_text() == "张安全"

    do_step(officer, hazard, {"measures_taken": "已关闭箱门，张贴警示标识", "after_photos": [png("after.png", (40, 180, 60))],
                              "funds_spent": "350", "completed_on": in_days(0)},
            shot=lambda p: browser.shot(p, "04-task-rectify"))
    assert status(officer) == "reviewing"

    principal = browser.login("principal_a")
    item = principal.locator(f'.hl-task[data-task-id] >> text={"整改复查"}')
    assert item.count() == 1
    browser.shot(principal, "05-worklist-principal")
    principal.locator(".hl-task .btn-primary", has_text="办理").first.click()
    principal.wait_for_selector("#task-form")
    assert principal.locator(".hl-gallery-before img").count() == 1
    assert principal.locator(".hl-gallery-after img").count() == 1
    fill(principal, {"review_result": "pass", "review_opinion": "整改到位"})
    principal.click("#task-submit")
    principal.wait_for_url(f"**/hazards/{hazard}")
    assert status(principal) == "closed"
    assert principal.locator("#hazard-closed").is_visible()
    actions = principal.locator("#timeline .hl-event").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions.count("task_completed") == 3 and actions[-1] == "hazard_reported"
    principal.wait_for_selector('#hl-diagram[data-state="ready"]')
    assert "hl-done" in principal.locator('[data-element-id="review"]').get_attribute("class")
    browser.shot(principal, "06-detail-closed")


def test_a_major_hazard_goes_through_plan_approval_supervision_acceptance_verification_and_write_off(browser):
    officer = browser.login("officer_a")
    report_through_the_page(officer, "喷漆房通风系统失效", [png()])
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)

    officer.goto(f"/hazards/{hazard}")
    officer.click(".hl-open-task")
    # Choosing "major" swaps the general-hazard fields for the criterion (showIf).
    fill(officer, {"grade": "major"})
    assert officer.locator('[data-field="major_criterion"]').is_visible()
    assert not officer.locator('[data-field="measures"]').is_visible()
    fill(officer, {"responsible_person": "李厂长", "major_criterion": "工贸企业重大事故隐患判定标准 第十条"})
    officer.click("#task-submit")
    officer.wait_for_url(f"**/hazards/{hazard}")
    assert status(officer) == "planning"

    do_step(officer, hazard, {"goal": "恢复通风", "measures": "更换防爆风机，增设可燃气体报警", "funds": "180000",
                              "responsible_person": "李厂长", "rectification_deadline": in_days(30),
                              "emergency_plan": "停产并设置警戒区"},
            shot=lambda p: browser.shot(p, "10-task-plan"))
    assert status(officer) == "approving"

    principal = browser.login("principal_a")
    do_step(principal, hazard, {"plan_decision": "approve", "report_current_state": "风机损坏，通风不足",
                                "report_harm": "可能引发爆炸，需停产整改", "reported_to_workers_congress": True})
    assert status(principal) == "supervision_review"

    inspector = browser.login("inspector")
    assert inspector.locator(f'.hl-task >> text={"喷漆房通风系统失效"}').count() == 1
    inspector.goto(f"/hazards/{hazard}")
    inspector.click(".hl-open-task")
    assert not inspector.locator('[data-field="notice_number"]').is_visible()
    fill(inspector, {"plan_review": "accept", "listed": True})
    assert inspector.locator('[data-field="notice_number"]').is_visible()
    fill(inspector, {"notice_number": "示应急督〔2026〕12号", "supervision_deadline": in_days(45),
                     "supervision_tier": "district"})
    browser.shot(inspector, "11-task-supervision")
    inspector.click("#task-submit")
    inspector.wait_for_url(f"**/hazards/{hazard}")
    assert status(inspector) == "rectifying"
    assert inspector.locator("#hazard-badges").inner_text().count("挂牌督办") == 1

    rectify_and_apply_for_acceptance(officer, hazard)
    assert status(officer) == "verifying"

    inspector.goto(f"/hazards/{hazard}")
    inspector.wait_for_selector('#hl-diagram[data-state="ready"]')
    current = inspector.locator('[data-element-id="verification"]')
    assert "hl-current" in current.get_attribute("class")
    for done in ("assess", "plan", "approve_report", "supervision_decision", "rectify_major", "acceptance"):
        assert "hl-done" in inspector.locator(f'[data-element-id="{done}"]').get_attribute("class"), done
    assert "hl-done" not in inspector.locator('[data-element-id="rectify"]').get_attribute("class")
    browser.shot(inspector, "12-detail-verifying-diagram")

    do_step(inspector, hazard, {"verification_result": "pass", "verification_opinion": "现场审查合格",
                                "verified_on": in_days(0)},
            shot=lambda p: browser.shot(p, "13-task-verification"))
    assert status(inspector) == "writing_off"
    do_step(inspector, hazard, {"write_off_document": "示应急销〔2026〕3号"})
    assert status(inspector) == "written_off"
    assert inspector.locator(".hl-gallery-before img").count() == 1
    assert inspector.locator(".hl-gallery-after img").count() == 1
    assert inspector.locator("#gallery .hl-file").count() == 1  # the acceptance report
    browser.shot(inspector, "14-detail-written-off")
