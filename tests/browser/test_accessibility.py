"""Every key page meets WCAG 2.1 AA (GB/T 37668) as axe-core checks it: sign-in, work lists, the register, a
hazard's record, each kind of task page, reporting, checklists, notifications, the designer's lists — in Chinese and
in English, on a desktop and on a phone."""
from __future__ import annotations

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.steps import do_step, fill, hazard_id, in_days, png

pytestmark = pytest.mark.browser


def report_and_assess(officer) -> int:
    officer.goto("/hazards/new")
    fill(officer, {"title": "配电箱未上锁", "description": "巡检发现配电箱门敞开", "location": "一车间",
                   "hazard_type": "unsafe_condition", "photos": [png()]})
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)
    do_step(officer, hazard, {"grade": "general", "responsible_person": "张安全", "measures": "加锁并张贴警示标识",
                              "rectification_deadline": in_days(3)})
    return hazard


@pytest.mark.parametrize("locale,width", [("zh-CN", 1280), ("en", 375)])
def test_key_pages_pass_axe_core(browser, locale, width):
    size = {"width": width, "height": 900, "locale": locale}
    login = browser.page(**size)
    login.goto("/login")
    assert_accessible(login, "login")

    officer = browser.login("officer_a", **size)
    if locale == "en":
        officer.goto("/language/en?next=/tasks")
    hazard = report_and_assess(officer)
    for path in ("/tasks", "/hazards", f"/hazards/{hazard}", "/hazards/new", "/checklists", "/checklists/new",
                 "/notifications", "/profile", "/profile/details"):
        officer.goto(path)
        assert_accessible(officer, f"officer {path}")
    officer.goto(f"/hazards/{hazard}")
    officer.click(".hl-open-task")
    officer.wait_for_selector("#task-form")
    assert_accessible(officer, "rectify task page")
    officer.click("#task-submit")  # the page with its field errors
    officer.wait_for_selector(".hl-form-errors")
    assert_accessible(officer, "task page with errors")

    inspector = browser.login("inspector", **size)
    if locale == "en":
        inspector.goto("/language/en?next=/tasks")
    for path in ("/tasks", "/hazards", f"/hazards/{hazard}"):
        inspector.goto(path)
        assert_accessible(inspector, f"inspector {path}")

    admin = browser.login("admin", **size)
    if locale == "en":
        admin.goto("/language/en?next=/tasks")
    for path in ("/admin/processes", "/admin/forms", "/admin/processes/hazard_lifecycle/designer"):
        admin.goto(path)
        assert_accessible(admin, f"admin {path}")
