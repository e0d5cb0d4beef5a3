"""The Chinese modeler as an administrator who does not program uses it: Chinese palette and tooltips, a step
added with its lane and form from the palette, a name typed right after a drop is kept, a condition built without
Python, a step dropped on a path makes room, a new form from the task panel, the zoom kept on reopening."""
from __future__ import annotations

import pytest

from tests.browser.axe import assert_accessible

pytestmark = pytest.mark.browser

DESIGNER = "/admin/processes/hazard_lifecycle/designer"
TO_SCREEN = """([id, dx, dy]) => {
  const m = window.hlDesigner.modeler, e = m.get('elementRegistry').get(id), vb = m.get('canvas').viewbox();
  const r = document.querySelector('.hl-modeler-canvas').getBoundingClientRect();
  return [r.x + (e.x + dx - vb.x) * vb.scale, r.y + (e.y + dy - vb.y) * vb.scale];
}"""
FLOW_MIDDLE = """id => {
  const m = window.hlDesigner.modeler, f = m.get('elementRegistry').get(id), vb = m.get('canvas').viewbox();
  const r = document.querySelector('.hl-modeler-canvas').getBoundingClientRect();
  const a = f.waypoints[0], b = f.waypoints[f.waypoints.length - 1];
  return [r.x + ((a.x + b.x) / 2 - vb.x) * vb.scale, r.y + ((a.y + b.y) / 2 - vb.y) * vb.scale];
}"""
SELECT = "id => { const m = window.hlDesigner.modeler; m.get('selection').select(m.get('elementRegistry').get(id)); }"
SELECTED = "() => window.hlDesigner.modeler.get('selection').get().map(e => e.id)"
BO = "([id, prop]) => { const e = window.hlDesigner.modeler.get('elementRegistry').get(id); return e && e.businessObject[prop]; }"
PROPS = """id => {
  const e = window.hlDesigner.modeler.get('elementRegistry').get(id), out = {};
  ((e.businessObject.extensionElements || {}).values || []).forEach(v => (v.properties || []).forEach(
    p => { out[p.name] = p.value; }));
  return out;
}"""
LANE_OF = """id => {
  const m = window.hlDesigner.modeler, t = m.get('elementRegistry').get(id);
  return m.get('elementRegistry').filter(e => e.type === 'bpmn:Lane')
    .filter(l => (l.businessObject.flowNodeRef || []).includes(t.businessObject)).map(l => l.id);
}"""
VIEW = "() => { const v = window.hlDesigner.modeler.get('canvas').viewbox(); return [v.x, v.y, v.scale]; }"


def open_designer(page, path: str = DESIGNER) -> None:
    page.goto(path)
    page.wait_for_selector('#hl-designer[data-state="ready"]')


def drop(page, action: str, x: float, y: float) -> str:
    """Take an entry from the palette and put it down at (x, y) on the screen; the new element's id."""
    before = set(page.evaluate("() => window.hlDesigner.modeler.get('elementRegistry').getAll().map(e => e.id)"))
    page.locator(f'.djs-palette .entry[data-action="{action}"]').click()
    page.mouse.move(x, y, steps=8)
    page.mouse.click(x, y)
    after = page.evaluate("""() => window.hlDesigner.modeler.get('elementRegistry').filter(
        e => !e.waypoints && e.type !== 'label').map(e => e.id)""")
    new = [e for e in after if e not in before]
    assert len(new) == 1, new
    return new[0]


def test_the_chinese_modeler_speaks_chinese_and_opens_readable(browser):
    admin = browser.login("admin")
    open_designer(admin)
    titles = admin.locator(".djs-palette .entry").evaluate_all("els => els.map(e => e.title)")
    assert "添加任务" in titles and "添加人工步骤（选择办理人和表单）" in titles and "添加网关（分支）" in titles
    assert not any("Create" in t or "Activate" in t for t in titles)
    assert admin.evaluate(VIEW)[2] >= 0.7  # the whole lifecycle is not shrunk to an unreadable size
    admin.evaluate(SELECT, "review")
    admin.wait_for_selector(".djs-context-pad .entry[title]")
    pad = admin.locator(".djs-context-pad .entry").evaluate_all("els => els.map(e => e.title)")
    assert "更改元素类型" in pad and "删除" in pad and "追加任务" in pad
    admin.locator('.djs-context-pad .entry[data-action="replace"]').click()
    admin.wait_for_selector(".djs-popup")
    popup = admin.locator(".djs-popup").inner_text()
    assert "手工任务" in popup and "脚本任务" in popup and "Script task" not in popup
    browser.shot(admin, "modeler-zh-01-change-element-menu")
    admin.keyboard.press("Escape")
    assert_accessible(admin, "designer (Chinese modeler)")


