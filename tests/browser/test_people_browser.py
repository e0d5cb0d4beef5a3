"""People in a browser: an administrator creates an officer on a phone; the officer signs in with the one-time
password, is held on the change-password page until they replace it, then reaches their work."""
from __future__ import annotations

import pytest

from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
NEW_PASSWORD = "copper-kettle-rain-47"


def fits(page, name: str, browser) -> None:
    browser.shot(page, f"people-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{name} is {width}px wide at a 375px viewport"
    assert_accessible(page, f"people {name}")


def test_a_new_officer_must_replace_the_one_time_password_before_anything_else(browser):
    admin = browser.login("admin", **PHONE)
    admin.click(".navbar-toggler")
    admin.click("#hl-nav-admin-toggle")  # People is in the Administration menu
    admin.click("#hl-nav-people")
    admin.wait_for_selector("#people-list")
    fits(admin, "list", browser)
    admin.click("#people-new")
    admin.fill("#f-username", "officer_new")
    admin.fill("#f-display_name", "周新")
    admin.fill("#f-mobile", "138 0013 8000")
    admin.select_option("#f-role", "officer")
    admin.select_option("#f-organisation_id", label="宏达机械制造有限公司")
    fits(admin, "form", browser)
    admin.click("#person-save")
    one_time = admin.locator("#one-time-password").inner_text().strip()
    fits(admin, "one-time-password", browser)

    officer = browser.page(**PHONE)
    officer.goto("/login")
    officer.fill("#username", "officer_new")
    officer.fill("#password", one_time)
    officer.click("#login-submit")
    officer.wait_for_url("**/profile/password")
    assert officer.locator("#password-one-time").is_visible()
    officer.goto("/hazards")
    officer.wait_for_url("**/profile/password")
    officer.fill("#f-current_password", one_time)
    officer.fill("#f-new_password", "officer_new12")
    officer.fill("#f-new_password_again", "officer_new12")
    officer.click("#password-save")
    officer.wait_for_selector("#f-new_password-error")
    fits(officer, "weak-password", browser)
    officer.fill("#f-current_password", one_time)
    officer.fill("#f-new_password", NEW_PASSWORD)
    officer.fill("#f-new_password_again", NEW_PASSWORD)
    officer.click("#password-save")
    officer.wait_for_url("**/profile")
    assert "13800138000" in officer.locator("#profile").inner_text()
    fits(officer, "profile", browser)
    officer.goto("/tasks")
    officer.wait_for_url("**/tasks")
