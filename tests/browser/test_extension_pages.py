"""Asking for more time from a hazard's page, and deciding it from the same page, in headless Chromium."""
from __future__ import annotations

import pytest

from tests.browser.steps import do_step, fill, hazard_id, in_days

pytestmark = pytest.mark.browser


def test_the_officer_asks_for_more_time_on_the_hazard_page_and_the_principal_decides_from_it(browser):
    officer = browser.login("officer_a")
    officer.click("#hl-nav >> text=报告隐患")
    officer.wait_for_selector("#report-form")
    fill(officer, {"title": "消防通道堆放杂物", "description": "仓库东侧消防通道堆放纸箱", "location": "成品仓库东侧",
                   "hazard_type": "unsafe_condition"})
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)
    assert officer.locator("#request-extension").count() == 0
    do_step(officer, hazard, {"grade": "general", "responsible_person": "张安全", "measures": "清理杂物",
                              "rectification_deadline": in_days(3)})
    officer.wait_for_selector('#hl-diagram[data-state="ready"]')
    browser.shot(officer, "30-detail-ask-for-more-time")

    officer.click("#request-extension")
    officer.wait_for_selector("#extension-form")
    officer.fill("#f-requested_deadline", in_days(10))
    officer.fill("#f-reason", "需协调叉车转运，周末完成")
    officer.click("#extension-form button[type=submit]")
    officer.goto(f"/hazards/{hazard}")
    assert officer.locator("#extension-pending").is_visible() and officer.locator("#request-extension").count() == 0

    principal = browser.login("principal_a", width=375, height=740)
    principal.goto(f"/hazards/{hazard}")
    assert principal.locator("#extension-pending").is_visible()
    browser.shot(principal, "phone-detail-extension-pending")
    assert principal.evaluate("document.documentElement.scrollWidth") <= 375
    principal.click("#decide-extension")
    principal.wait_for_selector("#decision-form")
    principal.click("#decision-form button[value=approve]")
    principal.wait_for_selector('#extension-status[data-status="approved"]')
    principal.goto(f"/hazards/{hazard}")
    assert principal.locator("#extension-pending").count() == 0
    assert principal.locator('[data-fact="deadline"]').inner_text() == in_days(10)
