"""What the pages refuse and how they recover: other enterprises' hazards, forms sent with mistakes."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.steps import fill, png, report

pytestmark = pytest.mark.browser


def test_a_user_of_enterprise_b_gets_the_404_page_for_a_hazard_of_enterprise_a(browser):
    officer_a = browser.login("officer_a")
    hazard = report(officer_a, {"title": "冲床防护罩缺失", "description": "防护罩拆除未复原", "location": "二车间冲压线",
                                "hazard_type": "unsafe_condition", "photos": [png()]})
    photo = officer_a.locator(".hl-gallery-before a").first.get_attribute("href")
    task = officer_a.locator(".hl-open-task").get_attribute("href")

    officer_b = browser.login("officer_b")
    response = officer_b.goto(f"/hazards/{hazard}")
    assert response.status == 404
    assert officer_b.locator(".hl-error").get_attribute("data-status") == "404"
    assert "未找到" in officer_b.locator("#error-message").inner_text()
    assert "冲床防护罩缺失" not in officer_b.content()
    # The request id (also in the X-Request-ID header and the JSON log line) is shown to quote to support.
    request_id = response.headers["x-request-id"]
    assert "请求编号" in officer_b.locator("#request-id").inner_text()
    assert request_id in officer_b.locator("#request-id").inner_text()
    assert_accessible(officer_b, "404 page with its request id")
    browser.shot(officer_b, "20-error-404")
    assert officer_b.goto(task).status == 404
    assert officer_b.goto(photo).status == 404
    assert officer_b.goto(f"/hazards/{hazard}/diagram.bpmn").status == 404
    officer_b.goto("/hazards")
    assert "冲床防护罩缺失" not in officer_b.content()
    assert officer_b.locator("#register-empty").is_visible()

    # The West township inspector does not supervise enterprise A either; the district inspector does.
    assert browser.login("inspector_west").goto(f"/hazards/{hazard}").status == 404
    assert browser.login("inspector").goto(f"/hazards/{hazard}").status == 200


def test_a_report_sent_with_mistakes_comes_back_with_input_photo_and_messages_in_chinese_then_english(browser):
    officer = browser.login("officer_a")
    officer.goto("/hazards/new")
    fill(officer, {"description": "消防通道堆放纸箱", "location": "成品仓库", "photos": [png()]})
    officer.click("#report-submit")
    officer.wait_for_selector(".hl-form-errors")
    title_error = officer.locator('[data-field="title"] .hl-field-error').inner_text()
    assert title_error == "此项为必填项。"
    assert officer.locator('[data-field="hazard_type"] .hl-field-error').is_visible()
    assert officer.locator("#f-description").input_value() == "消防通道堆放纸箱"
    assert officer.locator("#f-location").input_value() == "成品仓库"
    kept = officer.locator('[data-field="photos"] .hl-kept input[type="hidden"]')
    assert kept.count() == 1  # the uploaded photo survives the round trip
    browser.shot(officer, "21-report-errors-zh")

    fill(officer, {"title": "消防通道堆放杂物", "hazard_type": "management_defect"})
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    assert officer.locator(".hl-gallery-before img").count() == 1  # kept photo attached without a re-upload
    assert officer.locator("#hazard-title").inner_text() == "消防通道堆放杂物"

    officer.click("text=English")
    officer.wait_for_selector("html[lang=en]")
    assert officer.locator("#current-step").inner_text().count("Assess and grade") == 1
    browser.shot(officer, "22-detail-en")
    officer.click("#hl-nav >> text=Report a hazard")
    fill(officer, {"title": "Boxes in the fire lane", "location": "Finished goods store", "photos": [png()]})
    officer.click("#report-submit")
    officer.wait_for_selector(".hl-form-errors")
    assert officer.locator('[data-field="description"] .hl-field-error').inner_text() == "This field is required."
    assert officer.locator("#f-title").input_value() == "Boxes in the fire lane"
    assert officer.locator("#f-location").input_value() == "Finished goods store"
    assert officer.locator('[data-field="photos"] .hl-kept input[type="hidden"]').count() == 1
    browser.shot(officer, "23-report-errors-en")


def test_a_wrong_password_is_explained_and_repeated_failures_slow_down_that_address(browser, live_app):
    from app.services import login_throttle

    live_app.config["LOGIN_FIRST_DELAY_SECONDS"] = 60  # no race between the browser and a one-second delay
    try:
        page = browser.page()
        page.goto("/login?lang=en")
        for _ in range(live_app.config["LOGIN_FREE_FAILURES"] + 1):
            page.fill("#username", "officer_c")
            page.fill("#password", "wrong")
            page.click("#login-submit")
            page.wait_for_selector("#login-error")
            assert "Wrong user name or password" in page.locator("#login-error").inner_text()
        page.fill("#username", "officer_c")
        page.fill("#password", "hazardloop")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_contain_text("wait 60 seconds")
        browser.shot(page, "24-login-throttled")
    finally:
        live_app.config["LOGIN_FIRST_DELAY_SECONDS"] = 1
        with live_app.app_context():
            login_throttle.unlock("officer_c")  # the server lives for the whole session
