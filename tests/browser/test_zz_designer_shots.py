import pytest
from tests.browser.test_designer_browser import click_element  # noqa
pytestmark = pytest.mark.browser

def test_shots(browser, live_app):
    from app.services import designer, processes
    from app.extensions import db
    from app.models import User
    from sqlalchemy import select
    from tests import designer_diagrams as dd
    officer = browser.login("officer_a")
    officer.click("#hl-nav >> text=报告隐患")
    officer.wait_for_selector("#report-form")
    from tests.browser.steps import fill
    fill(officer, {"title": "t1", "description": "d", "location": "l", "hazard_type": "unsafe_condition"})
    officer.click("#report-submit"); officer.wait_for_url("**/hazards/*")
    with live_app.test_request_context():
        admin_user = db.session.scalar(select(User).where(User.username == "admin"))
        xml = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核")
        xml = dd.set_condition(xml, "Flow_review_pass", 'review_result == "ok"')
        designer.deploy(admin_user, "hazard_lifecycle", dd.rename_id(xml, "review", "principal_review"))
    admin = browser.login("admin")
    for name, path in [("lib", "/admin/processes"), ("diff", "/admin/processes/hazard_lifecycle/diff"),
                       ("migrate", "/admin/processes/hazard_lifecycle/migrate?to=2"),
                       ("forms", "/admin/forms"), ("form", "/admin/forms/assess"),
                       ("version", "/admin/processes/hazard_lifecycle/versions/2")]:
        admin.goto(path)
        admin.wait_for_timeout(1500)
        browser.shot(admin, "zz-" + name)
    admin.goto("/admin/processes/hazard_lifecycle/designer")
    admin.wait_for_selector('#hl-designer[data-state="ready"]')
    click_element(admin, "rectify_deadline") if admin.locator('[data-element-id="rectify_deadline"]').count() else None
    browser.shot(admin, "zz-timer-panel")
    click_element(admin, "Flow_grade_general")
    browser.shot(admin, "zz-flow-panel")
