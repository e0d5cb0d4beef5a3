"""Checks for the hazard lifecycle diagram (bpmn/hazard_lifecycle.bpmn) and its forms (forms/*.json).

The diagram and the forms are a contract with the server: task ids, lanes, the ``formKey`` and
``status`` properties, and the data names used in gateway conditions.  These tests parse the
diagram with SpiffWorkflow 3.2.0, validate it against the BPMN XSD, check every form file, and
run the three main paths through the engine with data that is valid for each task's form.
"""

import datetime
import json
from pathlib import Path

import jsonschema
import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.util.task import TaskState

from app.engine.timers import ClockBpmnParser

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "bpmn" / "hazard_lifecycle.bpmn"
FORMS_DIR = ROOT / "forms"
PROCESS_ID = "hazard_lifecycle"

LANES = {"企业安全员", "企业主要负责人", "监管人员"}
WIDGETS = {
    "text",
    "textarea",
    "date",
    "select",
    "radio",
    "checkbox",
    "money",
    "number",
    "person",
    "attachments",
}

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

# task id -> (name, lane, formKey, status)
EXPECTED_USER_TASKS = {
    "assess": ("评估分级", "企业安全员", "assess", "assessing"),
    "rectify": ("隐患整改", "企业安全员", "rectify", "rectifying"),
    "review": ("整改复查", "企业主要负责人", "review", "reviewing"),
    "plan": ("制定治理方案（五落实）", "企业安全员", "plan", "planning"),
    "approve_report": ("审批方案并双报告", "企业主要负责人", "approve_report", "approving"),
    "supervision_decision": (
        "审查报告并决定挂牌督办",
        "监管人员",
        "supervision_decision",
        "supervision_review",
    ),
    "rectify_major": ("重大隐患整改", "企业安全员", "rectify", "rectifying"),
    "acceptance": ("验收评估", "企业安全员", "acceptance", "accepting"),
    "verification": ("政府现场审查", "监管人员", "verification", "verifying"),
    "write_off": ("核销销号", "监管人员", "write_off", "writing_off"),
}
EXPECTED_END_EVENTS = {"end_closed": ("已闭环", "closed"), "end_written_off": ("已核销", "written_off")}
# The ends of the paths a deadline timer starts: they record the overdue, they do not end the hazard.
OVERDUE_END_EVENTS = {"end_rectify_overdue", "end_rectify_major_overdue", "end_supervision_overdue",
                      "end_verification_overdue"}
# timer id -> (attached to, deadline property, expression)
EXPECTED_TIMERS = {
    "rectify_deadline": ("rectify", "rectification", 'rectification_deadline + "T23:59:59+08:00"'),
    "rectify_major_deadline": ("rectify_major", "rectification", 'rectification_deadline + "T23:59:59+08:00"'),
    "supervision_deadline_timer": ("rectify_major", "supervision",
                                   'supervision_deadline + "T23:59:59+08:00" if listed else None'),
    "verification_limit": ("verification", "verification", '"P10D"'),
}

FUTURE = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
TODAY = datetime.date.today().isoformat()

