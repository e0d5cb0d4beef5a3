"""What a decision is made on: the submissions a task decides on, who sent a step back and why, the step's
deadline, and the hazard's files filed by kind.

The steps a task decides on come from the diagram — the nearest user tasks before it (UserTaskMeta.predecessors,
found by walking back over gateways) — and from its form definition's optional `evidence` list, which names
further steps (an element id or a form key; {"step": name, "fields": [...]} shows only those fields).
Everything here is read from the human-task table and the hazard's audit events, never from a workflow.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from app.chinatime import china_date, today
from app.engine.specs import UserTaskMeta
from app.extensions import db
from app.models import Attachment, AuditEvent, HumanTask, ProcessInstance, TaskStatus, Timer, TimerStatus
from app.services import attachments, forms, processes
from app.services.errors import NotFound
from app.services.hazards import REPORT_FORM

OTHER = "document"  # files no field filed: shown last, as documents


@dataclass
class Submission:
    """One completed step as evidence: its audit event (values, actor, time) and the fields to show (None: all)."""
    task: HumanTask | None
    event: AuditEvent
    fields: list[str] | None = None

    @property
    def data(self) -> dict[str, Any]:
        data = json.loads(self.event.data)
        return data.get("data") or {} if self.event.action == "task_completed" else data


@dataclass
class Deadline:
    due_at: datetime
    kind: str | None     # the `deadline` property of the timer that sets it (rectification, verification...)
    days_left: int       # calendar days in China time; negative once passed


@dataclass
class DecisionContext:
    """What a task page shows above its form."""
    sources: list[Submission] = field(default_factory=list)
    returned: Submission | None = None    # the decision that sent this step back
    previous: dict[str, Any] | None = None  # this step's last submission, to start the redo from
    attempt: int = 1
    deadline: Deadline | None = None


def _paired(events: list[AuditEvent], tasks: list[HumanTask]) -> dict[int, AuditEvent]:
    """Each completed task (by id) with its task_completed event: the n-th completion of a step is the n-th
    completed task of that step."""
    queues: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.action == "task_completed" and event.task_spec:
            queues[event.task_spec].append(event)
    paired = {}
    for task in sorted((t for t in tasks if t.status == TaskStatus.completed), key=lambda t: (t.completed_at, t.id)):
        if queues.get(task.spec_name):
            paired[task.id] = queues[task.spec_name].pop(0)
    return paired


def _named(entry: Any) -> tuple[str, list[str] | None]:
    if isinstance(entry, dict):
        return str(entry.get("step") or ""), list(entry.get("fields") or []) or None
    return str(entry), None


def _meta(version_id: int, spec_name: str) -> UserTaskMeta | None:
    try:
        return processes.runtime_for_version(version_id).parsed.user_tasks.get(spec_name)
    except NotFound:
        return None


def task_meta(task: HumanTask) -> UserTaskMeta | None:
    """What the diagram says of this task (its predecessors; which of them send it back), None if it is gone."""
    instance = db.session.get(ProcessInstance, task.instance_id)
    return _meta(instance.version_id, task.spec_name) if instance is not None else None


def deadline_of(task: HumanTask) -> Deadline | None:
    """The step's deadline with its kind and the days left (None when the step has none)."""
    if task.due_at is None:
        return None
    kind = db.session.scalar(select(Timer.deadline).where(
        Timer.instance_id == task.instance_id, Timer.watch_task_uuid == task.task_uuid,
        Timer.deadline.is_not(None), Timer.status != TimerStatus.cancelled).order_by(Timer.due_at).limit(1))
    return Deadline(task.due_at, kind, (china_date(task.due_at) - today()).days)


def for_task(task: HumanTask, form: forms.FormDefinition, events: list[AuditEvent],
             tasks: list[HumanTask]) -> DecisionContext:
    """The evidence a task decides on, as it stood when the task arrived (`events`: the hazard's audit chain,
    `tasks`: all its human tasks)."""
    paired = _paired(events, tasks)
    # What was done before this task arrived: the step that opened it completed at the very moment it was created.
    done = [t for t in tasks if t.id in paired and t.completed_at <= task.created_at]
    done.sort(key=lambda t: (t.completed_at, t.id))
    context = DecisionContext(deadline=deadline_of(task) if task.status == TaskStatus.open else None)

    meta = task_meta(task)
    wanted: dict[str, list[str] | None] = {name: None for name in (meta.predecessors if meta else ())
                                           if name != task.spec_name}
    for entry in form.evidence:
        name, fields = _named(entry)
        if name and name != task.spec_name:
            wanted[name] = fields
    chosen: dict[int, Submission] = {}
    for name, fields in wanted.items():
        latest = next((t for t in reversed(done) if name in (t.spec_name, t.form_key)), None)
        if latest is not None and latest.id not in chosen:
            chosen[latest.id] = Submission(latest, paired[latest.id], fields)
    context.sources = sorted(chosen.values(), key=lambda s: s.event.seq)

    mine = [t for t in done if t.spec_name == task.spec_name]
    if mine:
        context.attempt = len(mine) + 1
        opener = next((t for t in reversed(done) if t.completed_at == task.created_at
                       and t.spec_name != task.spec_name), None)
        if opener is None:  # opened otherwise (a migration): the last decision before it
            opener = next((t for t in reversed(done) if t.spec_name != task.spec_name), None)
        # Sent back, not merely reached again (a plan approved after it was redone is a new decision).
        if opener is not None and (meta is None or opener.spec_name in meta.returns_from):
            context.previous = Submission(mine[-1], paired[mine[-1].id]).data
            context.returned = Submission(opener, paired[opener.id])
            # shown at the top as the reason it came back, not twice
            context.sources = [s for s in context.sources if s.task is not opener]
    return context


