"""The national table (issue 14) in headless Chromium: reached from the Statistics tabs, the figures, the Excel
download, the print stylesheet (the controls and menus left off paper), axe, and the phone width."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from app.chinatime import today
from app.extensions import db
from app.services.demo import seed_hazards
from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser


def test_the_inspector_reads_downloads_and_prints_the_national_table(browser, live_app):
    with live_app.app_context():
        seed_hazards()  # five hazards through the real services: found today, one fixed, one major with a plan
        db.session.remove()
    year = str(today().year)
    inspector = browser.login("inspector")
    inspector.click("#hl-nav-statistics")
    inspector.click("#stats-tab-statutory")
    inspector.wait_for_selector("#statutory-table")
    inspector.fill("#period", year)
    inspector.click("#statutory-form button[type=submit]")
    inspector.wait_for_selector(f"#statutory-period:has-text('{year}')")
    total = inspector.locator("#statutory-total")
    assert total.locator("[data-field=units_checked]").inner_text() != "0"
    assert total.locator("[data-field=major_found]").inner_text() == "1"
    assert total.locator("[data-field=major_planned]").inner_text() == "1"
    browser.shot(inspector, "42-statistics-national-table")
    assert_accessible(inspector, "national table")

    with inspector.expect_download() as download:
        inspector.click("#statutory-xlsx")
    with open(download.value.path(), "rb") as stream:
        sheet = load_workbook(stream).active
    assert sheet["A1"].value == "隐患排查治理情况统计表"
    # On paper: the table and its title only.
    inspector.emulate_media(media="print")
    assert not inspector.locator("#statutory-form").is_visible()
    assert not inspector.locator("nav.navbar").is_visible()
    assert inspector.locator("#statutory-table").is_visible()
    browser.shot(inspector, "43-statistics-national-table-print")
    inspector.emulate_media(media="screen")

    principal = browser.login("principal_b", width=375, height=740, locale="en-US")
    principal.goto(f"/statistics/statutory?period={year}&group_by=industry&lang=en")
    principal.wait_for_selector("#statutory-table")
    assert principal.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(principal, "national table, phone, en")


def test_the_inspector_sees_a_repeat_hazard_and_the_repeat_offenders(browser, live_app):
    from sqlalchemy import select

    from app.models import User
    from app.services import hazards

    with live_app.test_request_context():
        officer = db.session.scalar(select(User).where(User.username == "officer_a"))
        report = {"title": "喷涂线静电接地断开", "description": "接地线脱落", "location": "二车间喷涂线",
                  "hazard_type": "unsafe_condition", "source": "self_check"}
        first = hazards.report_hazard(officer, report).number
        second = hazards.report_hazard(officer, report).id
        db.session.remove()
    inspector = browser.login("inspector")
    inspector.goto(f"/hazards/{second}")
    flag = inspector.locator("#hazard-repeat")
    assert "反复性隐患：第 2 次" in flag.inner_text() and first in flag.inner_text()
    assert_accessible(inspector, "hazard detail, repeat hazard")
    inspector.click("#hl-nav-statistics")
    inspector.click("#stats-tab-repeats")
    inspector.wait_for_selector("#repeats-table")
    assert inspector.locator("#repeats-table [data-outcome=repeat]").first.inner_text() == "1"
    browser.shot(inspector, "44-statistics-repeat-offenders")
    assert_accessible(inspector, "repeat offenders")
    inspector.click("#repeats-table [data-outcome=repeat] >> nth=0")
    inspector.wait_for_selector("#register-total")
    assert inspector.locator("#register-total").get_attribute("data-total") == "1"