def test_a_step_is_added_with_its_lane_and_form_and_a_name_typed_after_a_drop_is_kept(browser):
    admin = browser.login("admin")
    open_designer(admin)

    # The "lost name": a plain task dropped, its name typed in the panel at once.
    x, y = admin.evaluate(TO_SCREEN, ["Lane_safety_officer", 600, 300])
    task = drop(admin, "create.task", x, y)
    assert admin.evaluate("() => window.hlDesigner.modeler.get('directEditing').isActive()")
    admin.click('#hl-panel-body [data-prop="name"]')
    admin.keyboard.type("现场核实")
    admin.keyboard.press("Tab")
    assert admin.evaluate(BO, [task, "name"]) == "现场核实"

    # The user-task entry asks for the name, who does it and the form.
    x, y = admin.evaluate(TO_SCREEN, ["Lane_principal", 200, 160])
    step = drop(admin, "create.user-task", x, y)
    admin.wait_for_selector("#hl-task-modal.show")
    admin.fill("#hl-task-name", "局领导审批")
    assert "企业主要负责人" in admin.locator("#hl-task-lane option").all_inner_texts()
    assert "＋ 新建表单…" in admin.locator("#hl-task-form option").all_inner_texts()
    admin.select_option("#hl-task-lane", "Lane_inspector")
    admin.select_option("#hl-task-form", "review")
    browser.shot(admin, "modeler-zh-02-new-step-asks-lane-and-form")
    admin.click("#hl-task-confirm")
    admin.wait_for_selector(f'#hl-panel-body[data-element="{step}"]')
    assert admin.evaluate(BO, [step, "name"]) == "局领导审批"
    assert admin.evaluate(LANE_OF, step) == ["Lane_inspector"]
    assert admin.evaluate(PROPS, step)["formKey"] == "review"

    # The hazard status from the vocabulary, by its label.
    options = admin.locator('#hl-panel-body [data-prop="status"] option').all_inner_texts()
    assert "政府审查中" in options
    admin.select_option('#hl-panel-body [data-prop="status"]', label="政府审查中")
    assert admin.evaluate(PROPS, step)["status"] == "verifying"

    # A new form from the task panel: created with a generated key, chosen, opened in a new tab.
    with admin.context.expect_page() as opened:
        admin.select_option('#hl-panel-body [data-prop="formKey"]', "__new__")
    editor = opened.value
    admin.wait_for_selector("#hl-panel-body[data-new-form^=form_]")
    key = admin.get_attribute("#hl-panel-body", "data-new-form")
    assert admin.evaluate(PROPS, step)["formKey"] == key
    editor.wait_for_url(f"**/admin/forms/{key}")
    assert "局领导审批" in editor.content()
    assert admin.locator("#hl-designer").is_visible()  # the designer stayed where it was


def test_a_condition_is_built_from_the_fields_of_the_forms_before_the_gateway(browser):
    admin = browser.login("admin")
    open_designer(admin)
    admin.evaluate(SELECT, "Flow_review_fail")
    admin.wait_for_selector('#hl-panel-body [data-prop="builderField"]')
    fields = admin.locator('#hl-panel-body [data-prop="builderField"] option').all_inner_texts()
    assert "复查结论 · 整改复查" in fields and "隐患等级 · 评估分级" in fields
    assert admin.locator('[data-prop="builderField"]').input_value() == "review_result"  # read back from the diagram
    admin.select_option('[data-prop="builderOperator"]', "is_not")
    assert admin.locator('[data-prop="builderValue"] option').all_inner_texts() == ["通过", "不通过"]
    admin.select_option('[data-prop="builderValue"]', "pass")
    admin.click("#hl-builder-use")
    admin.wait_for_selector("#hl-condition-builder[data-built]")
    expected = 'review_result != "pass"'
    assert admin.locator('#hl-panel-body [data-prop="condition"]').input_value() == expected
    assert admin.evaluate("() => window.hlDesigner.modeler.get('elementRegistry').get('Flow_review_fail')"
                          ".businessObject.conditionExpression.body") == expected
    browser.shot(admin, "modeler-zh-03-condition-builder")
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="valid"]')


def test_a_step_dropped_on_a_path_is_inserted_and_the_next_step_makes_room(browser):
    admin = browser.login("admin")
    open_designer(admin)
    x, y = admin.evaluate(FLOW_MIDDLE, "Flow_assess_grade")
    step = drop(admin, "create.user-task", x, y)
    admin.wait_for_selector("#hl-task-modal.show")
    admin.click("#hl-task-modal .btn-outline-secondary")
    links = admin.evaluate("""id => {
      const e = window.hlDesigner.modeler.get('elementRegistry').get(id);
      return [e.incoming.map(f => f.source.id), e.outgoing.map(f => f.target.id)];
    }""", step)
    assert links == [["assess"], ["grade_gateway"]]
    new_right = admin.evaluate("id => { const e = window.hlDesigner.modeler.get('elementRegistry').get(id); "
                               "return e.x + e.width; }", step)
    new_left = admin.evaluate("id => window.hlDesigner.modeler.get('elementRegistry').get(id).x", step)
    gateway_left = admin.evaluate("() => window.hlDesigner.modeler.get('elementRegistry').get('grade_gateway').x")
    assess_right = admin.evaluate("() => { const e = window.hlDesigner.modeler.get('elementRegistry').get('assess'); "
                                  "return e.x + e.width; }")
    assert assess_right < new_left and new_right < gateway_left
    browser.shot(admin, "modeler-zh-04-inserted-on-a-path")


def test_the_zoom_and_scroll_are_kept_when_a_draft_is_reopened(browser):
    admin = browser.login("admin")
    open_designer(admin)
    admin.evaluate("() => window.hlDesigner.modeler.get('canvas').zoom(1.3, { x: 900, y: 600 })")
    admin.wait_for_timeout(400)
    kept = admin.evaluate(VIEW)
    admin.click("#hl-save")
    admin.wait_for_selector("#hl-drafts tr[data-draft]")
    draft_url = admin.url
    assert "draft=" in draft_url
    admin.goto("/tasks")
    open_designer(admin, draft_url)
    again = admin.evaluate(VIEW)
    assert again == pytest.approx(kept, abs=0.5)
    browser.shot(admin, "modeler-zh-05-draft-reopened-at-its-zoom")
