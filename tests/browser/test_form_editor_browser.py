"""The form editor without JSON (issue 17): a new form from a Chinese title, "required only when" and "shown only
when" picked from the other fields, widgets named in words; the page lists where a form is used."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import FormVersion
from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser


def test_the_administrator_builds_a_conditional_field_without_json(browser, live_app):
    admin = browser.login("admin")
    admin.goto("/admin/forms")
    admin.fill("#new-form-title", "张贴告知照片")
    admin.click("#hl-new-form button[type=submit]")
    admin.wait_for_url("**/admin/forms/form?*")
    assert admin.input_value("#hl-title-zh") == "张贴告知照片"

    admin.click("#hl-add-field")
    first = admin.locator("#hl-fields .hl-field-card").nth(0)
    assert "是/否（勾选框）" in first.locator('[data-prop="widget"]').inner_text()  # widgets in words
    first.locator('[data-prop="widget"]').select_option("checkbox")
    first = admin.locator("#hl-fields .hl-field-card").nth(0)
    first.locator('[data-prop="name"]').fill("listed")
    first.locator('[data-prop="name"]').press("Tab")
    first = admin.locator("#hl-fields .hl-field-card").nth(0)
    first.locator('[data-prop="label-zh"]').fill("是否挂牌督办")

    admin.click("#hl-add-field")
    second = admin.locator("#hl-fields .hl-field-card").nth(1)
    second.locator('[data-prop="name"]').fill("notice_number")
    second.locator('[data-prop="name"]').press("Tab")
    second = admin.locator("#hl-fields .hl-field-card").nth(1)
    second.locator('[data-prop="label-zh"]').fill("督办文号")
    second.locator('[data-prop="required"]').select_option("when")
    second.locator('[data-prop="shown"]').select_option("when")
    assert second.locator('[data-prop="required-when-field"]').input_value() == "listed"
    assert "是" in second.locator('[data-prop="required-when-value"]').inner_text()

    # The preview follows the rule: the notice number appears only once the box is ticked.
    notice = admin.locator('#hl-preview [data-preview-field="notice_number"]')
    assert notice.is_hidden()
    admin.check("#hl-preview [data-preview-field=\"listed\"] input[type=checkbox]")
    assert notice.is_visible()
    admin.click("#hl-form-save")
    admin.wait_for_selector('#hl-form-editor[data-saved="1"]')
    assert_accessible(admin, "form-editor")
    browser.shot(admin, "form-editor-conditional-rule")

    with live_app.app_context():
        row = db.session.scalar(select(FormVersion).where(FormVersion.key == "form", FormVersion.active.is_(True)))
        saved = json.loads(row.definition)
        db.session.remove()
    notice_field = next(f for f in saved["fields"] if f["name"] == "notice_number")
    assert notice_field["showIf"] == {"field": "listed", "equals": True}
    assert saved["schema"]["allOf"] == [{"if": {"properties": {"listed": {"const": True}}, "required": ["listed"]},
                                         "then": {"required": ["notice_number"]}}]
    assert "notice_number" not in saved["schema"]["required"]
    assert saved["title"]["zh"] == "张贴告知照片"


def test_the_form_page_lists_the_steps_that_use_it_and_passes_axe(browser):
    admin = browser.login("admin")
    admin.goto("/admin/forms/verification")
    steps = admin.locator("#hl-form-steps").inner_text()
    assert "隐患排查治理闭环" in steps and "政府现场审查" in steps
    assert_accessible(admin, "form-editor-usage")
    admin.set_viewport_size({"width": 375, "height": 800})
    assert admin.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
