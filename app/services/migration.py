"""Moving running hazards onto another version of their process: preview, then move in one action.

The rule for what can move is the engine's (app/engine/migration.py). Each instance is moved under
its own lock and in its own transaction (unit_of_work.instance_step), so one busy or unmappable
instance never holds back or undoes the others; every move is recorded in the hazard's audit chain
and the whole action in the system chain.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from app.engine import EngineError
from app.engine.diagram import Diagram, Finding, read_diagram
from app.engine.migration import MigrationResult, check_and_migrate
from app.extensions import db
from app.models import (
    Hazard,
    HumanTask,
    InstanceStatus,
    PeriodicReport,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    User,
)
from app.services import audit, designer, forms, process_changes, processes, subjects
from app.services.errors import ServiceError, ValidationFailed
from app.services.policy import lane_owner
from app.services.unit_of_work import instance_step

PREVIEW_LIMIT = 500


@dataclass
class InstanceMove:
    """One running hazard: where it waits, and whether (or why not) it can move."""

    instance_id: int
    hazard_id: int | None
    hazard_number: str | None
    hazard_title: str | None
    from_number: int
    waiting_at: list[str]
    problems: list[dict[str, str | None]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)        # the steps it waits at, by name
    changes: list[str] = field(default_factory=list)      # what moving changes for it, in sentences

    @property
    def movable(self) -> bool:
        return not self.problems


@dataclass
class MigrationPreview:
    target: ProcessVersion
    instances: list[InstanceMove]
    truncated: bool = False

    @property
    def movable(self) -> list[InstanceMove]:
        return [i for i in self.instances if i.movable]

    @property
    def blocked(self) -> list[InstanceMove]:
        return [i for i in self.instances if not i.movable]


def _problem_message(finding: Finding, names: dict[str, str] | None = None) -> str:
    label = (names or {}).get(finding.element_id or "") or finding.detail
    messages = {
        "waiting_removed": lambda: _("It is waiting at %(step)s, which the new version no longer has.", step=label),
        "passed_removed": lambda: _("It has passed through %(step)s, which the new version no longer has.",
                                    step=label),
        "kind_changed": lambda: _("It is waiting at %(step)s, which is a different kind of element in the new "
                                  "version.", step=label),
        "entry_changed": lambda: _("It is waiting at %(step)s, and the way into that step has changed (for "
                                   "example a boundary event or a step before a join was added).", step=label),
        "subprocess_removed": lambda: _("It runs the sub-process %(step)s, which the new version no longer has.",
                                        step=label),
    }
    return str(messages.get(finding.code, lambda: _("The engine could not map its state: %(reason)s",
                                                    reason=label))())


def _problems(result: MigrationResult, names: dict[str, str] | None = None) -> list[dict[str, str | None]]:
    return [{"element_id": f.element_id, "message": _problem_message(f, names)} for f in result.problems]


def _names(diagram: Diagram) -> dict[str, str]:
    """Element id -> “step name” (what the pages show instead of element ids)."""
    return {element_id: f"“{process_changes.step_name(diagram, element_id)}”" for element_id in diagram.elements}


def _target(user: User, process_key: str, number: int) -> ProcessVersion:
    return designer.get_version(user, process_key, number)


def _check(instance: ProcessInstance, target: ProcessVersion) -> MigrationResult:
    source = processes.runtime_for_version(instance.version_id)
    return check_and_migrate(instance.state, source, processes.runtime(target))


def _running_elsewhere(target: ProcessVersion):
    return (select(ProcessInstance, Hazard)
            .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
            .outerjoin(Hazard, Hazard.instance_id == ProcessInstance.id)
            .where(ProcessVersion.process_key == target.process_key, ProcessInstance.version_id != target.id,
                   ProcessInstance.status == InstanceStatus.running)
            .order_by(ProcessInstance.id))


def preview(user: User, process_key: str, number: int, limit: int = PREVIEW_LIMIT,
            status_label: Callable[[str | None], str] | None = None) -> MigrationPreview:
    """Which running instances on other versions could move to version `number`, why the others cannot, and what
    moving changes for each (by step name)."""
    target = _target(user, process_key, number)
    target_diagram = read_diagram(target.bpmn_xml)
    diagrams: dict[int, Diagram] = {}
    rows = db.session.execute(_running_elsewhere(target).limit(limit + 1)).all()
    moves = []
    for instance, hazard in rows[:limit]:
        source = diagrams.get(instance.version_id)
        if source is None:
            source = diagrams[instance.version_id] = read_diagram(instance.version.bpmn_xml)
        names = {**_names(source), **_names(target_diagram)}
        try:
            result = _check(instance, target)
            problems = _problems(result, names)
        except EngineError as exc:
            result, problems = MigrationResult(), [{"element_id": None, "message": _(
                "The engine could not map its state: %(reason)s", reason=str(exc))}]
        waiting = [w for w in result.waiting_at if w in source.elements]
        steps = [process_changes.step_name(source, w) for w in waiting if source.elements[w].type != "sequenceFlow"]
        changes = process_changes.what_changes(source, target_diagram, waiting, status_label) if not problems else []
        moves.append(InstanceMove(instance.id, hazard.id if hazard else None, hazard.number if hazard else None,
                                  hazard.title if hazard else None, instance.version.number, result.waiting_at,
                                  problems, steps, changes))
    db.session.rollback()  # nothing was written; release what the reads hold
    return MigrationPreview(target, moves, truncated=len(rows) > limit)


@dataclass
class MigrationOutcome:
    target: ProcessVersion
    moved: list[int] = field(default_factory=list)
    refused: dict[int, list[dict[str, str | None]]] = field(default_factory=dict)


def _refresh_open_tasks(instance: ProcessInstance, hazard: Hazard | PeriodicReport, result: MigrationResult) -> None:
    """Waiting tasks keep their rows (and claims); their name, form and role follow the new version."""
    ready = {t.uuid: t for t in result.snapshot.ready_tasks}
    for row in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                          HumanTask.status == TaskStatus.open)):
        info = ready.get(row.task_uuid)
        if info is None:
            continue
        row.title = info.title[:200]
        if (info.form_key or "") != row.form_key:
            row.form_key = info.form_key or ""
            row.form_version_id = forms.active_version_id_clause(info.form_key)
        owner = lane_owner(info.lane)
        if owner is not None and (owner.role, owner.bureau_head, owner.position_id) != (
                row.role, row.bureau_head, row.position_id):
            row.role, row.bureau_head, row.position_id, row.assignee_id = (
                owner.role, owner.bureau_head, owner.position_id, None)
            row.organisation_id = subjects.organisation_for(owner.role, hazard) or row.organisation_id


class _Refused(Exception):
    """An instance that cannot move: the step is rolled back and these problems reported."""

    def __init__(self, problems: list[dict[str, str | None]]):
        super().__init__("refused")
        self.problems = problems


def _refusal(message: str) -> _Refused:
    return _Refused([{"element_id": None, "message": message}])


def _move_one(user: User, instance_id: int, target: ProcessVersion) -> list[dict[str, str | None]]:
    """Move one instance under its lock and commit; returns the problems when it cannot move."""
    try:
        with instance_step(instance_id) as step:
            instance = step.instance
            if instance.status != InstanceStatus.running or instance.version.process_key != target.process_key:
                raise _refusal(_("It is not a running instance of this process."))
            if instance.version_id == target.id:
                raise _refusal(_("It already runs on this version."))
            from_number = instance.version.number
            target_runtime = processes.runtime(target)
            try:
                result = check_and_migrate(instance.state, step.runtime, target_runtime)
            except EngineError as exc:
                raise _refusal(_("The engine could not map its state: %(reason)s", reason=str(exc))) from None
            if not result.movable:
                names = {**_names(read_diagram(instance.version.bpmn_xml)), **_names(read_diagram(target.bpmn_xml))}
                raise _Refused(_problems(result, names))
            instance.version_id = target.id
            step.apply(result.snapshot, runtime=target_runtime, actor_id=user.id)
            _refresh_open_tasks(instance, step.subject, result)
            step.audit("instance_migrated", actor_id=user.id, data={
                "process_key": target.process_key, "from_version": from_number, "to_version": target.number,
                "waiting_at": result.waiting_at})
    except _Refused as refused:
        return refused.problems
    except ServiceError as exc:
        return [{"element_id": None, "message": _("It changed while it was being moved (%(reason)s); "
                                                  "nothing was changed. Try again.", reason=exc.message)}]
    return []


def migrate(user: User, process_key: str, number: int, instance_ids: list[int]) -> MigrationOutcome:
    """Move the chosen running instances to version `number`; each is re-checked under its lock first."""
    target = _target(user, process_key, number)
    if not instance_ids or not all(isinstance(i, int) for i in instance_ids):
        raise ValidationFailed(_("Choose at least one hazard to move."),
                               fields={"instances": _("Choose at least one hazard to move.")})
    target_id, key, target_number = target.id, target.process_key, target.number
    outcome = MigrationOutcome(target)
    for instance_id in dict.fromkeys(instance_ids):
        target = db.session.get(ProcessVersion, target_id)
        problems = _move_one(user, instance_id, target)
        if problems:
            outcome.refused[instance_id] = problems
        else:
            outcome.moved.append(instance_id)
    audit.record("instances_migrated", actor_id=user.id, data={
        "process_key": key, "to_version": target_number, "moved": outcome.moved,
        "refused": sorted(outcome.refused)})
    db.session.commit()
    outcome.target = db.session.get(ProcessVersion, target_id)
    return outcome
