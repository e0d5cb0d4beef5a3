"""On a phone held in one hand (375 px wide) every key page fits the screen: no sideways scrolling."""
from __future__ import annotations

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.steps import do_step, fill, hazard_id, in_days, png

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


def assert_fits(page, name: str, browser) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    browser.shot(page, f"phone-{name}")
    assert width <= 375, f"{name} is {width}px wide at a 375px viewport"
    assert_accessible(page, f"phone {name}")


def test_key_pages_fit_a_375_pixel_wide_phone_screen(browser):
    login = browser.page(**PHONE)
    login.goto("/login")
    assert_fits(login, "login", browser)

    officer = browser.login("officer_a", **PHONE)
    assert_fits(officer, "worklist-empty", browser)
    # The menu collapses behind the toggler; the report link is one tap away.
    officer.click(".navbar-toggler")
    officer.click("#hl-nav >> text=报告隐患")
    officer.wait_for_selector("#report-form")
    assert officer.locator('input[type="file"][name="photos"]').first.get_attribute("capture") == "environment"
    fill(officer, {"title": "叉车通道地面破损、坑洼明显，易造成叉车侧翻", "description": "成品仓库北侧叉车通道地面破损",
                   "location": "成品仓库北侧叉车通道（靠近3号货架）", "hazard_type": "unsafe_condition", "photos": [png()]})
    assert_fits(officer, "report", browser)
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)
    officer.wait_for_selector('#hl-diagram[data-state="ready"]')
    assert_fits(officer, "detail", browser)

    officer.click(".hl-open-task")
    officer.wait_for_selector("#task-form")
    fill(officer, {"grade": "general"})
    officer.click("#task-submit")  # responsible person, measures and deadline are missing
    officer.wait_for_selector(".hl-form-errors")
    assert_fits(officer, "task-with-errors", browser)
    do_step(officer, hazard, {"grade": "general", "responsible_person": "张安全", "measures": "修补地面",
                              "rectification_deadline": in_days(2)})

    officer.goto("/tasks")
    assert officer.locator(".hl-task").count() == 1
    assert_fits(officer, "worklist", browser)
    officer.goto("/hazards")
    assert_fits(officer, "register", browser)
    officer.goto(f"/hazards/{hazard}")
    assert_fits(officer, "detail-rectifying", browser)

    inspector = browser.login("inspector", **PHONE)
    inspector.goto("/hazards")
    assert inspector.locator("#register-table tbody tr").count() == 1
    assert_fits(inspector, "register-inspector", browser)
    inspector.goto("/hazards/new")
    assert_fits(inspector, "report-inspector", browser)
    assert inspector.goto("/hazards/999999").status == 404
    assert_fits(inspector, "error-404", browser)
