"""Moving a running instance's state onto another version of its process.

SpiffWorkflow 3.2.0 ships the machinery (``SpiffWorkflow.bpmn.util.diff``): ``diff_workflow``
aligns the instance's task specs with the new spec (by id first, then by structure) and
``migrate_workflow`` swaps the specs and re-predicts the open branches.  It does not decide
whether a move is *safe*; that is this module's rule, kept deliberately simple to explain:

An instance can move when
1. every element it has passed through or is waiting at exists in the new version under the same
   id (the serialized task tree refers to task specs by id; a renamed element is a removed one);
2. every element it is waiting at (READY/WAITING tasks) keeps its kind — a user task stays a user
   task, a timer stays a timer;
3. the way into every waiting element is unchanged: the element it came from still leads to it.
   This refuses, for example, a boundary event newly attached to the task it is waiting at (the
   event would never be armed) or a step inserted before a join it is waiting at (the join would
   wait forever for a branch that has already passed).

Otherwise nothing is changed and the problems name the elements.  Waiting timers keep their
computed fire time (SpiffWorkflow's default would recompute a duration from the moment of the
move), and waiting user tasks keep their ids, so their worklist rows, claims and deadlines stay.
The result is checked by writing the state out and reading it back onto the new spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from app.engine.diagram import Finding
from app.engine.errors import EngineError
from app.engine.runtime import ProcessRuntime, Snapshot, _load, _registry

SETTLED = TaskState.FINISHED_MASK | TaskState.READY | TaskState.WAITING | TaskState.STARTED
WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class MigrationResult:
    """Whether the instance can move, why not, and (when it moved) its state on the new version."""

    problems: list[Finding] = field(default_factory=list)
    waiting_at: list[str] = field(default_factory=list)
    snapshot: Snapshot | None = None

    @property
    def movable(self) -> bool:
        return not self.problems


def _spec_label(spec) -> str:
    name = getattr(spec, "bpmn_name", None)
    return f"{name} ({spec.name})" if name else spec.name


def _kind(spec) -> tuple[type, type | None]:
    definition = getattr(spec, "event_definition", None)
    return type(spec), type(definition) if definition is not None else None


def _visible_id(spec) -> str | None:
    """The BPMN element id to mark on the diagram (internal specs such as 'x.BoundaryEventSplit' map to x)."""
    return getattr(spec, "bpmn_id", None) or spec.name.split(".")[0]


def _check_workflow(workflow, new_spec) -> list[Finding]:
    problems: list[Finding] = []
    reported: set[str] = set()
    for task in workflow.get_tasks(state=SETTLED, skip_subprocesses=True):
        old = task.task_spec
        new = new_spec.task_specs.get(old.name)
        if new is None:
            if old.name not in reported:
                reported.add(old.name)
                waiting = task.has_state(WAITING)
                problems.append(Finding(_visible_id(old), "waiting_removed" if waiting else "passed_removed",
                                        _spec_label(old)))
            continue
        if not task.has_state(WAITING):
            continue
        if _kind(old) != _kind(new):
            problems.append(Finding(_visible_id(old), "kind_changed", _spec_label(old)))
        parent = task.parent
        if parent is not None and parent.task_spec.name in new_spec.task_specs:
            before = new_spec.task_specs[parent.task_spec.name]
            if new not in before.outputs:
                problems.append(Finding(_visible_id(old), "entry_changed", _spec_label(old)))
    return problems


def check_and_migrate(state: str, source: ProcessRuntime, target: ProcessRuntime) -> MigrationResult:
    """Check whether `state` (an instance of `source`) can move to `target`; if so, move it (in memory)."""
    workflow = _load(state, source.parsed)
    # Before anything is evaluated: the restricted engine, and the clock the timers must read.
    workflow.script_engine = target.script_engine
    result = MigrationResult(waiting_at=sorted({t.task_spec.name for t in workflow.get_tasks(
        state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True)}))
    new_spec, new_deps = target.parsed.spec, target.parsed.subprocess_specs
    result.problems += _check_workflow(workflow, new_spec)
    for sub in workflow.subprocesses.values():
        sub_spec = new_deps.get(sub.spec.name)
        if sub_spec is None:
            result.problems.append(Finding(sub.spec.name, "subprocess_removed", sub.spec.name))
        else:
            result.problems += _check_workflow(sub, sub_spec)
    if result.problems:
        return result

    # Waiting timers keep their computed fire time: reset_branch would clear it and start over.
    kept = {t.id: dict(t.internal_data) for t in workflow.get_tasks(state=TaskState.WAITING)}
    try:
        top_diff, sub_diffs = diff_workflow(_registry, workflow, new_spec, new_deps)
        migrate_workflow(top_diff, workflow, new_spec)
        for sub_id, sub in workflow.subprocesses.items():
            migrate_workflow(sub_diffs[sub_id], sub, new_deps[sub.spec.name])
        workflow.subprocess_specs = new_deps
        for task_id, internal in kept.items():
            task = workflow.tasks.get(task_id)
            if task is not None and task.has_state(TaskState.WAITING):
                task.internal_data = internal
        moved = target._snapshot(workflow)
        _load(moved.state, target.parsed)  # the state must read back onto the new spec alone
    except (SpiffWorkflowException, EngineError, KeyError, ValueError, TypeError) as exc:
        result.problems.append(Finding(None, "unmappable", f"{type(exc).__name__}: {exc}"))
        return result
    result.snapshot = moved
    return result
