"""A second process: created from a template, deployed, chosen by a rule for government inspections."""
from __future__ import annotations

import re

import pytest

from tests.browser.steps import do_step, fill, hazard_id, in_days, png, status

pytestmark = pytest.mark.browser


def test_a_process_from_a_template_runs_the_hazards_inspectors_find(browser):
    admin = browser.login("admin")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-processes")
    admin.wait_for_url("**/admin/processes")
    admin.fill("#new-name", "检查发现立查立改")
    admin.fill("#new-key", "inspection_spot_fix")
    admin.select_option("#new-template", "fix_on_the_spot")
    admin.click("#hl-new-process button[type=submit]")
    admin.wait_for_url("**/admin/processes/inspection_spot_fix/designer")
    admin.wait_for_selector('#hl-designer[data-state="ready"]')
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="valid"]')
    admin.click("#hl-deploy")
    admin.fill("#hl-deploy-note", "检查发现的隐患当场整改")
    admin.click("#hl-deploy-confirm")
    admin.wait_for_selector("#hl-designer[data-deployed]")
    browser.shot(admin, "processes-01-deployed-from-template")

    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-processes")
    admin.select_option("#rule-source", "government_inspection")
    admin.select_option("#rule-process", "inspection_spot_fix")
    admin.click("#hl-new-rule button[type=submit]")
    admin.wait_for_selector(".hl-rules tr[data-rule]")
    assert "inspection_spot_fix" in admin.locator(".hl-rules tr[data-rule]").inner_text()
    browser.shot(admin, "processes-02-rule")

    inspector = browser.login("inspector")
    inspector.goto("/hazards/new")
    enterprise = inspector.locator('[data-field="enterprise_id"] option', has_text="宏达机械制造有限公司")
    inspector.locator('[data-field="enterprise_id"] select').select_option(enterprise.get_attribute("value"))
    fill(inspector, {"title": "防护罩缺失", "description": "检查发现砂轮机防护罩缺失", "location": "二车间",
                     "hazard_type": "unsafe_condition", "source": "government_inspection"})
    inspector.click("#report-submit")
    inspector.wait_for_url(re.compile(r".*/hazards/\d+$"))
    hazard = hazard_id(inspector)
    assert status(inspector) == "rectifying"

    officer = browser.login("officer_a")
    do_step(officer, hazard, {"measures_taken": "当场加装防护罩", "after_photos": [png("after.png")],
                              "completed_on": in_days(0)})
    assert status(officer) == "verifying"
