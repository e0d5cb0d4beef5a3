"""A member of the public reports on a phone, the bureau answers, the enterprise fixes it without ever learning
who reported, and the reporter follows it to the reward (issue 15)."""
from __future__ import annotations

from datetime import date

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.steps import do_step, in_days, png

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
NAME, MOBILE = "李举报", "13800138000"


def check(page, name: str, browser, width: int | None = None) -> None:
    browser.shot(page, f"public-{name}")
    if width:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} is wider than {width}px"
    assert_accessible(page, f"public {name}")


def follow(page, code: str, pin: str) -> str:
    page.goto("/public/status")
    page.fill("#p-code", code)
    page.fill("#p-pin", pin)
    page.click("#public-status-submit")
    page.wait_for_selector("#public-status")
    return page.locator("#public-status").inner_text()


def test_a_public_report_from_a_phone_to_a_fixed_hazard_and_a_reward(browser):
    # 1. The public: no account, a phone, a photo.
    phone = browser.page(**PHONE)
    phone.goto("/public/report")
    check(phone, "report-zh", browser, 375)
    phone.fill("#p-description", "成品仓库东侧安全出口被大量纸箱堵住，晚上也没有人清理")
    phone.fill("#p-enterprise", "宏达机械制造有限公司")
    phone.fill("#p-seen_on", date.today().isoformat())
    phone.set_input_files("#p-photos", [png("exit.png")])
    phone.fill("#p-name", NAME)
    phone.fill("#p-contact", MOBILE)
    phone.wait_for_selector("form[data-hl-altcha-done]")
    phone.click("#public-report-submit")
    phone.wait_for_selector("#public-code")
    check(phone, "receipt", browser, 375)
    code, pin = phone.inner_text("#public-code").strip(), phone.inner_text("#public-pin").strip()
    assert "已收到" in follow(phone, code, pin)
    check(phone, "status-received", browser, 375)

    english = browser.page(**PHONE, locale="en-US")
    english.goto("/public/report?lang=en")
    assert "Report a hazard to the authorities" in english.inner_text("h1")
    check(english, "report-en", browser, 375)

    # 2. The inspector of the district: the report, the photo, the reporter only on request; accepts it.
    inspector = browser.login("inspector")
    inspector.goto("/public-reports")
    check(inspector, "unit-list", browser)
    inspector.click(f"text={code}")
    inspector.wait_for_selector("#public-report-detail")
    assert NAME not in inspector.content()
    assert inspector.locator(".hl-thumb img").count() == 1
    inspector.click("#reporter-reveal")
    inspector.wait_for_selector("#reporter-details")
    assert NAME in inspector.inner_text("#reporter-details") and MOBILE in inspector.inner_text("#reporter-details")
    check(inspector, "unit-detail", browser)
    # Inspectors of the unit share the queue: the inspector takes the answer step from the report's page.
    inspector.click("#open-steps .hl-claim")
    inspector.wait_for_selector(".hl-flash.alert-success")
    assert inspector.locator("#open-steps .hl-release").count() == 1
    inspector.click("text=受理：为企业登记隐患")
    inspector.fill("#a-title", "成品仓库安全出口被纸箱堵塞")
    inspector.fill("#a-location", "成品仓库东侧安全出口")
    inspector.select_option("#a-hazard_type", "unsafe_condition")
    inspector.fill("#a-outcome", "已受理，已责令企业立即清理")
    inspector.click("#answer-accept-submit")
    inspector.wait_for_selector(".hl-flash.alert-success")
    hazard = int(inspector.get_attribute("#public-report-hazard", "href").rsplit("/", 1)[1])

    # 3. The enterprise: a hazard from a public report, and no trace of the reporter.
    officer = browser.login("officer_a")
    officer.goto(f"/hazards/{hazard}")
    text = officer.content()
    for secret in (NAME, MOBILE, code, pin):
        assert secret not in text
    assert "群众举报" in officer.inner_text("main") or "public" in officer.inner_text("main").lower()
    refused = officer.goto("/public-reports")  # the unit's list: not for an enterprise (as its menu, which lacks it)
    assert refused.status == 403 and code not in officer.content()

    # 4. The hazard runs its normal lifecycle to closed.
    do_step(officer, hazard, {"grade": "general", "responsible_person": "张安全", "measures": "清理纸箱，设置禁止堆放标识",
                              "rectification_deadline": in_days(2)})
    do_step(officer, hazard, {"measures_taken": "已清理", "after_photos": [png("after.png", (40, 160, 60))],
                              "completed_on": in_days(0)})
    principal = browser.login("principal_a")
    do_step(principal, hazard, {"review_result": "pass"})

    # 5. The reporter reads the outcome.
    status = follow(phone, code, pin)
    assert "已整改" in status and "已受理，已责令企业立即清理" in status
    check(phone, "status-fixed", browser, 375)

    # 6. A reward: proposed by the inspector, approved by the head of the bureau, read by the reporter.
    inspector.goto("/public-reports")
    inspector.click(f"text={code}")
    inspector.fill("#w-amount", "500")
    inspector.fill("#w-reason", "举报属实，隐患已整改")
    inspector.click("#reward-propose-submit")
    inspector.wait_for_selector(".hl-flash.alert-success")
    head = browser.login("bureau_head")
    head.goto("/public-reports")
    head.click(f"text={code}")
    head.click("#reward-approve")
    head.wait_for_selector(".hl-flash.alert-success")
    assert "已同意" in head.inner_text("#reward-status")
    head.goto("/public-rewards")
    assert code in head.inner_text("#reward-ledger")
    check(head, "ledger", browser)
    status = follow(phone, code, pin)
    assert "¥500" in status
    check(phone, "status-reward", browser, 375)