# One valid sample per form (and per branch, where the form has conditional requirements).
SAMPLES = {
    "report": [
        {
            "title": "二号车间配电箱门未关闭",
            "description": "二号车间东侧配电箱箱门敞开，内部带电部件裸露。",
            "location": "二号车间东侧",
            "hazard_type": "unsafe_condition",
            "source": "self_check",
            "photos": [1, 2],
        }
    ],
    "assess": [
        {
            "grade": "general",
            "accident_type": "electric_shock",
            "responsible_person": "张伟",
            "measures": "关闭并锁闭配电箱门，张贴警示标识。",
            "rectification_deadline": FUTURE,
        },
        {
            "grade": "major",
            "responsible_person": "李强",
            "major_criterion": "《工贸企业重大事故隐患判定标准》第十一条第（一）项",
            "assessment_note": "需局部停产整改。",
        },
    ],
    "rectify": [
        {
            "measures_taken": "已更换箱门锁具并张贴警示标识。",
            "after_photos": [3],
            "funds_spent": 350.5,
            "completed_on": TODAY,
        }
    ],
    "review": [
        {"review_result": "pass"},
        {"review_result": "fail", "review_opinion": "警示标识未张贴，重新整改。"},
    ],
    "plan": [
        {
            "goal": "消除粉尘爆炸风险",
            "measures": "更换除尘系统并加装泄爆装置。",
            "funds": 120000,
            "responsible_person": "李强",
            "rectification_deadline": FUTURE,
            "safety_measures": "施工区域隔离，动火作业审批。",
            "emergency_plan": "发生险情立即撤离并启动应急预案。",
            "interim_measures": "相关工段停产，每班巡查。",
        }
    ],
    "approve_report": [
        {
            "plan_decision": "approve",
            "report_current_state": "除尘系统老化，未设泄爆装置。",
            "report_harm": "可能引发粉尘爆炸，整改需停产约一个月。",
            "reported_to_workers_congress": True,
        },
        {"plan_decision": "return", "return_reason": "应急预案缺少疏散路线。"},
    ],
    "supervision_decision": [
        {
            "plan_review": "accept",
            "listed": True,
            "notice_number": "安监督〔2024〕12号",
            "supervision_deadline": FUTURE,
            "supervision_tier": "district",
            "review_opinion": "同意治理方案。",
        },
        {"plan_review": "accept", "listed": False},
    ],
    "acceptance": [
        {
            "acceptance_by": "agency",
            "acceptance_opinion": "整改措施落实到位，同意验收。",
            "acceptance_report": [7],
            "resume_application": True,
        }
    ],
    "verification": [
        {"verification_result": "pass", "verification_opinion": "现场核查合格。", "verified_on": TODAY},
        {
            "verification_result": "fail",
            "verification_opinion": "泄爆装置未安装完毕。",
            "failure_reason": "泄爆口朝向人员通道，须调整。",
            "verified_on": TODAY,
        },
    ],
    "write_off": [{"write_off_document": "安监销〔2024〕3号", "write_off_note": "同意恢复生产。"}, {}],
    # The enterprise's periodic report (bpmn/enterprise_report.bpmn).
    "report_prepare": [{"figures_checked": True, "remarks": "四季度开展专项检查。"}, {"figures_checked": True}],
    "report_sign": [{"sign_decision": "approve"}, {"sign_decision": "return", "return_reason": "资金数据需核实。"}],
    "public_triage": [{"decision": "accept"}, {"decision": "reject", "outcome": "经现场核查，未发现所述情况。"}],
    "public_reward_propose": [{"reward": "none"}, {"reward": "propose", "reason": "举报属实，隐患已受理。"}],
    "public_reward_decide": [{"reward_decision": "approve"}, {"reward_decision": "refuse", "decision_note": "证据不足。"}],
}

# Samples that must fail: (form, index of the valid sample to start from, field to drop or values to set).
INVALID_SAMPLES = [
    ("report", 0, {"drop": "title"}),
    ("report", 0, {"set": {"hazard_type": "unknown"}}),
    ("report", 0, {"set": {"photos": list(range(1, 11))}}),
    ("assess", 0, {"drop": "rectification_deadline"}),
    ("assess", 0, {"drop": "measures"}),
    ("assess", 1, {"drop": "major_criterion"}),
    ("assess", 0, {"drop": "responsible_person"}),
    ("rectify", 0, {"drop": "after_photos"}),
    ("rectify", 0, {"set": {"after_photos": []}}),
    ("rectify", 0, {"set": {"funds_spent": -1}}),
    ("review", 1, {"drop": "review_opinion"}),
    ("plan", 0, {"drop": "emergency_plan"}),
    ("plan", 0, {"drop": "funds"}),
    ("approve_report", 0, {"set": {"reported_to_workers_congress": False}}),
    ("approve_report", 0, {"drop": "report_harm"}),
    ("approve_report", 1, {"drop": "return_reason"}),
    ("supervision_decision", 0, {"drop": "notice_number"}),
    ("supervision_decision", 0, {"drop": "supervision_deadline"}),
    ("supervision_decision", 1, {"drop": "listed"}),
    ("acceptance", 0, {"drop": "acceptance_report"}),
    ("verification", 1, {"drop": "failure_reason"}),
    ("verification", 0, {"set": {"verified_on": "2024-13-45"}}),
    ("write_off", 0, {"set": {"unexpected": "x"}}),
    ("report_prepare", 0, {"set": {"figures_checked": False}}),
    ("report_prepare", 1, {"drop": "figures_checked"}),
    ("report_sign", 1, {"drop": "return_reason"}),
    ("report_sign", 0, {"set": {"sign_decision": "maybe"}}),
    ("public_triage", 1, {"drop": "outcome"}),
    ("public_triage", 0, {"set": {"decision": "ignore"}}),
    ("public_reward_propose", 1, {"drop": "reason"}),
    ("public_reward_decide", 1, {"drop": "decision_note"}),
]


