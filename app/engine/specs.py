"""Parsing BPMN into specs, once per process version (cached by the XML's sha256)."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as safe_fromstring
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from app.engine.errors import DiagramError
from app.engine.timers import ClockBpmnParser

MAX_BPMN_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class UserTaskMeta:
    """What the application needs to know about one user task of a diagram."""

    name: str           # the BPMN element id
    title: str          # the element's (Chinese) name
    lane: str | None
    form_key: str | None
    status: str | None
    documentation: str | None
    # The user tasks whose outcome this one decides on or redoes: the nearest user tasks before it, found by
    # walking its incoming flows back over gateways and events (not through boundary events).
    predecessors: tuple[str, ...] = ()
    # Those of the predecessors that send this task back: their way here closes a loop of the diagram (a flow
    # back to a step done before, as a failed review's flow back to rectification).
    returns_from: tuple[str, ...] = ()
    # Four-eyes: the id of an earlier user task whose doer may not do this one (its `differentPersonFrom`
    # property names it by id or by name; resolved to the id here, None when it names no user task).
    different_person_from: str | None = None


@dataclass(frozen=True)
class TimerEventMeta:
    """A timer event of a diagram: where it sits and its ``spiffworkflow:property`` values."""

    name: str                   # the BPMN element id
    title: str                  # the element's name
    expression: str
    attached_to: str | None     # the id of the task a boundary timer is attached to
    interrupting: bool
    properties: dict[str, str]


@dataclass
class ParsedProcess:
    process_key: str
    sha256: str
    spec: object
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskMeta] = field(default_factory=dict)
    end_statuses: dict[str, str] = field(default_factory=dict)
    timer_events: dict[str, TimerEventMeta] = field(default_factory=dict)
    # ``spiffworkflow:property`` values on the process element itself (defaults for its timers).
    properties: dict[str, str] = field(default_factory=dict)


def sha256_of(xml: str | bytes) -> str:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return hashlib.sha256(data).hexdigest()


def check_xml_is_safe(xml: bytes) -> None:
    """Refuse oversize documents, DTDs, entities and external references before lxml sees them."""
    if len(xml) > MAX_BPMN_BYTES:
        raise DiagramError([(None, f"the diagram is {len(xml)} bytes; the limit is {MAX_BPMN_BYTES} bytes")])
    try:
        safe_fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise DiagramError([(None, "DTDs and entity declarations are not allowed in a diagram")]) from None
    except ParseError as exc:
        raise DiagramError([(None, f"the file is not well-formed XML: {exc}")]) from None


def _properties(task_spec) -> dict[str, str]:
    return dict((getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {})


def parse_process(xml: str | bytes, process_key: str, validate: bool = True) -> ParsedProcess:
    """Parse (and by default XSD-validate) a BPMN document; raise DiagramError with element ids."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    check_xml_is_safe(data)
    parser = ClockBpmnParser(validator=VALIDATOR if validate else None)
    try:
        parser.add_bpmn_str(data)
        spec = parser.get_spec(process_key)
        subprocess_specs = parser.get_subprocess_specs(process_key)
    except ValidationException as exc:
        element = getattr(exc, "id", None) or None
        raise DiagramError([(element, str(getattr(exc, "msg", exc)) or str(exc))]) from None
    except Exception as exc:  # noqa: BLE001 — the parser raises many kinds for bad input; each is the user's to fix
        raise DiagramError([(None, f"{type(exc).__name__}: {exc}")]) from None
    parsed = ParsedProcess(process_key, sha256_of(data), spec, subprocess_specs)
    # Tasks of expanded sub-processes (and called processes) are waited on like the process's own.
    every = [(True, t) for t in spec.task_specs.values()]
    every += [(False, t) for sub in subprocess_specs.values() for t in sub.task_specs.values()]
    for top_level, task_spec in every:
        props = _properties(task_spec)
        if getattr(task_spec, "manual", False):
            parsed.user_tasks[task_spec.name] = UserTaskMeta(
                name=task_spec.name,
                title=task_spec.bpmn_name or task_spec.name,
                lane=task_spec.lane,
                form_key=props.get("formKey"),
                status=props.get("status"),
                documentation=getattr(task_spec, "documentation", None),
                different_person_from=(props.get("differentPersonFrom") or "").strip() or None,
            )
        elif top_level and isinstance(task_spec, EndEvent) and props.get("status"):
            parsed.end_statuses[task_spec.name] = props["status"]
        if (timer := _timer_definition(task_spec)) is not None:
            parsed.timer_events[task_spec.name] = TimerEventMeta(
                name=task_spec.name, title=task_spec.bpmn_name or task_spec.name, expression=timer.expression,
                attached_to=_attached_to(task_spec), interrupting=bool(getattr(task_spec, "cancel_activity", True)),
                properties=props)
    parsed.properties = _process_properties(parser, process_key)
    for process_spec in [spec, *subprocess_specs.values()]:
        back = _back_edges(process_spec)
        for name, meta in parsed.user_tasks.items():
            if name in process_spec.task_specs:
                found = _predecessors(process_spec.task_specs[name], back)
                parsed.user_tasks[name] = replace(meta, predecessors=tuple(found),
                                                  returns_from=tuple(n for n, loop in found.items() if loop))
    for name, meta in parsed.user_tasks.items():
        if meta.different_person_from is not None:
            parsed.user_tasks[name] = replace(meta, different_person_from=user_task_named(
                parsed, meta.different_person_from))
    return parsed


