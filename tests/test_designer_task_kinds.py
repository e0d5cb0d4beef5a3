"""Every task kind is checked; what cannot run here is refused on its element with what to use instead."""
from __future__ import annotations

from itertools import pairwise

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, User
from app.services import designer
from tests.helpers import report
from tests.test_designer_pages import Admin

KEY = "hazard_lifecycle"


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def form(key: str) -> str:
    return ('<bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formKey" value="{key}"/></spiffworkflow:properties>'
            '</bpmn:extensionElements>')


def diagram(body: str, lane_refs: list[str], lane: str = "企业安全员", key: str = KEY) -> str:
    """A process `key` with one lane holding `lane_refs`, the flow elements in `body`."""
    refs = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in lane_refs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D" targetNamespace="x">'
            f'<bpmn:process id="{key}" isExecutable="true">'
            f'<bpmn:laneSet id="LS"><bpmn:lane id="L1" name="{lane}">{refs}</bpmn:lane></bpmn:laneSet>'
            f'{body}</bpmn:process></bpmn:definitions>')


def chain(*nodes: str) -> str:
    """Start event → nodes (raw XML, ids given by their id attribute) → end event, in order."""
    ids = ["start"] + [n.split('id="', 1)[1].split('"', 1)[0] for n in nodes] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(pairwise(ids)))
    return '<bpmn:startEvent id="start"/>' + "".join(nodes) + '<bpmn:endEvent id="end"/>' + flows


def problems(xml: str) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for problem in designer.validate(admin(), KEY, xml).problems:
        found.setdefault(problem["element_id"], []).append(problem["message"])
    return found


def test_a_plain_task_is_a_human_task_that_needs_a_lane_and_a_form(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found = problems(diagram(chain('<bpmn:task id="t" name="Check"/>'), []))
        assert any("formKey" in m for m in found["t"])
        assert any("lane" in m for m in found["t"])


def sub_process(*tasks: str) -> str:
    """An expanded sub-process `sub`: its own start event s2 → tasks → end event e2."""
    ids = ["s2"] + [t.split('id="', 1)[1].split('"', 1)[0] for t in tasks] + ["e2"]
    flows = "".join(f'<bpmn:sequenceFlow id="g{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(pairwise(ids)))
    return (f'<bpmn:subProcess id="sub" name="子流程"><bpmn:startEvent id="s2"/>{"".join(tasks)}'
            f'<bpmn:endEvent id="e2"/>{flows}</bpmn:subProcess>')


def test_a_task_in_an_expanded_sub_process_takes_its_lane_and_needs_a_form(app):
    xml = diagram(chain(sub_process(f'<bpmn:task id="inner" name="检查">{form("assess")}</bpmn:task>',
                                    '<bpmn:task id="bare" name="无表单"/>')), ["start", "sub", "end"])
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found = problems(xml)
        assert list(found) == ["bare"]
        assert "formKey" in found["bare"][0]


def test_what_cannot_run_here_is_refused_on_each_element_in_one_round(app):
    xml = diagram(chain(
        '<bpmn:serviceTask id="svc" name="Call ERP"/>',
        '<bpmn:businessRuleTask id="dmn" name="Decide"/>',
        '<bpmn:receiveTask id="rcv" name="Wait for reply"/>',
        '<bpmn:intermediateCatchEvent id="msg"><bpmn:messageEventDefinition id="md"/></bpmn:intermediateCatchEvent>',
        '<bpmn:intermediateCatchEvent id="sig"><bpmn:signalEventDefinition id="sd"/></bpmn:intermediateCatchEvent>',
    ), ["start", "svc", "dmn", "rcv", "msg", "sig", "end"])
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found = problems(xml)
        assert any("Service tasks" in m for m in found["svc"])
        assert any("DMN" in m for m in found["dmn"])
        assert any("receive task" in m for m in found["rcv"])
        assert any("messages" in m for m in found["msg"])
        assert any("signals" in m for m in found["sig"])
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert any("服务任务" in m for m in problems(xml)["svc"])


def test_camunda_expressions_and_cron_timers_get_a_hint(app):
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw" default="f_no"/>'
            f'<bpmn:userTask id="t" name="T">{form("review")}</bpmn:userTask>'
            '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="td">'
            '<bpmn:timeCycle>0 0 9 * * ?</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="end"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="t"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="gw"/>'
            '<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="end">'
            '<bpmn:conditionExpression>${approved}</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="wait"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>')
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found = problems(diagram(body, ["start", "gw", "t", "wait", "end"]))
        assert any("Python" in m and "${approved}" in m for m in found["f_yes"])
        assert any("cron" in m and "ISO 8601" in m for m in found["wait"])


def test_a_task_in_a_sub_process_opens_in_the_worklist_with_its_form(app, api):
    xml = diagram(chain(sub_process(f'<bpmn:task id="inner" name="子流程检查">{form("review")}</bpmn:task>')),
                  ["start", "sub", "end"])
    with app.test_request_context(headers={"Accept-Language": "en"}):
        designer.deploy(admin(), KEY, xml)
    created = report(api.as_("officer_a"))
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(HumanTask.hazard_id == created["id"]))
        assert (task.spec_name, task.form_key, task.role.value) == ("inner", "review", "officer")