# ----------------------------------------------------------------------------- helpers


def diagram_bytes():
    return DIAGRAM.read_bytes()


def parse_spec(validate=True):
    parser = ClockBpmnParser(validator=VALIDATOR) if validate else ClockBpmnParser()
    parser.add_bpmn_str(diagram_bytes())
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def form_files():
    return sorted(FORMS_DIR.glob("*.json"))


def load_form(key):
    return json.loads((FORMS_DIR / f"{key}.json").read_text(encoding="utf-8"))


def validator_for(key):
    schema = load_form(key)["schema"]
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def user_task_specs(spec):
    return {name: ts for name, ts in spec.task_specs.items() if ts.manual}


def assert_bilingual(value, where):
    assert isinstance(value, dict), f"{where} must be an object with zh and en"
    for lang in ("zh", "en"):
        assert isinstance(value.get(lang), str) and value[lang].strip(), f"{where} lacks {lang}"


def run_lifecycle(answers):
    """Run the process, answering each user task from ``answers[task_id]`` in order.

    Every answer is first validated against the task's form, so the run only uses data a user
    could really submit.  Returns (visited user task ids, statuses shown, final end event id).
    """
    spec, subprocesses = parse_spec()
    wf = BpmnWorkflow(spec, subprocesses)
    wf.task_tree.data.update(SAMPLES["report"][0])
    queues = {task_id: list(items) for task_id, items in answers.items()}
    visited, statuses = [], []
    wf.do_engine_steps()
    for _ in range(50):
        if wf.is_completed():
            break
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        assert len(ready) == 1, f"expected exactly one ready user task, got {ready}"
        task = ready[0]
        task_id = task.task_spec.name
        props = task.task_spec.extensions["properties"]
        assert queues.get(task_id), f"unexpected visit to {task_id} after {visited}"
        answer = queues[task_id].pop(0)
        validator_for(props["formKey"]).validate(answer)
        visited.append(task_id)
        statuses.append(props["status"])
        task.data.update(answer)
        task.run()
        wf.do_engine_steps()
    assert wf.is_completed(), f"workflow did not finish; visited {visited}"
    assert all(not q for q in queues.values()), f"answers left unused: {queues}"
    ends = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
    assert len(ends) == 1
    return visited, statuses, ends[0]


# ----------------------------------------------------------------------------- the diagram


def test_the_diagram_validates_against_the_bpmn_xsd_and_parses():
    spec, _ = parse_spec(validate=True)
    assert spec.name == PROCESS_ID


def test_the_diagram_is_utf8_with_an_xml_declaration_and_an_executable_process():
    raw = diagram_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = etree.fromstring(raw)
    assert root.nsmap.get("spiffworkflow") == NS["spiffworkflow"]
    process = root.find("bpmn:process", NS)
    assert process.get("id") == PROCESS_ID
    assert process.get("isExecutable") == "true"
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [PROCESS_ID]


def test_every_user_task_has_the_expected_name_lane_form_and_status():
    spec, _ = parse_spec()
    tasks = user_task_specs(spec)
    assert set(tasks) == set(EXPECTED_USER_TASKS)
    for task_id, (name, lane, form_key, status) in EXPECTED_USER_TASKS.items():
        ts = tasks[task_id]
        props = ts.extensions["properties"]
        assert ts.bpmn_name == name
        assert ts.lane == lane
        assert props["formKey"] == form_key
        assert props["status"] == status
        assert ts.documentation and ts.documentation.strip(), f"{task_id} lacks documentation"


