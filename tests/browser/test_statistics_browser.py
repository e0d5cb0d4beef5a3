"""The supervision dashboard (issue 14) in headless Chromium: reachable from the menu, the trend chart drawn,
a number opens its hazards, the drill-down, axe, and the phone width."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.services.demo import seed_hazards
from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser


def test_the_inspector_opens_the_dashboard_drills_down_and_follows_a_number(browser, live_app):
    with live_app.app_context():
        seed_hazards()  # five hazards through the real services: found today, one fixed, one major with a plan
        db.session.remove()
    inspector = browser.login("inspector")
    inspector.click("#hl-nav-statistics")
    inspector.wait_for_selector("#stats-table")
    assert inspector.locator("#card-found").inner_text() == "5"
    assert inspector.locator("#card-fixed").inner_text() == "1"
    assert inspector.locator("#card-five_in_place").inner_text() == "1"
    # The chart is drawn by Chart.js on its canvas (it sets the canvas's size), the numbers are in the table.
    inspector.wait_for_function("document.getElementById('stats-trend').width > 0 && !!window.Chart")
    browser.shot(inspector, "40-statistics-dashboard")
    assert_accessible(inspector, "statistics dashboard")

    inspector.click("#stats-table .hl-drill >> nth=0")
    inspector.wait_for_selector("#stats-table")
    assert "东湖街道" in inspector.locator("#stats-table").inner_text()
    inspector.click("#card-found a")
    inspector.wait_for_selector("#register-total")
    assert inspector.locator("#register-total").get_attribute("data-total") == "5"  # the district: all five

    principal = browser.login("principal_b", width=375, height=740, locale="en-US")
    principal.goto("/statistics?group_by=grade")
    principal.wait_for_selector("#stats-table")
    assert principal.locator("#card-found").inner_text() == "1"
    assert principal.evaluate("document.documentElement.scrollWidth") <= 375
    browser.shot(principal, "phone-statistics-dashboard-en")
    assert_accessible(principal, "statistics dashboard, phone, en")
    # On a wide screen the menu entry is on the header's one line, in English too.
    page = browser.login("inspector", width=1280, locale="en-US")
    page.goto("/language/en?next=/statistics")
    assert page.locator("#hl-nav-statistics").is_visible()
    browser.shot(page, "41-statistics-inspector-en")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    admin = browser.login("admin")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-statistics-admin")
    admin.wait_for_selector("#stats-table")