# ------------------------------------------------------------------------------------------- the dry run
def script(element_id: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{element_id}" name="{element_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def user_task(element_id: str, form_key: str = "review") -> str:
    return f'<bpmn:userTask id="{element_id}" name="{element_id}">{form(form_key)}</bpmn:userTask>'


def test_names_that_scripts_and_conditions_read_but_nothing_defines_are_refused(app):
    body = ('<bpmn:startEvent id="start"/>' + script("calc", "total = x + 1") + user_task("t")
            + '<bpmn:exclusiveGateway id="gw" default="f_other"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="calc"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="calc" targetRef="t"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="gw"/>'
            '<bpmn:sequenceFlow id="f_env" sourceRef="gw" targetRef="end">'
            '<bpmn:conditionExpression>get_env() == "prod" and done and total &gt; 1</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow><bpmn:sequenceFlow id="f_other" sourceRef="gw" targetRef="end2"/>')
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found = problems(diagram(body, ["start", "calc", "t", "gw", "end", "end2"]))
    assert [m.split(" ", 1)[0] for m in found["calc"]] == ["x"]
    assert sorted(m.split(" ", 1)[0] for m in found["f_env"]) == ["done", "get_env"]  # total is set by the script


def test_what_fails_at_run_time_is_refused_on_its_element_by_the_dry_run_and_nothing_is_kept(app):
    from app.models import Hazard, Organisation, ProcessVersion

    def counts():
        return [db.session.scalar(select(db.func.count()).select_from(m))
                for m in (Hazard, Organisation, ProcessVersion, HumanTask)]

    xml = diagram(chain(user_task("t"), script("calc", "ratio = 1 / 0")), ["start", "t", "calc", "end"])
    with app.test_request_context(headers={"Accept-Language": "en"}):
        before = counts()
        validation = designer.validate(admin(), KEY, xml)
        assert counts() == before
    assert [p["element_id"] for p in validation.problems] == ["calc"]
    assert "trial run" in validation.problems[0]["message"] and "division by zero" in validation.problems[0]["message"]
    assert validation.dry_run.failure.element_id == "calc"


def test_a_diagram_that_would_wait_forever_is_refused(app):
    waits = ('<bpmn:intermediateCatchEvent id="never"><bpmn:conditionalEventDefinition id="cd">'
             '<bpmn:condition>hazard_type == "no such type"</bpmn:condition>'
             '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>')
    with app.test_request_context(headers={"Accept-Language": "en"}):
        found = problems(diagram(chain(waits), ["start", "never", "end"]))
    assert "wait forever" in found[None][0]


def test_a_diagram_that_passes_the_dry_run_reports_what_it_ran(app, client):
    xml = diagram(chain(user_task("first"), user_task("second", "assess")), ["start", "first", "second", "end"])
    resp = Admin(client).post_json(f"/admin/processes/{KEY}/validate", {"xml": xml})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["dry_run"] == {"completed_tasks": ["first", "second"], "finished": True}


def test_the_library_lists_failing_instances_with_the_reason(app, api, client):
    from app.clock import clock
    from app.models import Hazard, Timer, TimerKind, TimerStatus

    created = report(api.as_("officer_a"))
    with app.app_context():
        hazard = db.session.get(Hazard, created["id"])
        db.session.add(Timer(instance_id=hazard.instance_id, hazard_id=hazard.id, task_uuid="x" * 36,
                             spec_name="rectify_deadline", due_at=clock.now(), created_at=clock.now(),
                             kind=TimerKind.engine, status=TimerStatus.failed, attempts=5,
                             last_error="EngineError: the process could not continue: name 'x' is not defined"))
        db.session.commit()
        number = hazard.number
    html = Admin(client).client.get("/admin/processes").get_data(as_text=True)
    failing = html.split('class="table table-sm align-middle mb-0 hl-failing"', 1)[1].split("</table>", 1)[0]
    assert number in failing and "rectify_deadline" in failing and "name &#39;x&#39; is not defined" in failing
