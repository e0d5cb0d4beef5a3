"""Running instances: start, complete a task, fire timers; state in and out as JSON strings.

The spec is never serialized with an instance: it is parsed once per process version and
cached, and only the instance's own state (tasks, data) is stored.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import EngineError, TaskNotReady
from app.engine.sandbox import make_script_engine
from app.engine.specs import ParsedProcess, spec_cache
from app.engine.timers import SERIALIZER_CONFIG as TIMER_SERIALIZER_CONFIG
from app.engine.timers import ClockTimeDateEventDefinition, expression_names, rearm

__all__ = ["SERIALIZER_VERSION", "ProcessRuntime", "Snapshot", "TimerInfo", "UserTaskInfo", "runtime_for"]


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; restores it onto a cached, already-parsed spec."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(self, dct: dict, spec, subprocess_specs) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, **TIMER_SERIALIZER_CONFIG})
_converter = _StateOnlyConverter(BpmnWorkflow, _registry)
_serializer = BpmnWorkflowSerializer(_registry)


@dataclass(frozen=True)
class UserTaskInfo:
    uuid: str
    name: str
    title: str
    lane: str | None
    form_key: str | None
    status: str | None


@dataclass(frozen=True)
class TimerInfo:
    uuid: str
    name: str
    due_at: datetime | None
    attached_to: str | None = None  # uuid of the task a boundary timer watches


@dataclass
class Snapshot:
    """Plain data about an instance after a step: what the application persists and shows."""

    state: str
    ready_tasks: list[UserTaskInfo]
    timers: list[TimerInfo]
    completed: bool
    end_status: str | None
    data: dict[str, Any] = field(default_factory=dict)
    # Every timer event that has fired so far (due_at: the time it was set for, None if unknown).
    fired_timers: list[TimerInfo] = field(default_factory=list)
    # For each ready user task: the boundary timers on it with their current fire time.  A timer that
    # has fired already reports its expression evaluated on today's data, so a moved deadline shows.
    task_timers: dict[str, list[TimerInfo]] = field(default_factory=dict)


def _dump(workflow: BpmnWorkflow) -> str:
    _registry._encoder_mode = True
    try:
        dct = _converter.to_dict(workflow)
        dct["serializer_version"] = SERIALIZER_VERSION
        return json.dumps(dct, cls=_serializer._encoder_cls, ensure_ascii=False, separators=(",", ":"))
    finally:
        _registry._encoder_mode = False


def _load(state: str, parsed: ParsedProcess) -> BpmnWorkflow:
    dct = json.loads(state, cls=_serializer.json_decoder_cls)
    version = dct.pop("serializer_version", None)
    if version != SERIALIZER_VERSION:
        raise EngineError(f"instance state was written by serializer {version}; this engine reads "
                          f"{SERIALIZER_VERSION} — migrate it before loading")
    return _converter.restore(dct, parsed.spec, parsed.subprocess_specs)


def _parse_due(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        due = value
    else:
        try:
            due = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return due.astimezone(UTC) if due.tzinfo else due.replace(tzinfo=UTC)


def _element_of(exc: SpiffWorkflowException) -> str | None:
    """The BPMN element id an engine error names (the failing gateway, script or event), if any."""
    spec = getattr(exc, "task_spec", None)
    name = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    return name if isinstance(name, str) else None


def _attached_task(task) -> str | None:
    """The uuid of the task a boundary event watches (its sibling under the boundary split)."""
    if task.parent is None or not isinstance(task.task_spec, BoundaryEvent):
        return None
    main = next((c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)), None)
    return str(main.id) if main is not None else None


class ProcessRuntime:
    """Runs instances of one parsed process version."""

    def __init__(self, parsed: ParsedProcess, clock: Callable[[], datetime] | None = None) -> None:
        self.parsed = parsed
        self.script_engine = make_script_engine(clock=clock)

    def _workflow(self, state: str | None) -> BpmnWorkflow:
        if state is None:
            wf = BpmnWorkflow(self.parsed.spec, self.parsed.subprocess_specs, script_engine=self.script_engine)
        else:
            wf = _load(state, self.parsed)
        wf.script_engine = self.script_engine  # the script engine is not part of the state
        return wf

    def _steps(self, wf: BpmnWorkflow) -> None:
        try:
            wf.refresh_timers()
            wf.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise EngineError(f"the process could not continue: {exc}", _element_of(exc)) from None
        except Exception as exc:  # noqa: BLE001 - a diagram's code or an engine fault: the step is refused, not a 500
            raise EngineError(f"the process could not continue: {type(exc).__name__}: {exc}") from None

    def start(self, data: dict[str, Any]) -> Snapshot:
        wf = self._workflow(None)
        wf.task_tree.data.update(data)
        self._steps(wf)
        return self._snapshot(wf)

    def complete(self, state: str, task_uuid: str, data: dict[str, Any]) -> Snapshot:
        """Complete one READY user task with the (already validated) data and run on."""
        wf = self._workflow(state)
        # A deadline that passed before this completion fires first, so the lateness is on record.
        self._steps(wf)
        try:
            task = wf.get_task_from_id(UUID(task_uuid))
        except (ValueError, TaskNotFoundException):
            raise TaskNotReady(f"task {task_uuid} is not part of this instance") from None
        if task.state != TaskState.READY or not getattr(task.task_spec, "manual", False):
            raise TaskNotReady(f"task {task.task_spec.name} is {TaskState.get_name(task.state)}, not waiting")
        task.data.update(data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise EngineError(f"the task could not be completed: {exc}", _element_of(exc)) from None
        except Exception as exc:  # noqa: BLE001 - as in _steps
            raise EngineError(f"the task could not be completed: {type(exc).__name__}: {exc}",
                              task.task_spec.name) from None
        self._steps(wf)
        return self._snapshot(wf)

    def refresh(self, state: str) -> Snapshot:
        """Fire whatever timers are due and run on."""
        wf = self._workflow(state)
        self._steps(wf)
        return self._snapshot(wf)

    def update_data(self, state: str, updates: dict[str, Any]) -> Snapshot:
        """Change data of the waiting part of an instance, e.g. a deadline after an approved extension.

        The values go into every ready and waiting task; a waiting timer whose expression reads one of
        the changed names is evaluated again, so its fire time moves.  Other timers keep theirs.
        """
        wf = self._workflow(state)
        changed = set(updates)
        for task in wf.get_tasks(state=TaskState.READY | TaskState.WAITING):
            task.data.update(updates)
            definition = getattr(task.task_spec, "event_definition", None)
            if (task.state == TaskState.WAITING and isinstance(definition, TimerEventDefinition)
                    and expression_names(definition.expression) & changed):
                # A waiting event re-reads its parent's data when refreshed; that data must move too.
                if task.parent is not None:
                    task.parent.data.update(updates)
                rearm(task)
        self._steps(wf)
        return self._snapshot(wf)

    def _snapshot(self, wf: BpmnWorkflow) -> Snapshot:
        ready = []
        for task in wf.get_tasks(state=TaskState.READY, manual=True):
            meta = self.parsed.user_tasks.get(task.task_spec.name)
            ready.append(UserTaskInfo(
                uuid=str(task.id), name=task.task_spec.name,
                title=meta.title if meta else task.task_spec.name,
                lane=task.task_spec.lane, form_key=meta.form_key if meta else None,
                status=meta.status if meta else None,
            ))
        timers, fired = [], []
        for task in wf.get_tasks(state=TaskState.WAITING | TaskState.COMPLETED):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            due = _parse_due(definition.details(task).value)
            info = TimerInfo(uuid=str(task.id), name=task.task_spec.name, due_at=due,
                             attached_to=_attached_task(task))
            if task.state == TaskState.COMPLETED:
                fired.append(info)
            elif due is not None:
                timers.append(info)
        end_status = None
        completed = wf.is_completed()
        if completed:
            for task in wf.get_tasks(state=TaskState.COMPLETED):
                if isinstance(task.task_spec, EndEvent) and task.task_spec.name in self.parsed.end_statuses:
                    end_status = self.parsed.end_statuses[task.task_spec.name]
        source = wf.get_tasks(state=TaskState.READY, manual=True)
        data_task = source[0] if source else wf.last_task
        data = dict(data_task.data) if data_task is not None else dict(wf.data)
        ready_uuids = {t.uuid for t in ready}
        task_timers: dict[str, list[TimerInfo]] = {}
        for info in timers + fired:
            if info.attached_to in ready_uuids:
                due = info.due_at
                if info in fired:
                    due = self._current_due(wf, info) or due
                if due is not None:
                    task_timers.setdefault(info.attached_to, []).append(
                        TimerInfo(info.uuid, info.name, due, info.attached_to))
        return Snapshot(_dump(wf), ready, timers, completed, end_status, data, fired, task_timers)

    def _current_due(self, wf: BpmnWorkflow, info: TimerInfo) -> datetime | None:
        """A fired date timer's expression on the watched task's current data (None if it cannot say)."""
        timer = wf.get_task_from_id(UUID(info.uuid))
        definition = timer.task_spec.event_definition
        if not isinstance(definition, ClockTimeDateEventDefinition):
            return None
        watched = wf.get_task_from_id(UUID(info.attached_to))
        try:
            value = self.script_engine.environment.evaluate(definition.expression, watched.data)
        except Exception:  # noqa: BLE001 - any failing expression just means "keep the fire time"
            return None
        return _parse_due(value) if value not in (None, "") else None


_runtimes: dict[str, ProcessRuntime] = {}


def cached_runtime(sha256: str | None) -> ProcessRuntime | None:
    """The runtime already built for this XML hash, if any."""
    return _runtimes.get(sha256) if sha256 else None


def runtime_for(sha256: str, xml: str, process_key: str,
                clock: Callable[[], datetime] | None = None) -> ProcessRuntime:
    """The runtime for a process version, parsing its XML only the first time it is seen."""
    runtime = _runtimes.get(sha256)
    if runtime is None:
        runtime = ProcessRuntime(spec_cache.get(sha256, xml, process_key), clock=clock)
        _runtimes[sha256] = runtime
    return runtime