def prefill(context: DecisionContext, form: forms.FormDefinition) -> dict[str, Any] | None:
    """The previous submission of a redone step as the form's starting values — without its files: a new attempt
    brings its own evidence, and the rejected attempt's files stay filed under it."""
    if context.previous is None:
        return None
    names = {f["name"] for f in form.fields if f.get("widget") != "attachments"}
    return {k: v for k, v in context.previous.items() if k in names}


def returned_task_ids(task_ids: list[int]) -> set[int]:
    """Which of these tasks were sent back: opened by a step whose way to them closes a loop of the diagram."""
    if not task_ids:
        return set()
    opener = aliased(HumanTask)
    rows = db.session.execute(
        select(HumanTask.id, HumanTask.spec_name, opener.spec_name, ProcessInstance.version_id)
        .join(opener, and_(opener.instance_id == HumanTask.instance_id, opener.completed_at == HumanTask.created_at,
                           opener.status == TaskStatus.completed))
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.id.in_(task_ids)))
    return {task_id for task_id, spec, by, version_id in rows
            if (meta := _meta(version_id, spec)) is not None and by in meta.returns_from}


# ------------------------------------------------------------------------------------------ files by kind
@dataclass
class EvidenceGroup:
    kind: str                      # one of forms.EVIDENCE_KINDS, or OTHER
    files: list[Attachment]
    attempt: int | None = None     # numbered when the step that filed them was done more than once
    rejected: bool = False         # that attempt was sent back (the step was done again after it)

    @property
    def images(self) -> bool:
        return self.kind.startswith("photo")


@dataclass
class Evidence:
    groups: list[EvidenceGroup]

    def of(self, *kinds: str) -> list[Attachment]:
        return [f for g in self.groups if g.kind in kinds for f in g.files]

    @property
    def before(self) -> list[Attachment]:
        return self.of("photo_before")

    @property
    def after(self) -> list[Attachment]:
        return self.of("photo_after")

    @property
    def documents(self) -> list[Attachment]:
        return [f for g in self.groups if not g.images for f in g.files]

    @property
    def files(self) -> dict[int, Attachment]:
        return {f.id: f for g in self.groups for f in g.files}


def _submitted(event: AuditEvent) -> tuple[str | None, dict]:
    data = json.loads(event.data)
    if event.action == "hazard_reported":
        return REPORT_FORM, data
    if event.action == "task_completed" and isinstance(data.get("data"), dict):
        return data.get("form"), data["data"]
    return None, {}


def _field_kind(key: str, spec: dict) -> str:
    if spec.get("evidenceKind") in forms.EVIDENCE_KINDS:
        return spec["evidenceKind"]
    if spec.get("accept") == "image":  # files filed before kinds existed: as their field took them
        return "photo_before" if key == REPORT_FORM else "photo_after"
    return OTHER


def files_by_kind(hazard_id: int, events: list[AuditEvent]) -> Evidence:
    """The hazard's files grouped by kind, in the order of forms.EVIDENCE_KINDS; a step's files are numbered by
    attempt when it was done more than once, and the attempts sent back are marked rejected."""
    files = {a.id: a for a in attachments.hazard_attachments(hazard_id)}
    filed: list[tuple[str, str, int, list[int]]] = []  # (kind, step, attempt, ids)
    attempts: dict[str, int] = defaultdict(int)
    for event in events:
        key, data = _submitted(event)
        if not key:
            continue
        try:
            form = forms.get_form(key)
        except NotFound:
            continue  # a form removed since; its files still show up under documents
        step = event.task_spec or key
        took = [(spec, data.get(spec["name"])) for spec in form.fields if spec.get("widget") == "attachments"]
        if not any(isinstance(ids, list) and ids for _spec, ids in took):
            continue
        attempts[step] += 1
        for spec, ids in took:
            if isinstance(ids, list):
                filed.append((_field_kind(key, spec), step, attempts[step], [i for i in ids if isinstance(i, int)]))
    placed: set[int] = set()
    groups: list[EvidenceGroup] = []
    for kind, step, attempt, ids in filed:
        chosen = [files[i] for i in ids if i in files and i not in placed]
        if not chosen:
            continue
        kind = chosen[0].evidence_kind or kind
        if kind.startswith("photo"):
            chosen = [f for f in chosen if f.kind == "image"]  # a document sent with photos: under documents
            if not chosen:
                continue
        placed.update(f.id for f in chosen)
        several = attempts[step] > 1
        groups.append(EvidenceGroup(kind, chosen, attempt if several else None, several and attempt < attempts[step]))
    rest = [a for a in files.values() if a.id not in placed]
    if rest:
        groups.append(EvidenceGroup(OTHER, rest))
    order = {kind: n for n, kind in enumerate((*forms.EVIDENCE_KINDS, OTHER))}
    groups.sort(key=lambda g: (order.get(g.kind, len(order)), g.attempt or 0))
    return Evidence(groups)
