"""Real diagrams written by others (tests/data/public_bpmn, origin and licence in its README): each is imported
into the process library as an administrator would, adopting the target process's id, and is either refused
on its elements or, once accepted, starts and runs without a server error."""
from __future__ import annotations

import time
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from app.engine.diagram import BPMN, FLOW_NODES, HUMAN_TASKS, SPIFF, adopt_process_id, read_diagram
from app.extensions import db
from app.models import User
from app.services import designer
from tests.helpers import REPORT, complete, hazard

KEY = "hazard_lifecycle"
DATA = Path(__file__).parent / "data" / "public_bpmn"
FILES = sorted(DATA.glob("*/*.bpmn"))


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def refused_on_its_elements(xml: str, problems: list[dict]) -> bool:
    """Whether validation refused the diagram, every problem saying something and naming an element of it
    (or the document as a whole)."""
    diagram = read_diagram(xml)
    ids = set(diagram.elements) | set(diagram.process_ids)
    assert all(p["message"] and (p["element_id"] is None or p["element_id"] in ids) for p in problems), problems
    return bool(problems)


def check_and_run(app, api, fix=lambda xml: xml) -> list[str]:
    """Import every public diagram (fixed by `fix`); the accepted ones are deployed and run. Returns them."""
    accepted = []
    for path in FILES:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            xml = fix(adopt_process_id(path.read_bytes(), KEY))
            if refused_on_its_elements(xml, designer.validate(admin(), KEY, xml).problems):
                continue
            designer.deploy(admin(), KEY, xml)
        accepted.append(path.name)
        runs(api)
    return accepted


def test_public_diagrams_as_they_are_are_refused_on_their_elements_or_run(app, api):
    # Only the two without any human task can run as they are: every other task needs a lane and a form.
    assert check_and_run(app, api) == ["no-tasks.bpmn", "timer.bpmn"]


def runs(api) -> None:
    """A hazard reported now starts on the deployed diagram; its first task can be completed; no 500."""
    officer = api.as_("officer_a")
    resp = officer.post("/hazards", json=REPORT)
    assert resp.status_code == 201, resp.get_json()
    tasks = hazard(officer, resp.get_json()["id"])["current_tasks"]
    if tasks:
        complete(officer, tasks[0]["id"], {"review_result": "pass"})


def q(name: str, ns: str = BPMN) -> str:
    return f"{{{ns}}}{name}"


HEAD = {"documentation", "extensionElements", "supportedInterfaceRef", "ioSpecification", "ioBinding", "auditing",
        "monitoring", "property", "laneSet"}


def as_an_administrator_would_fix(xml: str) -> str:
    """What the designer's panel does for an imported diagram: one lane (企业安全员) holds the process's flow
    nodes, and every human task shows the review form."""
    root = etree.fromstring(xml.encode("utf-8"))
    process = next(p for p in root.iter(q("process")) if p.get("id") == KEY)
    for lane_set in process.findall(q("laneSet")):
        process.remove(lane_set)
    lane_set = etree.Element(q("laneSet"), id="LaneSet_imported")
    lane = etree.SubElement(lane_set, q("lane"), id="Lane_imported", name="企业安全员")
    for node in process:
        if isinstance(node.tag, str) and etree.QName(node).localname in FLOW_NODES and node.get("id"):
            etree.SubElement(lane, q("flowNodeRef")).text = node.get("id")
    first = next(i for i, n in enumerate(process) if not isinstance(n.tag, str) or etree.QName(n).localname not in HEAD)
    process.insert(first, lane_set)
    for task in process.iter(*(q(kind) for kind in HUMAN_TASKS)):
        ext = task.find(q("extensionElements"))
        if ext is None:
            ext = etree.Element(q("extensionElements"))
            task.insert(1 if len(task) and task[0].tag == q("documentation") else 0, ext)
        props = etree.SubElement(ext, q("properties", SPIFF))
        etree.SubElement(props, q("property", SPIFF), name="formKey", value="review")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def test_public_diagrams_given_lanes_and_forms_are_refused_on_their_elements_or_run(app, api):
    accepted = check_and_run(app, api, as_an_administrator_would_fix)
    assert accepted == ["A.1.0.bpmn", "ParallelOrder.bpmn", "no-tasks.bpmn", "timer.bpmn"]


def test_validating_the_largest_public_diagram_takes_under_a_second(app):
    largest = max(FILES, key=lambda p: p.stat().st_size)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = adopt_process_id(largest.read_bytes(), KEY)
        designer.validate(admin(), KEY, xml)  # warm: forms and lanes read once per process
        started = time.perf_counter()
        designer.validate(admin(), KEY, xml)
        assert time.perf_counter() - started < 1.0
