"""A BPMN document as plain data: its elements, the static checks a deployable diagram must pass, diffs.

Everything here reads the XML (after ``check_xml_is_safe``); SpiffWorkflow's own parse and the XSD
run in ``validate_diagram`` too, so one call reports every problem it can find, each pinned to the
element it concerns (``Finding.element_id``; ``None`` for the document as a whole).

Findings carry a ``code`` and an English ``detail``; the services layer turns them into translated
messages.  Nothing here knows about forms or roles: those checks need the database.
"""
from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import asdict, dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from app.engine.errors import DiagramError
from app.engine.sandbox import SAFE_BUILTINS, check_expression, check_loop_cardinality, check_script
from app.engine.specs import ParsedProcess, check_xml_is_safe, parse_process

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

ACTIVITIES = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                        "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                      "complexGateway"})
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
# Tasks a person does: SpiffWorkflow waits for someone on a plain bpmn:task too.
HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
# What nothing in HazardLoop can run or trigger, by element type or by the events an element catches.
UNSUPPORTED_TASKS = {"serviceTask": "service_task", "businessRuleTask": "business_rule_task",
                     "receiveTask": "receive_task"}
UNSUPPORTED_CATCHES = {"message": "message_catch", "signal": "signal_catch"}
CATCHING_EVENTS = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent"})


@dataclass(frozen=True)
class Finding:
    """One problem: the element it concerns (or None), a stable code and an English detail."""

    element_id: str | None
    code: str
    detail: str = ""


@dataclass
class Element:
    """What the application compares and checks about one BPMN element."""

    id: str
    type: str
    name: str | None = None
    container: str | None = None
    lane: str | None = None
    form_key: str | None = None
    status: str | None = None
    condition: str | None = None
    source: str | None = None
    target: str | None = None
    default_flow: str | None = None
    timer_kind: str | None = None
    timer: str | None = None
    script: str | None = None
    pre_script: str | None = None
    post_script: str | None = None
    documentation: str | None = None
    attached_to: str | None = None
    event_kinds: tuple[str, ...] = ()
    link_name: str | None = None
    triggered_by_event: bool = False
    expressions: tuple[tuple[str, str], ...] = ()   # other Python expressions (loop cardinality, ...)
    properties: tuple[tuple[str, str], ...] = ()    # other spiffworkflow:property values (timer settings, ...)

    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


# What a change to each field means to someone reading a version diff.
COMPARED_FIELDS = ("type", "name", "lane", "form_key", "status", "condition", "source", "target", "default_flow",
                   "timer_kind", "timer", "script", "pre_script", "post_script", "documentation", "attached_to",
                   "properties")


@dataclass
class Diagram:
    """The elements of a document, in document order, by id."""

    elements: dict[str, Element] = field(default_factory=dict)
    process_ids: list[str] = field(default_factory=list)
    process_names: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    # Names the document itself puts into task data: data objects, multi-instance items, data inputs/outputs.
    data_names: set[str] = field(default_factory=set)
    # Python outside the flow nodes' own fields: (the id of the element holding it, what it is, the source).
    code: list[tuple[str | None, str, str]] = field(default_factory=list)

    def of_type(self, *types: str) -> list[Element]:
        return [e for e in self.elements.values() if e.type in types]


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _text(node: etree._Element | None) -> str | None:
    if node is None:
        return None
    value = "".join(node.itertext()).strip()
    return value or None


