"""The administrator redesigns the lifecycle in the browser's modeler and deploys it; hazards follow their version."""
from __future__ import annotations

import pytest

from app.engine.specs import parse_process
from app.extensions import db
from app.models import ProcessVersion
from app.services.deadlines import ladder
from tests.browser.steps import do_step, fill, hazard_id, in_days, png, status

pytestmark = pytest.mark.browser

ADD_TASK_IN_OFFICER_LANE = """() => {
  const m = window.hlDesigner.modeler;
  const registry = m.get('elementRegistry'), modeling = m.get('modeling');
  const assess = registry.get('assess'), gateway = registry.get('grade_gateway');
  const flow = registry.get('Flow_assess_grade');
  const participant = registry.filter(e => e.type === 'bpmn:Participant')[0];
  const shape = m.get('elementFactory').createShape({ type: 'bpmn:UserTask' });
  const task = modeling.createShape(shape, { x: assess.x + assess.width / 2, y: assess.y + assess.height + 60 },
                                    participant);
  modeling.removeConnection(flow);
  modeling.connect(assess, task);
  modeling.connect(task, gateway);
  return task.id;
}"""


PAN_TO = """id => {
  const m = window.hlDesigner.modeler, element = m.get('elementRegistry').get(id);
  const points = element.waypoints || [{ x: element.x, y: element.y },
                                       { x: element.x + element.width, y: element.y + element.height }];
  const xs = points.map(p => p.x), ys = points.map(p => p.y);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2, cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const canvas = m.get('canvas'), box = canvas.viewbox();
  canvas.viewbox({ x: cx - box.width / 2, y: cy - box.height / 2, width: box.width, height: box.height });
}"""


def click_element(page, element_id: str) -> None:
    """Pan the canvas to the element (as one would with the mouse), select it, wait for its properties."""
    page.evaluate(PAN_TO, element_id)
    shape = page.locator(f'.djs-element[data-element-id="{element_id}"]')
    if "selected" not in (shape.get_attribute("class") or ""):  # clicking a selected element deselects it
        shape.click()
    page.wait_for_selector(f'#hl-panel-body[data-element="{element_id}"]')


def report_and_assess(page, title: str) -> int:
    page.click("#hl-nav >> text=报告隐患")
    page.wait_for_selector("#report-form")
    fill(page, {"title": title, "description": "巡检发现", "location": "一车间", "hazard_type": "unsafe_condition"})
    page.click("#report-submit")
    page.wait_for_url("**/hazards/*")
    hazard = hazard_id(page)
    do_step(page, hazard, {"grade": "general", "responsible_person": "张安全", "measures": "加锁",
                           "rectification_deadline": in_days(7)})
    return hazard


def current_steps(page, hazard: int) -> list[str]:
    page.goto(f"/hazards/{hazard}")
    page.wait_for_selector('#hl-diagram[data-state="ready"]')
    return page.locator("#hl-diagram .djs-element.hl-current").evaluate_all(
        "els => els.map(e => e.getAttribute('data-element-id'))")


