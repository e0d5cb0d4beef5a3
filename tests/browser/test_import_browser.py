"""Bulk onboarding in a browser: an administrator opens the import page from the Administration menu, uploads a
workbook of a few thousand enterprises with some bad rows, watches the progress bar reach the end, and reads the
bad rows; the pages pass axe and fit a phone."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from app.services.org_codes import credit_code_check_char
from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser
ENTERPRISES = 3000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook() -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(["统一社会信用代码", "企业名称", "行业代码", "所在区域代码"])
    for n in range(ENTERPRISES):
        body = f"91110000MA{n + 1000:07d}"
        code = body + credit_code_check_char(body)
        if n % 1000 == 7:
            code = body + "I"  # a bad credit code
        ws.append([code, f"导入企业{n:05d}", "C26" if n % 500 != 3 else "Z99", "D01-T01-G01"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_administrator_imports_a_workbook_and_watches_its_progress(browser):
    admin = browser.login("admin")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-import")
    admin.wait_for_selector("#import-form")
    assert admin.locator("#import-template").get_attribute("href") == "/admin/import/template.xlsx"
    assert_accessible(admin, "import page")
    admin.set_input_files("#file", files=[{"name": "企业.xlsx", "mimeType": XLSX, "buffer": workbook()}])
    admin.click("#import-submit")
    admin.wait_for_url("**/admin/import/*")
    assert admin.locator("#import-progress").is_visible()
    admin.wait_for_selector("#import-summary", timeout=120_000)
    assert admin.locator("#import-progress").get_attribute("aria-valuenow") == "100"
    assert admin.locator("#import-counts-enterprises td").first.inner_text() == str(ENTERPRISES - 9)
    problems = admin.locator("#import-problems tbody tr")
    assert problems.count() == 9
    assert "统一社会信用代码" in admin.locator("#import-problems").inner_text()
    assert_accessible(admin, "import job")
    browser.shot(admin, "import-job")
    phone = browser.login("admin", width=375, height=740)
    phone.goto(admin.url)
    phone.wait_for_selector("#import-summary")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(phone, "import job on a phone")
    phone.goto("/admin/import")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(phone, "import page on a phone")