def test_every_user_task_form_exists_and_every_user_task_has_a_known_lane_and_a_status():
    spec, _ = parse_spec()
    for task_id, ts in user_task_specs(spec).items():
        props = ts.extensions.get("properties", {})
        assert (FORMS_DIR / f"{props.get('formKey')}.json").is_file(), task_id
        assert ts.lane in LANES, task_id
        assert props.get("status"), task_id


def test_end_events_carry_their_status_property():
    spec, _ = parse_spec()
    ends = {name: ts for name, ts in spec.task_specs.items() if isinstance(ts, EndEvent)}
    assert set(ends) == set(EXPECTED_END_EVENTS) | OVERDUE_END_EVENTS
    for end_id in OVERDUE_END_EVENTS:
        assert "status" not in ends[end_id].extensions.get("properties", {}), end_id
    for end_id, (name, status) in EXPECTED_END_EVENTS.items():
        assert ends[end_id].bpmn_name == name
        assert ends[end_id].extensions["properties"]["status"] == status


def test_every_flow_node_is_in_exactly_one_of_the_three_lanes():
    root = etree.fromstring(diagram_bytes())
    process = root.find("bpmn:process", NS)
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    assert {lane.get("name") for lane in lanes} == LANES
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    skip = ("laneSet", "sequenceFlow", "documentation", "extensionElements")
    nodes = [el.get("id") for el in process if etree.QName(el).localname not in skip]
    assert sorted(refs) == sorted(nodes)


def test_gateway_flows_carry_explicit_conditions_on_the_contract_data_names():
    root = etree.fromstring(diagram_bytes())
    process = root.find("bpmn:process", NS)
    conditions = {}
    for flow in process.findall("bpmn:sequenceFlow", NS):
        expr = flow.find("bpmn:conditionExpression", NS)
        if expr is not None:
            xsi_type = expr.get("{http://www.w3.org/2001/XMLSchema-instance}type")
            assert xsi_type == "bpmn:tFormalExpression"
            conditions[(flow.get("sourceRef"), flow.get("targetRef"))] = expr.text.strip()
    assert conditions == {
        ("grade_gateway", "rectify"): 'grade == "general"',
        ("grade_gateway", "plan"): 'grade == "major"',
        ("review_gateway", "end_closed"): 'review_result == "pass"',
        ("review_gateway", "rectify"): 'review_result == "fail"',
        ("plan_gateway", "supervision_decision"): 'plan_decision == "approve"',
        ("plan_gateway", "plan"): 'plan_decision == "return"',
        ("supervision_gateway", "rectify_major"): 'plan_review == "accept"',
        ("supervision_gateway", "plan"): 'plan_review == "return"',
        ("verification_gateway", "write_off"): 'verification_result == "pass"',
        ("verification_gateway", "rectify_major"): 'verification_result == "fail"',
    }


def test_the_deadlines_are_non_interrupting_timers_on_their_tasks_and_there_are_no_script_tasks():
    root = etree.fromstring(diagram_bytes())
    assert not root.findall(".//bpmn:scriptTask", NS)
    timers = {}
    for event in root.iterfind(".//bpmn:boundaryEvent", NS):
        definition = event.find("bpmn:timerEventDefinition", NS)
        assert definition is not None, event.get("id")
        expression = next(iter(definition)).text.strip()
        props = {p.get("name"): p.get("value") for p in event.iterfind(".//spiffworkflow:property", NS)}
        assert event.get("cancelActivity") == "false", "a missed deadline must not cancel the work"
        timers[event.get("id")] = (event.get("attachedToRef"), props.get("deadline"), expression)
    assert timers == EXPECTED_TIMERS
    assert len(root.findall(".//bpmn:timerEventDefinition", NS)) == len(EXPECTED_TIMERS)


def test_the_process_sets_the_default_reminders_and_escalation_tiers():
    process = etree.fromstring(diagram_bytes()).find("bpmn:process", NS)
    props = {p.get("name"): p.get("value")
             for p in process.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
    assert props == {"remindDaysBefore": "3,1", "remindNotify": "officer", "overdueNotify": "officer,principal",
                     "escalateInspectorAfterDays": "3", "escalateBureauHeadAfterDays": "7"}


def _bounds(element):
    b = element.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _overlap(a, b):
    return not (a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1])


