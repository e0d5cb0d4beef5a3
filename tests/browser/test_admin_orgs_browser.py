"""The organisation administration in a browser: reached from the menu on a phone, each page fits 375 px, and a
refused enterprise form shows the message beside the field."""
from __future__ import annotations

import pytest

from tests.browser.test_phone_layout import PHONE, assert_fits

pytestmark = pytest.mark.browser


def test_an_administrator_registers_an_enterprise_on_a_phone(browser):
    admin = browser.login("admin", **PHONE)
    admin.click(".navbar-toggler")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-enterprises")
    admin.wait_for_selector("#enterprises-table")
    assert_fits(admin, "admin-enterprises", browser)
    admin.goto("/admin/regions")
    assert admin.locator("#region-tree").is_visible()
    assert_fits(admin, "admin-regions", browser)
    admin.goto("/admin/units/new")
    assert_fits(admin, "admin-unit-new", browser)

    admin.goto("/admin/enterprises/new")
    admin.fill("#name", "南湖精密铸造有限公司")
    admin.fill("#credit_code", "91110108MA01ABCD1F")  # the check character is wrong (E is right)
    admin.fill("#industry", "C33")
    admin.locator("#region_id").select_option(index=3)  # a grid of 东湖街道 (the tree: district, township, grid)
    admin.click("#enterprise-form button[type=submit]")
    admin.wait_for_selector("#credit_code-error")
    assert "校验码" in admin.locator("#credit_code-error").inner_text()
    assert admin.locator("#credit_code").get_attribute("aria-invalid") == "true"
    assert_fits(admin, "admin-enterprise-refused", browser)
    admin.fill("#credit_code", "91110108MA01ABCD1E")
    admin.click("#enterprise-form button[type=submit]")
    admin.wait_for_url("**/admin/enterprises")
    assert "南湖精密铸造有限公司" in admin.locator("#enterprises-table").inner_text()


def test_an_administrator_closes_a_merged_township_and_is_told_why_another_cannot_close(browser):
    from tests.browser.axe import assert_accessible

    admin = browser.login("admin")
    admin.goto("/admin/regions/new")
    admin.fill("#name", "旧城街道")
    admin.fill("#code", "D01-T09")
    admin.locator("#kind").select_option("street")
    admin.locator("#parent_id").select_option(index=1)  # the district
    admin.click("#region-form button[type=submit]")
    admin.wait_for_url("**/admin/regions")
    admin.click("#region-tree a:text('旧城街道')")
    admin.click("#region-status-form button[type=submit]")
    admin.wait_for_url("**/admin/regions")
    assert admin.locator("#region-tree [data-closed]").count() == 1
    assert_accessible(admin, "region tree with a closed region")
    admin.click("#region-tree a:text('旧城街道')")
    admin.wait_for_selector("#region-status-form input[value=reopen]", state="attached")
    assert_accessible(admin, "closed region's page")
    admin.goto("/admin/enterprises/new")
    assert "旧城街道" not in admin.locator("#region_id").inner_text()

    admin.goto("/admin/regions")
    admin.click("#region-tree a:text('东湖街道')")
    admin.click("#region-status-form button[type=submit]")
    admin.wait_for_selector(".alert-danger")
    assert "2" in admin.locator(".alert-danger").inner_text()
    assert_accessible(admin, "region's page with the refusal")


def test_a_units_and_an_enterprises_page_with_their_close_button_are_accessible(browser):
    """The close/reopen form on a unit's and an enterprise's page sits on a card, so its outline buttons keep
    their contrast (axe-core, WCAG 2.1 AA)."""
    from tests.browser.axe import assert_accessible

    admin = browser.login("admin")
    admin.goto("/admin/units")
    admin.locator("#units-table a.fw-semibold").first.click()
    admin.wait_for_selector("#unit-status-form button")
    assert_accessible(admin, "a unit's page")
    admin.goto("/admin/enterprises")
    admin.locator("#enterprises-table a.fw-semibold").first.click()
    admin.wait_for_selector("#enterprise-status-form button")
    assert_accessible(admin, "an enterprise's page")
