"""Edits to the shipped lifecycle diagram for the designer tests, made by element id (not by text)."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "bpmn" / "hazard_lifecycle.bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


def q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def shipped() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def _tree(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def _text(root: etree._Element) -> str:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _by_id(root: etree._Element, element_id: str) -> etree._Element:
    found = root.xpath("//*[@id=$i]", i=element_id)
    assert found, f"no element {element_id}"
    return found[0]


def _process(root: etree._Element) -> etree._Element:
    return root.find("bpmn:process", NS)


def _shape_bounds(root: etree._Element, element_id: str) -> etree._Element | None:
    shape = root.xpath("//bpmndi:BPMNShape[@bpmnElement=$i]/dc:Bounds", namespaces=NS, i=element_id)
    return shape[0] if shape else None


def _add_edge_di(root: etree._Element, flow_id: str, source: str, target: str) -> None:
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    edge = etree.SubElement(plane, q("bpmndi", "BPMNEdge"), id=f"{flow_id}_di", bpmnElement=flow_id)
    for end in (source, target):
        b = _shape_bounds(root, end)
        x = float(b.get("x")) + float(b.get("width")) / 2 if b is not None else 0
        y = float(b.get("y")) + float(b.get("height")) / 2 if b is not None else 0
        etree.SubElement(edge, q("di", "waypoint"), x=str(int(x)), y=str(int(y)))


def add_user_task_after(xml: str, after: str, task_id: str, name: str, form: str | None = "review",
                        lane: str | None = "Lane_principal", status: str | None = None) -> str:
    """Insert a user task right after element `after`: after -> new task -> what `after` led to."""
    root = _tree(xml)
    task = etree.SubElement(_process(root), q("bpmn", "userTask"), id=task_id, name=name)
    if form or status:
        ext = etree.SubElement(task, q("bpmn", "extensionElements"))
        props = etree.SubElement(ext, q("spiffworkflow", "properties"))
        if form:
            etree.SubElement(props, q("spiffworkflow", "property"), name="formKey", value=form)
        if status:
            etree.SubElement(props, q("spiffworkflow", "property"), name="status", value=status)
    return _insert_after(root, after, task, lane)


def add_lane(xml: str, lane_id: str, name: str) -> str:
    """Add an empty lane (below the others) to the process's lane set."""
    root = _tree(xml)
    lane_set = _process(root).find("bpmn:laneSet", NS)
    etree.SubElement(lane_set, q("bpmn", "lane"), id=lane_id, name=name)
    return _text(root)


def add_property(xml: str, element_id: str, name: str, value: str) -> str:
    """Give an element one more spiffworkflow:property (its properties element must exist)."""
    root = _tree(xml)
    props = _by_id(root, element_id).find(".//spiffworkflow:properties", NS)
    etree.SubElement(props, q("spiffworkflow", "property"), name=name, value=value)
    return _text(root)


def add_script_task_after(xml: str, after: str, task_id: str, name: str, script: str,
                          lane: str | None = "Lane_safety_officer") -> str:
    """Insert a script task right after element `after` (its script runs as soon as the flow reaches it)."""
    root = _tree(xml)
    task = etree.SubElement(_process(root), q("bpmn", "scriptTask"), id=task_id, name=name)
    return _insert_after(root, after, task, lane, script=script)


def _insert_after(root: etree._Element, after: str, task: etree._Element, lane: str | None,
                  script: str | None = None) -> str:
    process, task_id = _process(root), task.get("id")
    new_flow = f"Flow_{after}_{task_id}"
    outgoing = []
    for flow in process.findall("bpmn:sequenceFlow", NS):
        if flow.get("sourceRef") == after:
            flow.set("sourceRef", task_id)
            outgoing.append(flow.get("id"))
            for ref in _by_id(root, after).findall("bpmn:outgoing", NS):
                if ref.text == flow.get("id"):
                    ref.text = new_flow
    incoming = etree.Element(q("bpmn", "incoming"))
    incoming.text = new_flow
    task.insert(1 if len(task) and task[0].tag == q("bpmn", "extensionElements") else 0, incoming)
    for flow_id in outgoing:
        etree.SubElement(task, q("bpmn", "outgoing")).text = flow_id
    if script is not None:  # the schema wants the script after incoming/outgoing
        etree.SubElement(task, q("bpmn", "script")).text = script
    etree.SubElement(process, q("bpmn", "sequenceFlow"), id=new_flow, sourceRef=after, targetRef=task_id)
    if lane:
        ref = etree.SubElement(_by_id(root, lane), q("bpmn", "flowNodeRef"))
        ref.text = task_id
        ref.getparent().insert(0, ref)
    after_bounds = _shape_bounds(root, after)
    plane = root.find(".//bpmndi:BPMNPlane", NS)
    shape = etree.SubElement(plane, q("bpmndi", "BPMNShape"), id=f"{task_id}_di", bpmnElement=task_id)
    x = float(after_bounds.get("x")) + 40 if after_bounds is not None else 300
    y = float(after_bounds.get("y")) + 90 if after_bounds is not None else 300
    etree.SubElement(shape, q("dc", "Bounds"), x=str(int(x)), y=str(int(y)), width="100", height="80")
    _add_edge_di(root, new_flow, after, task_id)
    return _text(root)