def user_task_named(parsed: ParsedProcess, ref: str) -> str | None:
    """The id of the user task a reference names: its id, or else its name (None: no such user task)."""
    if ref in parsed.user_tasks:
        return ref
    return next((n for n, meta in parsed.user_tasks.items() if meta.title == ref), None)


def _back_edges(process_spec) -> set[tuple[str, str]]:
    """The flows that close a loop: from a depth-first walk from the start, the edges to a node still on the path."""
    start = process_spec.start
    back: set[tuple[str, str]] = set()
    on_path: set[str] = set()
    done: set[str] = set()
    stack = [(start, iter(start.outputs))]
    on_path.add(start.name)
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.discard(node.name)
            done.add(node.name)
        elif child.name in on_path:
            back.add((node.name, child.name))
        elif child.name not in done:
            on_path.add(child.name)
            stack.append((child, iter(child.outputs)))
    return back


def _predecessors(task_spec, back: set[tuple[str, str]]) -> dict[str, bool]:
    """The nearest user tasks upstream of a task, in the order found, each with whether its way here closes a loop
    (see UserTaskMeta.predecessors and returns_from)."""
    found: dict[str, bool] = {}
    seen: set[tuple[str, bool]] = set()
    queue = [(source, (source.name, task_spec.name) in back) for source in task_spec.inputs]
    while queue:
        current, loop = queue.pop(0)
        if (current.name, loop) in seen:
            continue
        seen.add((current.name, loop))
        if isinstance(current, BoundaryEvent):
            continue  # its input is the split before the task it is attached to: not this task's past
        if getattr(current, "manual", False):
            found[current.name] = found.get(current.name, False) or loop
            continue
        queue.extend((source, loop or (source.name, current.name) in back) for source in current.inputs)
    return found


def _timer_definition(task_spec) -> TimerEventDefinition | None:
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        definition = next((d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)), None)
    return definition if isinstance(definition, TimerEventDefinition) else None


def _attached_to(task_spec) -> str | None:
    if not isinstance(task_spec, BoundaryEvent):
        return None
    for split in task_spec.inputs:  # the BoundaryEventSplit in front of the task it is attached to
        for sibling in split.outputs:
            if not isinstance(sibling, BoundaryEvent):
                return sibling.name
    return None


_PROPERTY_XPATH = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"


def _process_properties(parser, process_key: str) -> dict[str, str]:
    process_parser = parser.get_process_parser(process_key)
    node = getattr(process_parser, "node", None)
    if node is None:
        return {}
    namespaces = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
                  "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    return {p.get("name"): p.get("value", "") for p in node.xpath(_PROPERTY_XPATH, namespaces=namespaces)
            if p.get("name")}


class SpecCache:
    """Parsed specs keyed by sha256; parsing is the expensive part, so do it once per process."""

    def __init__(self, capacity: int = 64) -> None:
        self._items: OrderedDict[str, ParsedProcess] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def get(self, sha256: str, xml: str, process_key: str) -> ParsedProcess:
        with self._lock:
            if sha256 in self._items:
                self._items.move_to_end(sha256)
                return self._items[sha256]
        parsed = parse_process(xml, process_key, validate=False)
        with self._lock:
            self._items[sha256] = parsed
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return parsed


spec_cache = SpecCache()