def _children(node: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return node.findall(f"{{{ns}}}{name}")


def _properties(node: etree._Element) -> dict[str, str]:
    props: dict[str, str] = {}
    for ext in _children(node, BPMN, "extensionElements"):
        for prop in ext.iter(f"{{{SPIFF}}}property"):
            if prop.get("name"):
                props[prop.get("name")] = prop.get("value", "")
    return props


def _spiff_text(node: etree._Element, name: str) -> str | None:
    for ext in _children(node, BPMN, "extensionElements"):
        found = ext.find(f"{{{SPIFF}}}{name}")
        if found is not None:
            return _text(found)
    return None


def parse_xml(xml: bytes) -> etree._Element:
    """The document's root, parsed without entities, DTDs or network (after the size/entity check)."""
    check_xml_is_safe(xml)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:  # e.g. nesting deeper than lxml allows without huge_tree
        raise DiagramError([(None, f"the file is not well-formed XML: {exc}")]) from None


def read_diagram(xml: str | bytes) -> Diagram:
    """The diagram's elements as plain data; raises DiagramError when the XML is unsafe or malformed."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    root = parse_xml(data)
    diagram = Diagram()
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("id"):
            diagram.process_ids.append(process.get("id"))
            if process.get("name"):
                diagram.process_names[process.get("id")] = process.get("name")
            _read_container(process, process.get("id"), diagram, _lanes_of(process), None)
    for kind in _DATA_ELEMENTS:
        for node in root.iter(f"{{{BPMN}}}{kind}"):
            diagram.data_names.update(v for v in (node.get("id"), node.get("name"), _text(node)) if v)
    diagram.code = _read_other_code(root)
    return diagram


_DATA_ELEMENTS = ("dataObject", "dataInput", "dataOutput", "inputDataItem", "outputDataItem", "loopDataInputRef",
                  "loopDataOutputRef")


def _owner_id(node: etree._Element) -> str | None:
    """The id of the nearest BPMN element around `node` (the message, the service task, ...)."""
    while node is not None and not (node.get("id") and etree.QName(node).namespace == BPMN):
        node = node.getparent()
    return None if node is None else node.get("id")


def _read_other_code(root: etree._Element) -> list[tuple[str | None, str, str]]:
    """The Python expressions SpiffWorkflow evaluates that are not a flow node's condition, script, timer or
    loop: message payloads, correlation expressions and service-task parameters, so that they are checked when
    the diagram is deployed rather than when a hazard first reaches them."""
    found = [(_owner_id(node), "messagePayload", _text(node))
             for node in root.iter(f"{{{SPIFF}}}messagePayload")]
    found += [(_owner_id(expr), "correlation", _text(expr))
              for prop in root.iter(f"{{{SPIFF}}}processVariableCorrelation")
              for expr in prop.iter(f"{{{SPIFF}}}expression")]
    found += [(_owner_id(expr), "messagePath", _text(expr))
              for prop in root.iter(f"{{{BPMN}}}correlationPropertyRetrievalExpression")
              for expr in prop.iter(f"{{{BPMN}}}formalExpression")]
    found += [(_owner_id(node), f"parameter {node.get('id')}", node.get("value"))
              for node in root.iter(f"{{{SPIFF}}}parameter") if node.get("value") is not None]
    return [(owner, what, source) for owner, what, source in found if source]


def _lanes_of(process: etree._Element) -> dict[str, str]:
    """Flow node id -> lane name; nested lanes come later in document order, so the innermost wins."""
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):
        for ref in _children(lane, BPMN, "flowNodeRef"):
            if ref.text and ref.text.strip():
                lanes[ref.text.strip()] = (lane.get("name") or "").strip()
    return lanes


def _read_container(container: etree._Element, container_id: str, diagram: Diagram, lanes: dict[str, str],
                    container_lane: str | None) -> None:
    """Read the flow elements of a process or sub-process; inside a sub-process an element without a lane of
    its own takes the sub-process's lane (SpiffWorkflow assigns it so)."""
    for node in container:
        kind = _local(node.tag)
        if etree.QName(node).namespace != BPMN or not node.get("id"):
            continue
        if kind not in FLOW_NODES and kind not in {"sequenceFlow"}:
            continue
        element = Element(id=node.get("id"), type=kind, name=(node.get("name") or "").strip() or None,
                          container=container_id, documentation=_text(node.find(f"{{{BPMN}}}documentation")))
        diagram.lines[element.id] = node.sourceline or 0
        if kind == "sequenceFlow":
            element.source, element.target = node.get("sourceRef"), node.get("targetRef")
            element.condition = _text(node.find(f"{{{BPMN}}}conditionExpression"))
        else:
            element.lane = lanes.get(element.id) or container_lane or None
            props = _properties(node)
            element.form_key = props.get("formKey") or None
            element.status = props.get("status") or None
            element.properties = tuple(sorted((k, v) for k, v in props.items() if k not in {"formKey", "status"}))
            element.default_flow = node.get("default")
            element.attached_to = node.get("attachedToRef")
            element.pre_script = _spiff_text(node, "preScript")
            element.post_script = _spiff_text(node, "postScript")
            element.triggered_by_event = node.get("triggeredByEvent") == "true"
            if kind == "scriptTask":
                element.script = _text(node.find(f"{{{BPMN}}}script"))
            _read_event_definitions(node, element)
            _read_other_expressions(node, element)
        diagram.elements[element.id] = element
        if kind in CONTAINERS:
            _read_container(node, element.id, diagram, lanes, element.lane)


def _read_event_definitions(node: etree._Element, element: Element) -> None:
    kinds = []
    for child in node:
        name = _local(child.tag)
        if not name.endswith("EventDefinition"):
            continue
        kinds.append(name.removesuffix("EventDefinition"))
        if name == "timerEventDefinition":
            for timer_kind in TIMER_KINDS:
                expr = child.find(f"{{{BPMN}}}{timer_kind}")
                if expr is not None:
                    element.timer_kind, element.timer = timer_kind, _text(expr) or ""
        elif name == "linkEventDefinition":
            element.link_name = child.get("name")
        elif name == "conditionalEventDefinition":
            condition = _text(child.find(f"{{{BPMN}}}condition"))
            if condition:
                element.expressions += (("condition", condition),)
    element.event_kinds = tuple(kinds)


def _read_other_expressions(node: etree._Element, element: Element) -> None:
    loop = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    if loop is None:
        loop = node.find(f"{{{BPMN}}}standardLoopCharacteristics")
    if loop is None:
        return
    for part in ("loopCardinality", "completionCondition", "loopCondition"):
        text = _text(loop.find(f"{{{BPMN}}}{part}"))
        if text:
            element.expressions += ((part, text),)


# ------------------------------------------------------------------------------------------------ import
def main_process_id(root: etree._Element) -> str | None:
    """The process an imported document is about: its only executable process, else the one with the most
    flow elements (a collaboration's other pools are often empty black boxes)."""
    processes = [p for p in root.iter(f"{{{BPMN}}}process") if p.get("id")]
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    candidates = executable if len(executable) == 1 else processes
    if not candidates:
        return None
    return max(candidates, key=lambda p: sum(1 for n in p.iter() if _local(n.tag) in FLOW_NODES)).get("id")


_PROCESS_REFERENCES = ("processRef", "bpmnElement", "calledElement")


def adopt_process_id(xml: str | bytes, process_key: str, source_id: str | None = None, name: str | None = None) -> str:
    """The document with process `source_id` (default: its main process) renamed to `process_key` everywhere
    it is referenced (participants, the diagram plane, call activities); a process already named
    `process_key` is left as it is. The adopted process is marked executable and, given a `name`, named so
    (with the pool that shows it). Raises DiagramError when the document is unsafe, malformed or has no
    such process."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    root = parse_xml(data)
    ids = {p.get("id") for p in root.iter(f"{{{BPMN}}}process")}
    if process_key in ids and source_id in (None, process_key) and name is None:
        return data.decode("utf-8")
    source = source_id or main_process_id(root)
    if source is None or source not in ids:
        raise DiagramError([(None, f"the document has no process {source_id or ''}".strip())])
    if process_key in ids and source != process_key:
        raise DiagramError([(None, f"the document already has another process with the id {process_key}")])
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        if node.get("id") == source and _local(node.tag) == "process":
            node.set("id", process_key)
            node.set("isExecutable", "true")  # imported to run here
            if name:
                node.set("name", name)
        if name and _local(node.tag) == "participant" and node.get("processRef") == source:
            node.set("name", name)
        for attr in _PROCESS_REFERENCES:
            if node.get(attr) == source:
                node.set(attr, process_key)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


# ------------------------------------------------------------------------------------------------ checks
def check_supported(diagram: Diagram) -> list[Finding]:
    """Elements nothing in HazardLoop can run or trigger: service, DMN and receive tasks, message and signal
    catch events (nothing sends them), each with its own code so the message can say what to use instead."""
    found: list[Finding] = []
    for el in diagram.elements.values():
        if el.type in UNSUPPORTED_TASKS:
            found.append(Finding(el.id, UNSUPPORTED_TASKS[el.type], el.label()))
        elif el.type in CATCHING_EVENTS:
            found += [Finding(el.id, UNSUPPORTED_CATCHES[kind], el.label())
                      for kind in el.event_kinds if kind in UNSUPPORTED_CATCHES]
    return found


_FOREIGN_EXPRESSION = re.compile(r"[$#]\{")


def check_code(diagram: Diagram) -> list[Finding]:
    """Every condition, script and timer expression must pass the restricted evaluator's static check."""
    found: list[Finding] = []
    for el in diagram.elements.values():
        if el.condition is not None:
            found += _check_expression(el.id, "condition", el.condition)
        for code, source in (("script", el.script), ("pre_script", el.pre_script), ("post_script", el.post_script)):
            if source:
                found += [Finding(el.id, code, p) for p in check_script(source)]
        for part, source in el.expressions:
            if part == "loopCardinality":
                found += [Finding(el.id, "expression", f"{part}: {p}") for p in check_loop_cardinality(source)]
            else:
                found += _check_expression(el.id, "expression", source, f"{part}: ")
        if el.timer_kind is not None:
            found += _check_timer(el)
    for owner, what, source in diagram.code:
        found += [Finding(owner, "expression", f"{what}: {p}") for p in check_expression(source)]
    return found


# Names every expression and script may read without anything defining them: the evaluator's own.
EVALUATOR_NAMES = frozenset(SAFE_BUILTINS) | {"now", "today"}


def code_of(el: Element) -> list[tuple[str, str, str]]:
    """(what, mode, source) of every piece of Python an element holds: scripts run ("exec"); conditions,
    other expressions and timers are evaluated ("eval")."""
    found = [(what, "exec", code) for what, code in (("script", el.script), ("pre_script", el.pre_script),
                                                      ("post_script", el.post_script)) if code]
    if el.condition:
        found.append(("condition", "eval", el.condition))
    found += [(part, "eval", code) for part, code in el.expressions if code]
    if el.timer:
        found.append(("timer", "eval", el.timer))
    return found


def _parsed(source: str, mode: str) -> ast.AST | None:
    try:
        return ast.parse(source.strip(), mode=mode)
    except SyntaxError:
        return None  # check_code reports it


def _stored_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}