def remove_task(xml: str, task_id: str) -> str:
    """Remove a task with one outgoing flow; flows into it go straight to its successor."""
    root = _tree(xml)
    process = _process(root)
    out_flows = [f for f in process.findall("bpmn:sequenceFlow", NS) if f.get("sourceRef") == task_id]
    assert len(out_flows) == 1
    successor, out_id = out_flows[0].get("targetRef"), out_flows[0].get("id")
    for flow in process.findall("bpmn:sequenceFlow", NS):
        if flow.get("targetRef") == task_id:
            flow.set("targetRef", successor)
            etree.SubElement(_by_id(root, successor), q("bpmn", "incoming")).text = flow.get("id")
    succ = _by_id(root, successor)
    for ref in succ.findall("bpmn:incoming", NS):
        if ref.text == out_id:
            succ.remove(ref)
    for node in [_by_id(root, task_id), _by_id(root, out_id)]:
        node.getparent().remove(node)
    for ref in root.iterfind(".//bpmn:flowNodeRef", NS):
        if ref.text == task_id:
            ref.getparent().remove(ref)
    for di in root.xpath("//*[@bpmnElement=$a or @bpmnElement=$b]", a=task_id, b=out_id):
        di.getparent().remove(di)
    return _text(root)


def set_property(xml: str, element_id: str, name: str, value: str) -> str:
    root = _tree(xml)
    for prop in _by_id(root, element_id).iterfind(".//spiffworkflow:property", NS):
        if prop.get("name") == name:
            prop.set("value", value)
    return _text(root)


def set_condition(xml: str, flow_id: str, expression: str) -> str:
    root = _tree(xml)
    _by_id(root, flow_id).find("bpmn:conditionExpression", NS).text = expression
    return _text(root)


def set_name(xml: str, element_id: str, name: str) -> str:
    root = _tree(xml)
    _by_id(root, element_id).set("name", name)
    return _text(root)


def rename_id(xml: str, old: str, new: str) -> str:
    """Give an element a new id everywhere it is referenced (for the engine, a removed and an added task)."""
    root = _tree(xml)
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in ("id", "sourceRef", "targetRef", "bpmnElement", "attachedToRef", "default"):
            if node.get(attr) == old:
                node.set(attr, new)
        if node.tag == q("bpmn", "flowNodeRef") and node.text == old:
            node.text = new
    return _text(root)


def add_boundary_timer(xml: str, task_id: str, timer_id: str, duration: str = '"P3D"') -> str:
    """Attach a non-interrupting duration timer to a task, leading to its own end event."""
    root = _tree(xml)
    process = _process(root)
    flow_id, end_id = f"Flow_{timer_id}", f"{timer_id}_end"
    event = etree.SubElement(process, q("bpmn", "boundaryEvent"), id=timer_id, name="提醒",
                             cancelActivity="false", attachedToRef=task_id)
    etree.SubElement(event, q("bpmn", "outgoing")).text = flow_id
    definition = etree.SubElement(event, q("bpmn", "timerEventDefinition"), id=f"{timer_id}_definition")
    etree.SubElement(definition, q("bpmn", "timeDuration")).text = duration
    end = etree.SubElement(process, q("bpmn", "endEvent"), id=end_id)
    etree.SubElement(end, q("bpmn", "incoming")).text = flow_id
    etree.SubElement(process, q("bpmn", "sequenceFlow"), id=flow_id, sourceRef=timer_id, targetRef=end_id)
    return _text(root)


def activate_unchecked(process_key: str, xml: str) -> None:
    """Make `xml` the active version without validation, as a diagram deployed before the dry run existed
    (or one that only fails on data a real hazard brings) would be; in the caller's app context, committed."""
    from sqlalchemy import func, select, update

    from app.clock import clock
    from app.engine.specs import sha256_of
    from app.extensions import db
    from app.models import ProcessVersion

    number = (db.session.scalar(select(func.max(ProcessVersion.number))
                                .where(ProcessVersion.process_key == process_key)) or 0) + 1
    db.session.execute(update(ProcessVersion).where(ProcessVersion.process_key == process_key).values(active=False))
    db.session.add(ProcessVersion(process_key=process_key, number=number, bpmn_xml=xml, sha256=sha256_of(xml),
                                  active=True, deployed_at=clock.now(), note="deployed before the dry run"))
    db.session.commit()