def test_every_lane_and_flow_node_has_a_shape_inside_its_lane_and_no_shapes_overlap():
    root = etree.fromstring(diagram_bytes())
    process = root.find("bpmn:process", NS)
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    participant = root.find("bpmn:collaboration/bpmn:participant", NS)
    pool = _bounds(shapes[participant.get("id")])
    assert shapes[participant.get("id")].get("isHorizontal") == "true"
    nodes = []
    for lane in process.findall("bpmn:laneSet/bpmn:lane", NS):
        lane_box = _bounds(shapes[lane.get("id")])
        assert pool[0] <= lane_box[0] and lane_box[0] + lane_box[2] <= pool[0] + pool[2]
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            box = _bounds(shapes[ref.text])
            assert lane_box[0] <= box[0] and box[0] + box[2] <= lane_box[0] + lane_box[2], ref.text
            assert lane_box[1] <= box[1] and box[1] + box[3] <= lane_box[1] + lane_box[3], ref.text
            nodes.append((ref.text, box))
    boxes = dict(nodes)
    hosts = {e.get("id"): e.get("attachedToRef") for e in process.iterfind("bpmn:boundaryEvent", NS)}
    for i, (a, box_a) in enumerate(nodes):
        if a in EXPECTED_USER_TASKS:
            assert box_a[2:] == (100, 80), f"{a} should be 100x80"
        for b, box_b in nodes[i + 1 :]:
            if hosts.get(a) == b or hosts.get(b) == a:
                continue  # a boundary event sits on the edge of its task, by definition
            assert not _overlap(box_a, box_b), f"{a} overlaps {b}"
    for event, host in hosts.items():
        x, y, w, h = boxes[event]
        hx, hy, hw, hh = boxes[host]
        centre = (x + w / 2, y + h / 2)
        on_edge = (centre[1] in (hy, hy + hh) and hx <= centre[0] <= hx + hw) or (
            centre[0] in (hx, hx + hw) and hy <= centre[1] <= hy + hh)
        assert on_edge, f"{event} is not centred on an edge of {host}"


def test_every_sequence_flow_has_an_edge_that_starts_and_ends_on_its_shapes():
    root = etree.fromstring(diagram_bytes())
    process = root.find("bpmn:process", NS)
    shapes = {s.get("bpmnElement"): _bounds(s) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}

    def on_border(point, box):
        x, y, w, h = box
        return (point[0] in (x, x + w) and y <= point[1] <= y + h) or (
            point[1] in (y, y + h) and x <= point[0] <= x + w
        )

    for flow in process.findall("bpmn:sequenceFlow", NS):
        edge = edges[flow.get("id")]
        points = [(float(w.get("x")), float(w.get("y"))) for w in edge.findall("di:waypoint", NS)]
        assert len(points) >= 2
        assert on_border(points[0], shapes[flow.get("sourceRef")]), flow.get("id")
        assert on_border(points[-1], shapes[flow.get("targetRef")]), flow.get("id")


# ----------------------------------------------------------------------------- the forms


def test_there_is_a_form_for_every_form_key_plus_the_report_form():
    spec, _ = parse_spec()
    keys = {ts.extensions["properties"]["formKey"] for ts in user_task_specs(spec).values()}
    # The enterprise's periodic report is a process of its own, with its own forms.
    parser = ClockBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str((FORMS_DIR.parent / "bpmn" / "enterprise_report.bpmn").read_bytes())
    report_keys = {ts.extensions["properties"]["formKey"]
                   for ts in user_task_specs(parser.get_spec("enterprise_report")).values()}
    assert report_keys == {"report_prepare", "report_sign"}
    # So is a public report's triage (issue 15).
    parser.add_bpmn_str((FORMS_DIR.parent / "bpmn" / "public_report_triage.bpmn").read_bytes())
    triage_keys = {ts.extensions["properties"]["formKey"]
                   for ts in user_task_specs(parser.get_spec("public_report_triage")).values()}
    assert triage_keys == {"public_triage", "public_reward_propose", "public_reward_decide"}
    assert {p.stem for p in form_files()} == keys | {"report"} | report_keys | triage_keys