def _names_read(tree: ast.AST) -> set[str]:
    """The names a piece of code reads that it does not bind itself (assignments, comprehensions, lambdas)."""
    local = _stored_names(tree) | {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - local


@dataclass(frozen=True)
class Read:
    """An element whose code reads names from task data: which code (condition, script, timer, ...) and the names."""

    element_id: str
    what: str
    names: frozenset[str]


def data_reads(diagram: Diagram) -> list[Read]:
    """What each element's code reads from task data (a real parse of the Python, not a text search): the names
    it reads that neither the code itself, any script of the diagram, a data object nor the evaluator defines."""
    trees = [(el.id, what, mode, tree) for el in diagram.elements.values() for what, mode, source in code_of(el)
             if (tree := _parsed(source, mode)) is not None]
    stored = {name for _e, _w, mode, tree in trees if mode == "exec" for name in _stored_names(tree)}
    defined = stored | diagram.data_names | EVALUATOR_NAMES
    reads = []
    for element_id, what, _mode, tree in trees:
        names = _names_read(tree) - defined
        if names:
            reads.append(Read(element_id, what, frozenset(names)))
    return reads


def check_names(diagram: Diagram, provided: set[str]) -> list[Finding]:
    """Names that conditions, scripts and timers read but nothing defines: not `provided` (the start data, the
    fields of the diagram's forms), not set by any script of the diagram, not a data object, not the
    evaluator's own (`x`, `done`, `get_env()` in diagrams written for another engine)."""
    return [Finding(read.element_id, "undefined_name", name) for read in data_reads(diagram)
            for name in sorted(read.names - provided)]


def _check_expression(element_id: str, code: str, source: str, prefix: str = "") -> list[Finding]:
    if _FOREIGN_EXPRESSION.search(source):  # Camunda/JUEL: ${approved}, #{x > 1}
        return [Finding(element_id, "foreign_expression", source)]
    return [Finding(element_id, code, f"{prefix}{p}") for p in check_expression(source)]


# Quartz/cron: "0 0 9 * * ?", "0 */5 * * *" (five to seven fields of digits, *, ?, /, -, ,, L, W, #, names)
_CRON = re.compile(r"^[\w*?/,#-]+(\s+[\w*?/,#-]+){4,6}$")
_ISO_TIMER = re.compile(r"^(R\d*/)?P(\d|T\d)|^\d{4}-\d{2}-\d{2}", re.IGNORECASE)


def _check_timer(el: Element) -> list[Finding]:
    """Timer expressions are Python: "P30D" quoted, or a variable holding an ISO date/duration/cycle."""
    source = (el.timer or "").strip()
    if not source:
        return [Finding(el.id, "timer_empty")]
    if _FOREIGN_EXPRESSION.search(source):
        return [Finding(el.id, "foreign_expression", source)]
    if _CRON.match(source.strip("\"'")):
        return [Finding(el.id, "timer_cron", source)]
    if _ISO_TIMER.match(source):  # P30D, R2/PT1H or 2026-01-31 written bare: a name or a syntax error
        return [Finding(el.id, "timer_unquoted", source)]
    if problems := check_expression(source):
        return [Finding(el.id, "timer", p) for p in problems]
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return []  # a variable or a computed value: it is evaluated when the timer starts
    if not isinstance(value, str):
        return [Finding(el.id, "timer_format", repr(value))]
    try:
        if el.timer_kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif el.timer_kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception/ValueError/AttributeError here
        return [Finding(el.id, "timer_format", value)]
    return []


def check_paths(diagram: Diagram) -> list[Finding]:
    """Every flow node is reachable from a start event and can reach an end event (per process/sub-process)."""
    found: list[Finding] = []
    containers = list(diagram.process_ids) + [e.id for e in diagram.elements.values() if e.type in CONTAINERS]
    for container in containers:
        found += _check_container_paths(diagram, container)
    return found


def _check_container_paths(diagram: Diagram, container: str) -> list[Finding]:
    nodes = {e.id: e for e in diagram.elements.values() if e.container == container and e.type in FLOW_NODES}
    if not nodes:
        return []
    forward: dict[str, set[str]] = {n: set() for n in nodes}
    backward: dict[str, set[str]] = {n: set() for n in nodes}

    def link(a: str, b: str) -> None:
        if a in nodes and b in nodes:
            forward[a].add(b)
            backward[b].add(a)

    broken: list[Finding] = []
    for flow in diagram.elements.values():
        if flow.type == "sequenceFlow" and flow.container == container:
            missing = [ref for ref in (flow.source, flow.target) if ref not in nodes]
            if missing:
                broken.append(Finding(flow.id, "flow_ends", ", ".join(str(ref) for ref in missing)))
            else:
                link(flow.source, flow.target)
    throws: dict[str, list[str]] = {}
    for el in nodes.values():
        if el.attached_to:
            link(el.attached_to, el.id)
        if el.link_name and el.type == "intermediateThrowEvent":
            throws.setdefault(el.link_name, []).append(el.id)
    for el in nodes.values():
        if el.link_name and el.type == "intermediateCatchEvent":
            for thrower in throws.get(el.link_name, []):
                link(thrower, el.id)

    starts = [n for n, e in nodes.items() if e.type == "startEvent" or e.triggered_by_event]
    ends = [n for n, e in nodes.items() if e.type == "endEvent" or e.triggered_by_event]
    if not starts:
        return [Finding(None if container in diagram.process_ids else container, "no_start",
                        f"{container} has no start event")]
    if not ends:
        return [Finding(None if container in diagram.process_ids else container, "no_end",
                        f"{container} has no end event")]
    # Likewise a node without incoming flows is the one to report, not the nodes that follow it.
    orphans = [n for n in nodes if not backward[n] and n not in starts]
    reachable = _walk(starts + orphans, forward)
    # A node without outgoing flows is the dead end to report; the nodes before it are stuck only
    # because of it, so they are reported only when they are stuck anyway (a loop with no exit).
    dead_ends = [n for n in nodes if not forward[n] and n not in ends]
    finishing = _walk(ends + dead_ends, backward)
    found = broken
    for node_id, el in nodes.items():
        if node_id in orphans or node_id not in reachable:
            found.append(Finding(node_id, "unreachable", el.label()))
        elif node_id in dead_ends:
            found.append(Finding(node_id, "dead_end", el.label()))
        elif node_id not in finishing:
            found.append(Finding(node_id, "no_way_to_end", el.label()))
    return found


def _walk(roots: list[str], edges: dict[str, set[str]]) -> set[str]:
    seen, queue = set(roots), deque(roots)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _element_at_line(root: etree._Element, line: int | None) -> str | None:
    """The element an XSD error on `line` belongs to: the nearest enclosing element with an id.

    Diagram-interchange shapes (BPMNShape/BPMNEdge) name the model element they draw, which is
    the one the designer can mark.
    """
    if not line:
        return None
    at = None
    for node in root.iter():
        if not isinstance(node.tag, str) or not node.sourceline:
            continue
        if node.sourceline > line:
            break
        at = node
    while at is not None and not at.get("id"):
        at = at.getparent()
    if at is None:
        return None
    return at.get("bpmnElement") or at.get("id")


@dataclass
class DiagramCheck:
    """The result of validating a document: its model (when readable), its parse, and every finding."""

    findings: list[Finding]
    diagram: Diagram | None = None
    parsed: ParsedProcess | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


def validate_diagram(xml: str | bytes, process_key: str) -> DiagramCheck:
    """Safety, XSD, SpiffWorkflow parse, code in the restricted evaluator, and paths; all problems at once."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        root = parse_xml(data)
    except DiagramError as exc:
        return DiagramCheck([Finding(el, "xml", msg) for el, msg in exc.problems])
    diagram = read_diagram(data)
    findings: list[Finding] = []
    if process_key not in diagram.process_ids:
        findings.append(Finding(None, "no_process", process_key))
    schema_findings = _check_schema(data, root)
    findings += schema_findings
    parsed = None
    if not schema_findings and process_key in diagram.process_ids:
        try:
            parsed = parse_process(data, process_key, validate=False)
        except DiagramError as exc:
            findings += [Finding(element, "parse", message) for element, message in exc.problems]
    findings += check_supported(diagram)
    findings += check_code(diagram)
    findings += check_paths(diagram)
    findings += check_documentation(root)
    return DiagramCheck(_unique(findings), diagram, parsed)


def check_documentation(root: etree._Element) -> list[Finding]:
    """Documentation is text: markup inside it (an XHTML <script>, any foreign element) is refused, so that a
    diagram served back to a browser can never carry code into our pages."""
    return [Finding(_owner_id(node.getparent()), "documentation_markup", etree.QName(child).localname)
            for node in root.iter(f"{{{BPMN}}}documentation")
            for child in node if isinstance(child.tag, str)]


def _check_schema(data: bytes, root: etree._Element) -> list[Finding]:
    """BPMN 2.0 XSD validation with every error, each pinned to the element on its line."""
    tree = parse_xml(data)  # a fresh tree: SpiffWorkflow's preprocessing renames some tags in place
    VALIDATOR.preprocess(tree)
    schema = VALIDATOR.validator
    if schema.validate(tree):
        return []
    return [Finding(_element_at_line(root, error.line), "schema", _short_names(error.message))
            for error in schema.error_log]


def _short_names(message: str) -> str:
    return message.replace(f"{{{BPMN}}}", "bpmn:").replace(f"{{{SPIFF}}}", "spiffworkflow:")


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


# -------------------------------------------------------------------------------------------------- diff
@dataclass
class ElementChange:
    id: str
    type: str
    name: str | None
    changes: dict[str, tuple[object, object]]


@dataclass
class DiagramDiff:
    added: list[Element]
    removed: list[Element]
    changed: list[ElementChange]

    def as_dict(self) -> dict:
        return {"added": [asdict(e) for e in self.added], "removed": [asdict(e) for e in self.removed],
                "changed": [asdict(c) for c in self.changed]}


def compare(old: Diagram, new: Diagram) -> DiagramDiff:
    """Added, removed and changed elements, matched by id (name, type, lane, form, conditions, timers, ...)."""
    added = [e for i, e in new.elements.items() if i not in old.elements]
    removed = [e for i, e in old.elements.items() if i not in new.elements]
    changed = []
    for element_id, before in old.elements.items():
        after = new.elements.get(element_id)
        if after is None:
            continue
        changes = {f: (getattr(before, f), getattr(after, f)) for f in COMPARED_FIELDS
                   if getattr(before, f) != getattr(after, f)}
        if changes:
            changed.append(ElementChange(element_id, after.type, after.name, changes))
    return DiagramDiff(added, removed, changed)


# ------------------------------------------------------------------------------------------- timer lengths
def timer_days(el: Element) -> int | None:
    """The whole number of days of a duration timer written as a literal ("P10D", "P2W"); None otherwise (a
    date, a cycle, a computed value, or a length that is not whole days)."""
    if el.timer_kind != "timeDuration" or not el.timer:
        return None
    try:
        value = ast.literal_eval(el.timer.strip())
    except (ValueError, SyntaxError):
        return None
    if not isinstance(value, str):
        return None
    try:
        parts = TimerEventDefinition.parse_iso_duration(value)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare exceptions for what it cannot read
        return None
    if not isinstance(parts, dict) or set(parts) - {"days", "weeks", "hours"}:
        return None
    hours = parts.get("weeks", 0) * 168 + parts.get("days", 0) * 24 + parts.get("hours", 0)
    return int(hours // 24) if hours % 24 == 0 and hours > 0 else None