def test_the_administrator_adds_a_step_in_the_designer_and_only_new_hazards_take_it(browser):
    officer = browser.login("officer_a")
    old = report_and_assess(officer, "旧流程上的隐患")
    assert status(officer) == "rectifying"

    admin = browser.login("admin")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-processes")
    admin.wait_for_url("**/admin/processes")
    admin.click("#open-designer-hazard_lifecycle")
    admin.wait_for_selector('#hl-designer[data-state="ready"]')
    task_id = admin.evaluate(ADD_TASK_IN_OFFICER_LANE)

    # The properties panel: select the new task on the canvas, name it, put it in the principal's lane.
    click_element(admin, task_id)
    admin.fill('#hl-panel-body [data-prop="name"]', "负责人确认分级")
    admin.press('#hl-panel-body [data-prop="name"]', "Tab")
    name_of = f"() => window.hlDesigner.modeler.get('elementRegistry').get('{task_id}').businessObject.name || ''"
    assert admin.evaluate(name_of) == "负责人确认分级"
    admin.click("#hl-undo")  # every panel edit is on the modeler's command stack
    assert admin.evaluate(name_of) == ""
    admin.click("#hl-redo")
    assert admin.evaluate(name_of) == "负责人确认分级"
    admin.select_option('#hl-panel-body [data-prop="lane"]', "Lane_principal")

    # Checking before a form is chosen: refused, and the problem is marked on the task itself.
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="problems"]')
    assert admin.locator(f'#hl-problems li[data-element="{task_id}"]').count() >= 1
    assert "hl-error" in admin.locator(f'.djs-element[data-element-id="{task_id}"]').get_attribute("class")
    assert admin.locator(f'.hl-problem-badge[data-element="{task_id}"]').is_visible()
    browser.shot(admin, "designer-01-problem-marked")

    click_element(admin, task_id)
    admin.select_option('#hl-panel-body [data-prop="formKey"]', "review")
    lane = admin.evaluate(f"""() => {{
      const m = window.hlDesigner.modeler, task = m.get('elementRegistry').get('{task_id}');
      return m.get('elementRegistry').filter(e => e.type === 'bpmn:Lane')
        .filter(l => (l.businessObject.flowNodeRef || []).includes(task.businessObject)).map(l => l.id);
    }}""")
    assert lane == ["Lane_principal"]
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="valid"]')
    assert admin.locator(".djs-element.hl-error").count() == 0
    admin.click("#hl-save")
    admin.wait_for_selector("#hl-drafts tr[data-draft]")
    assert "draft=" in admin.url

    admin.click("#hl-deploy")
    admin.fill("#hl-deploy-note", "分级后由负责人确认")
    admin.click("#hl-deploy-confirm")
    admin.wait_for_selector('#hl-designer[data-deployed="2"]')
    assert admin.locator("#hl-deployed-link").is_visible()
    browser.shot(admin, "designer-02-deployed")
    admin.click("#hl-nav-admin-toggle")
    admin.click("#hl-nav-processes")
    assert admin.locator('tr[data-version="2"] .hl-active-badge').count() == 1
    assert admin.locator(".hl-drafts tr[data-draft]").count() == 0  # the deployed draft is used up

    # A hazard reported now passes through the new step; the old one carries on on version 1.
    new = report_and_assess(officer, "新流程上的隐患")
    assert current_steps(officer, new) == [task_id]
    principal = browser.login("principal_a")
    do_step(principal, new, {"review_result": "pass", "review_opinion": "分级正确"})
    assert status(principal) == "rectifying"

    assert current_steps(officer, old) == ["rectify"]
    do_step(officer, old, {"measures_taken": "已加锁", "after_photos": [png("after.png")], "completed_on": in_days(0)})
    do_step(principal, old, {"review_result": "pass", "review_opinion": "整改到位"})
    assert status(principal) == "closed"
    steps = principal.locator("#timeline .hl-event").evaluate_all("els => els.map(e => e.textContent)")
    assert not any("负责人确认分级" in s for s in steps)


def test_the_administrator_sets_the_process_reminder_ladder_on_the_pool(browser, live_app):

    admin = browser.login("admin")
    admin.goto("/admin/processes")
    admin.click("#open-designer-hazard_lifecycle")
    admin.wait_for_selector('#hl-designer[data-state="ready"]')
    # Select the pool (its name strip is under the palette at this zoom; its middle belongs to the lanes).
    admin.evaluate("""id => {
      const m = window.hlDesigner.modeler;
      m.get('selection').select(m.get('elementRegistry').get(id));
    }""", "Participant_hazard_lifecycle")
    admin.wait_for_selector('#hl-panel-body[data-element="Participant_hazard_lifecycle"]')
    settings = admin.locator("#hl-process-settings")
    assert settings.locator('[data-prop="remindDaysBefore"]').input_value() == "3,1"

    # A value the scheduler could not use is refused at validation, on the pool, naming the setting.
    settings.locator('[data-prop="escalateBureauHeadAfterDays"]').fill("一周")
    settings.locator('[data-prop="escalateBureauHeadAfterDays"]').press("Tab")
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="problems"]')
    problem = admin.locator('#hl-problems li[data-element="hazard_lifecycle"]')
    assert "escalateBureauHeadAfterDays" in problem.inner_text()
    assert admin.locator('.djs-element.hl-error[data-element-id="Participant_hazard_lifecycle"]').count() == 1
    browser.shot(admin, "designer-03-process-settings-refused")

    settings.locator('[data-prop="escalateBureauHeadAfterDays"]').fill("10")
    settings.locator('[data-prop="escalateBureauHeadAfterDays"]').press("Tab")
    settings.locator('[data-prop="remindDaysBefore"]').fill("5,2")
    settings.locator('[data-prop="remindDaysBefore"]').press("Tab")
    admin.click("#hl-validate")
    admin.wait_for_selector('#hl-designer[data-checked="valid"]')
    admin.click("#hl-deploy")
    admin.fill("#hl-deploy-note", "提前五天提醒")
    admin.click("#hl-deploy-confirm")
    admin.wait_for_selector('#hl-designer[data-deployed="2"]')

    with live_app.app_context():
        version = db.session.query(ProcessVersion).filter_by(number=2).one()
        parsed = parse_process(version.bpmn_xml, version.process_key)
        db.session.remove()
    assert parsed.properties["remindDaysBefore"] == "5,2"
    steps = ladder(parsed.properties, {"deadline": "rectification"})
    assert [s.offset_days for s in steps if s.kind.value == "reminder"] == [-5, -2]
    assert [s.offset_days for s in steps if s.kind.value == "escalation"] == [3, 10]