@pytest.mark.parametrize("path", form_files(), ids=lambda p: p.stem)
def test_each_form_file_is_well_formed(path):
    form = json.loads(path.read_text(encoding="utf-8"))
    assert form["key"] == path.stem
    assert_bilingual(form["title"], "title")
    assert_bilingual(form["description"], "description")

    schema = form["schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    properties = schema["properties"]
    assert set(schema.get("required", [])) <= set(properties)
    for clause in schema.get("allOf", []):
        for name in clause["then"].get("required", []):
            assert name in properties
        for name in clause["if"].get("properties", {}):
            assert name in properties

    fields = form["fields"]
    names = [f["name"] for f in fields]
    assert len(names) == len(set(names)), "duplicate field"
    assert set(names) == set(properties), "every property needs a field entry and vice versa"

    for field in fields:
        name, widget, prop = field["name"], field["widget"], properties[field["name"]]
        assert widget in WIDGETS, name
        assert_bilingual(field["label"], f"{name}.label")
        if "help" in field:
            assert_bilingual(field["help"], f"{name}.help")
        if widget in ("select", "radio"):
            values = [c["value"] for c in field["choices"]]
            assert values, name
            for choice in field["choices"]:
                assert choice["value"] in prop["enum"], f"{name}: {choice['value']} not in enum"
                assert_bilingual(choice["label"], f"{name}.{choice['value']}")
            assert set(values) == set(prop["enum"]), f"{name}: every enum value needs a choice"
        else:
            assert "choices" not in field, name
        if widget == "checkbox":
            assert prop["type"] == "boolean", name
        if widget == "date":
            assert prop["type"] == "string" and prop["format"] == "date", name
            assert set(prop) <= {"type", "format", "x-not-past", "x-not-future", "x-max-years-ahead"}, name
            # Every date a user types has a sensible range: a deadline within a few years, a done-date not ahead.
            assert "x-not-future" in prop or prop.get("x-max-years-ahead", 99) <= 5, name
        if widget == "money":
            assert prop["type"] == "number" and prop["minimum"] == 0, name
        if widget in ("text", "textarea", "person"):
            assert prop["type"] == "string" and prop["minLength"] >= 1 and prop["maxLength"] > 0, name
        if widget == "attachments":
            assert prop["type"] == "array" and prop["items"] == {"type": "integer", "minimum": 1}, name
            assert prop["maxItems"] <= 9
            assert field["accept"] in ("image", "document"), name
            assert field.get("max", prop["maxItems"]) <= prop["maxItems"]
            if name in schema.get("required", []):
                assert prop.get("minItems") == 1, name
        if "showIf" in field:
            other = field["showIf"]["field"]
            assert other in properties and other != name, name
            other_prop = properties[other]
            if "enum" in other_prop:
                assert field["showIf"]["equals"] in other_prop["enum"], name
            else:
                assert other_prop["type"] == "boolean", name


def test_the_shared_data_names_have_the_contract_values():
    assert load_form("assess")["schema"]["properties"]["grade"]["enum"] == ["general", "major"]
    assert load_form("review")["schema"]["properties"]["review_result"]["enum"] == ["pass", "fail"]
    assert load_form("verification")["schema"]["properties"]["verification_result"]["enum"] == [
        "pass",
        "fail",
    ]
    assert load_form("approve_report")["schema"]["properties"]["plan_decision"]["enum"] == [
        "approve",
        "return",
    ]
    for key in ("assess", "plan"):
        prop = load_form(key)["schema"]["properties"]["rectification_deadline"]
        assert prop["format"] == "date" and prop["x-not-past"] is True


def test_the_major_hazard_plan_requires_all_five_things_in_place():
    required = set(load_form("plan")["schema"]["required"])
    assert {"measures", "funds", "rectification_deadline", "responsible_person", "emergency_plan"} <= required


@pytest.mark.parametrize("key,index", [(k, i) for k, samples in SAMPLES.items() for i in range(len(samples))])
def test_sample_data_for_each_form_is_valid(key, index):
    validator_for(key).validate(SAMPLES[key][index])


def test_every_form_has_valid_sample_data():
    assert set(SAMPLES) == {p.stem for p in form_files()}


@pytest.mark.parametrize(
    "key,index,change",
    INVALID_SAMPLES,
    ids=[
        f"{k}-{'without-' + c['drop'] if 'drop' in c else 'bad-' + '-'.join(c['set'])}"
        for k, _, c in INVALID_SAMPLES
    ],
)
def test_a_sample_missing_a_required_field_or_with_a_bad_value_fails(key, index, change):
    data = dict(SAMPLES[key][index])
    if "drop" in change:
        del data[change["drop"]]
    data.update(change.get("set", {}))
    with pytest.raises(jsonschema.ValidationError):
        validator_for(key).validate(data)


def test_every_form_with_required_fields_rejects_an_empty_submission():
    for path in form_files():
        form = json.loads(path.read_text(encoding="utf-8"))
        validator = validator_for(form["key"])
        if form["schema"].get("required"):
            assert not validator.is_valid({}), form["key"]
        else:
            assert validator.is_valid({}), form["key"]


# ----------------------------------------------------------------------------- running it

ASSESS_GENERAL, ASSESS_MAJOR = SAMPLES["assess"]
REVIEW_PASS, REVIEW_FAIL = SAMPLES["review"]
APPROVE, RETURN = SAMPLES["approve_report"]
VERIFY_PASS, VERIFY_FAIL = SAMPLES["verification"]
RECTIFY = SAMPLES["rectify"][0]


def test_a_general_hazard_that_passes_review_is_closed():
    visited, statuses, end = run_lifecycle(
        {"assess": [ASSESS_GENERAL], "rectify": [RECTIFY], "review": [REVIEW_PASS]}
    )
    assert visited == ["assess", "rectify", "review"]
    assert statuses == ["assessing", "rectifying", "reviewing"]
    assert end.task_spec.name == "end_closed"
    assert end.task_spec.extensions["properties"]["status"] == "closed"


def test_a_general_hazard_that_fails_review_once_goes_back_to_rectification_then_closes():
    visited, _, end = run_lifecycle(
        {"assess": [ASSESS_GENERAL], "rectify": [RECTIFY, RECTIFY], "review": [REVIEW_FAIL, REVIEW_PASS]}
    )
    assert visited == ["assess", "rectify", "review", "rectify", "review"]
    assert end.task_spec.name == "end_closed"


def test_a_major_hazard_with_a_returned_plan_and_a_failed_verification_is_finally_written_off():
    visited, statuses, end = run_lifecycle(
        {
            "assess": [ASSESS_MAJOR],
            "plan": [SAMPLES["plan"][0], SAMPLES["plan"][0]],
            "approve_report": [RETURN, APPROVE],
            "supervision_decision": [SAMPLES["supervision_decision"][0]],
            "rectify_major": [RECTIFY, RECTIFY],
            "acceptance": [SAMPLES["acceptance"][0], SAMPLES["acceptance"][0]],
            "verification": [VERIFY_FAIL, VERIFY_PASS],
            "write_off": [SAMPLES["write_off"][0]],
        }
    )
    assert visited == [
        "assess",
        "plan",
        "approve_report",
        "plan",
        "approve_report",
        "supervision_decision",
        "rectify_major",
        "acceptance",
        "verification",
        "rectify_major",
        "acceptance",
        "verification",
        "write_off",
    ]
    assert statuses == [
        "assessing",
        "planning",
        "approving",
        "planning",
        "approving",
        "supervision_review",
        "rectifying",
        "accepting",
        "verifying",
        "rectifying",
        "accepting",
        "verifying",
        "writing_off",
    ]
    assert end.task_spec.name == "end_written_off"
    assert end.task_spec.extensions["properties"]["status"] == "written_off"
    assert end.data["verification_result"] == "pass"
    assert end.data["title"] == SAMPLES["report"][0]["title"]


def test_a_major_hazard_that_is_not_listed_still_goes_through_verification():
    visited, _, end = run_lifecycle(
        {
            "assess": [ASSESS_MAJOR],
            "plan": [SAMPLES["plan"][0]],
            "approve_report": [APPROVE],
            "supervision_decision": [SAMPLES["supervision_decision"][1]],
            "rectify_major": [RECTIFY],
            "acceptance": [SAMPLES["acceptance"][0]],
            "verification": [VERIFY_PASS],
            "write_off": [SAMPLES["write_off"][1]],
        }
    )
    assert visited == [
        "assess",
        "plan",
        "approve_report",
        "supervision_decision",
        "rectify_major",
        "acceptance",
        "verification",
        "write_off",
    ]
    assert end.task_spec.name == "end_written_off"
