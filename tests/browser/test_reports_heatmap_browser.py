"""Issue 14 in headless Chromium: the enterprise's quarterly report prepared, signed and seen by the bureau, who
reminds the late; and the heatmap on a process version's diagram — overlays, legend, a click to the hazards waiting
there — with axe on every new page and screenshots in test-artifacts/."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services import periodic_reports
from app.services.demo import seed_hazards
from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser


def test_the_quarterly_report_prepared_signed_and_followed_by_the_bureau(browser, live_app):
    with live_app.app_context():
        seed_hazards()
        periodic_reports.open_period("2026Q4")
        db.session.remove()
    officer = browser.login("officer_a")
    officer.click("#hl-reports-link")  # from "My work"
    officer.wait_for_selector("#reports")
    assert_accessible(officer, "reports of an enterprise")
    officer.click("#reports a")
    officer.wait_for_selector('[id^="report-form-"]')
    assert officer.locator('[data-figure="found"]').inner_text() == "4"
    browser.shot(officer, "50-report-prepare")
    assert_accessible(officer, "report, prepare")
    officer.check('[name="figures_checked"]')
    officer.fill('[name="remarks"]', "四季度开展了专项检查")
    officer.click('[id^="report-submit-"]')
    officer.wait_for_selector('[id^="report-not-yours-"]')

    principal = browser.login("principal_a")
    principal.goto(officer.url)
    principal.wait_for_selector('[id^="report-form-"]')
    principal.check('[name="sign_decision"][value="approve"]')
    principal.click('[id^="report-submit-"]')
    principal.wait_for_selector("#report-state .text-bg-success")
    assert "四季度开展了专项检查" in principal.locator("#report-remarks").inner_text()
    browser.shot(principal, "51-report-submitted")
    assert_accessible(principal, "report, submitted")

    inspector = browser.login("inspector")
    inspector.goto("/reports?period=2026Q4")
    inspector.wait_for_selector("#reports")
    assert inspector.locator('[data-count="submitted"] .badge').inner_text() == "1"
    assert inspector.locator('[data-count="pending"] .badge').inner_text() == "2"
    browser.shot(inspector, "52-reports-bureau-overview")
    assert_accessible(inspector, "reports, bureau overview")
    inspector.locator('tr[data-state="pending"] form button').first.click()
    inspector.wait_for_selector(".alert-success")
    assert_accessible(inspector, "reports, after a reminder")


def test_the_heatmap_shows_where_hazards_wait_and_lists_them(browser, live_app):
    with live_app.app_context():
        seed_hazards()  # hazards at several steps of the lifecycle, through the real services
        db.session.remove()
    admin = browser.login("admin")
    admin.goto("/admin/processes")
    admin.locator('a[href*="/admin/processes/hazard_lifecycle/versions/"]').first.click()
    admin.wait_for_selector('[data-hl-viewer][data-state="ready"]')
    assert admin.locator(".hl-heat").count() == 0
    admin.check("#hl-heatmap-toggle")
    admin.wait_for_selector('[data-hl-viewer][data-heatmap="shown"]')
    overlays = admin.locator(".hl-heat")
    assert overlays.count() >= 2
    assert admin.locator("#hl-heatmap-legend").is_visible()
    assessed = admin.locator('.hl-heat[data-element="rectify"]')
    assert re.search(r"\d+", assessed.inner_text())
    browser.shot(admin, "53-heatmap")
    assert_accessible(admin, "process version with the heatmap")

    admin.uncheck("#hl-heatmap-toggle")
    admin.wait_for_selector('[data-hl-viewer][data-heatmap="hidden"]')
    assert admin.locator(".hl-heat").count() == 0
    admin.check("#hl-heatmap-toggle")
    admin.wait_for_selector('[data-hl-viewer][data-heatmap="shown"]')
    waiting = int(admin.locator('.hl-heat[data-element="rectify"]').get_attribute("data-now"))
    assert waiting >= 1
    admin.locator('.hl-heat[data-element="rectify"]').click()
    admin.wait_for_selector("#waiting")
    assert admin.locator("#waiting tr[data-kind='hazard']").count() == waiting
    browser.shot(admin, "54-heatmap-waiting-list")
    assert_accessible(admin, "hazards waiting at a step")
