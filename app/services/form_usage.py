"""Forms and processes checked against each other.

A form's data keys are what a process's conditions, scripts and timers read once the form is submitted, and
what the waiting tasks given a version of the form will submit. So:

- a save that removes or renames a key read by a process version that can still run (the active one, or any
  with running instances) is refused, naming the process and the step (in words) and the key;
- a save that drops a key that waiting tasks' form versions hold is refused unless the administrator asks to
  re-issue those tasks with the new version (each through unit_of_work.instance_step, audited);
- each form's page lists the steps that use it and how many tasks wait on each of its versions;
- form texts may say `{deadline_days}` or `{timer:<timer id or name>}`, rendered from the step's timer, and a
  literal number of days that contradicts that timer is reported as a warning.

The diagrams are read with engine.diagram (an XML parse, and Python's ast for the code: no text search).
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.engine import DiagramError
from app.engine.diagram import Diagram, data_reads, read_diagram, timer_days
from app.extensions import db
from app.models import (
    FormVersion,
    Hazard,
    HumanTask,
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    User,
)
from app.services import forms, immutable
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.unit_of_work import instance_step

USER_TASKS = ("userTask", "manualTask", "task")


class FormInUse(ValidationFailed):
    """A form save refused because processes or waiting tasks use what it removes; `extra` is for the editor."""

    def __init__(self, message: str, problems: list[str], reissue_possible: bool):
        super().__init__(message, fields={"_form": " ".join(problems)})
        self.extra = {"problems": problems, "reissue_possible": reissue_possible}


# ------------------------------------------------------------------------------------------ diagrams
def diagram_of(version: ProcessVersion) -> Diagram | None:
    """The version's diagram as plain data (versions never change: read once per application)."""
    def load() -> Diagram | None:
        try:
            return read_diagram(version.bpmn_xml)
        except DiagramError:
            return None

    return immutable.lookup("diagram", version.id, load)


def live_versions() -> list[tuple[ProcessVersion, int]]:
    """The process versions that can still run, with their running instances: the active version of each
    process, and every version that hazards still run on."""
    running = dict(db.session.execute(
        select(ProcessInstance.version_id, func.count()).where(ProcessInstance.status == InstanceStatus.running)
        .group_by(ProcessInstance.version_id)).all())
    rows = db.session.scalars(select(ProcessVersion).where(
        ProcessVersion.active.is_(True) | ProcessVersion.id.in_(list(running) or [0]))
        .order_by(ProcessVersion.process_key, ProcessVersion.number.desc()))
    return [(v, running.get(v.id, 0)) for v in rows]


_KINDS = {"exclusiveGateway": "gateway", "inclusiveGateway": "gateway", "parallelGateway": "gateway",
          "eventBasedGateway": "gateway", "scriptTask": "script", "boundaryEvent": "timer",
          "intermediateCatchEvent": "event", "startEvent": "start", "endEvent": "end"}


def step_name(diagram: Diagram, element_id: str | None) -> str:
    """An element as the administrator knows it: its name, a flow by the step it leaves (and its own name), a
    nameless element by what it is — never its id."""
    el = diagram.elements.get(element_id or "")
    if el is None:
        return _("a step of the diagram")
    if el.type == "sequenceFlow":
        source = step_name(diagram, el.source)
        if el.name:
            return _("%(step)s → “%(flow)s”", step=source, flow=el.name)
        target = diagram.elements.get(el.target or "")
        return _("%(step)s → %(next)s", step=source, next=step_name(diagram, target.id)) if target else source
    if el.name:
        return " ".join(el.name.split())
    if el.attached_to:
        return _("the timer on %(step)s", step=step_name(diagram, el.attached_to))
    words = {"gateway": _("an unnamed gateway"), "script": _("an unnamed script step"), "timer": _("an unnamed timer"),
             "event": _("an unnamed event"), "start": _("the start"), "end": _("an unnamed end")}
    return words.get(_KINDS.get(el.type, ""), _("an unnamed step"))


def process_name(version: ProcessVersion, diagram: Diagram | None) -> str:
    return (diagram.process_names.get(version.process_key) if diagram else None) or version.process_key


def _code_word(what: str) -> str:
    return {"condition": _("condition"), "script": _("script"), "pre_script": _("script"),
            "post_script": _("script"), "timer": _("timer")}.get(what, _("expression"))


# ---------------------------------------------------------------------------------------------- usage
@dataclass(frozen=True)
class StepUse:
    process_key: str
    process: str
    version: int
    active: bool
    running: int     # instances running on that version
    step: str
    element_id: str  # for the page's links and tests; never shown as the name


@dataclass
class WaitingTask:
    task_id: int
    hazard_id: int
    hazard_number: str
    step: str
    form_version: int | None
    current: bool


@dataclass
class Usage:
    steps: list[StepUse] = field(default_factory=list)
    waiting: list[tuple[int | None, int, bool]] = field(default_factory=list)  # (form version, tasks, active)
    tasks: list[WaitingTask] = field(default_factory=list)                     # the first TASKS_SHOWN
    warnings: list[str] = field(default_factory=list)

    @property
    def waiting_total(self) -> int:
        return sum(n for _v, n, _a in self.waiting)

    @property
    def outdated(self) -> int:
        return sum(n for _v, n, active in self.waiting if not active)


TASKS_SHOWN = 50


def _steps_using(key: str) -> list[tuple[ProcessVersion, int, Diagram, list[str]]]:
    """(version, running, diagram, ids of its user tasks showing form `key`) for each live version using it."""
    found = []
    for version, running in live_versions():
        diagram = diagram_of(version)
        if diagram is None:
            continue
        ids = [el.id for el in diagram.elements.values() if el.type in USER_TASKS and el.form_key == key]
        if ids:
            found.append((version, running, diagram, ids))
    return found


def usage(key: str) -> Usage:
    """Which steps use form `key` (process, version, step) and how many tasks wait on each of its versions."""
    result = Usage()
    for version, running, diagram, ids in _steps_using(key):
        name = process_name(version, diagram)
        result.steps += [StepUse(version.process_key, name, version.number, version.active, running,
                                 step_name(diagram, i), i) for i in ids]
    rows = db.session.execute(
        select(FormVersion.number, FormVersion.active, func.count(HumanTask.id))
        .select_from(HumanTask).outerjoin(FormVersion, FormVersion.id == HumanTask.form_version_id)
        .where(HumanTask.form_key == key, HumanTask.status == TaskStatus.open)
        .group_by(FormVersion.number, FormVersion.active).order_by(FormVersion.number.desc())).all()
    result.waiting = [(number, count, bool(active)) for number, active, count in rows]
    tasks = db.session.execute(
        select(HumanTask.id, Hazard.id, Hazard.number, HumanTask.title, FormVersion.number, FormVersion.active)
        .join(Hazard, Hazard.id == HumanTask.hazard_id)
        .outerjoin(FormVersion, FormVersion.id == HumanTask.form_version_id)
        .where(HumanTask.form_key == key, HumanTask.status == TaskStatus.open)
        .order_by(FormVersion.active.is_(True), HumanTask.id).limit(TASKS_SHOWN)).all()
    result.tasks = [WaitingTask(t, h, n, title, number, bool(active)) for t, h, n, title, number, active in tasks]
    try:
        result.warnings = deadline_warnings(key, forms.get_form(key).as_dict())
    except NotFound:
        pass
    return result


# ----------------------------------------------------------------------------------- checking a save
def _names(definition: dict[str, Any]) -> set[str]:
    return {f["name"] for f in definition.get("fields", []) if isinstance(f, dict) and isinstance(f.get("name"), str)}


def _version_names(version_id: int) -> set[str]:
    return {f["name"] for f in forms.form_version(version_id).fields}


def _readers(key: str, removed: set[str]) -> list[str]:
    """Who reads a removed key: conditions, scripts and timers of live versions using the form, and other forms
    of those versions that show the key's field as evidence."""
    problems: list[str] = []
    for version, _running, diagram, ids in _steps_using(key):
        where = {"process": process_name(version, diagram), "version": version.number}
        for read in data_reads(diagram):
            for name in sorted(read.names & removed):
                problems.append(_("%(process)s (version %(version)s), step “%(step)s”: its %(what)s reads "
                                  "“%(key)s”.", **where, step=step_name(diagram, read.element_id),
                                  what=_code_word(read.what), key=name))
        for el in diagram.elements.values():
            if el.type not in USER_TASKS or not el.form_key or el.form_key == key:
                continue
            try:
                other = forms.get_form(el.form_key)
            except NotFound:
                continue
            for item in other.evidence:
                if isinstance(item, dict) and (item.get("step") == key or item.get("step") in ids):
                    for name in sorted(set(item.get("fields") or []) & removed):
                        problems.append(_("%(process)s (version %(version)s), step “%(step)s”: its form shows "
                                          "“%(key)s” of this form.", **where, step=step_name(diagram, el.id),
                                          key=name))
    return list(dict.fromkeys(problems))


def _holders(key: str, kept: set[str]) -> list[str]:
    """Waiting tasks given a version of the form with keys the new version drops."""
    problems = []
    rows = db.session.execute(
        select(HumanTask.form_version_id, func.count()).where(
            HumanTask.form_key == key, HumanTask.status == TaskStatus.open, HumanTask.form_version_id.is_not(None))
        .group_by(HumanTask.form_version_id)).all()
    for version_id, count in rows:
        dropped = _version_names(version_id) - kept
        if dropped:
            number = forms.form_version(version_id).number
            problems.append(_("%(n)d waiting task(s) were given version %(version)s of this form, which has "
                              "“%(keys)s”.", n=count, version=number, keys="”, “".join(sorted(dropped))))
    return problems


def _refuse_files(key: str, definition: dict[str, Any]) -> None:
    """A file field is refused on a form a live periodic report's or public report's step shows
    (processes.NO_FILE_PROCESSES: their pages take no files)."""
    from app.services import processes

    names = processes.file_fields(definition.get("fields", []))
    if not names:
        return
    steps = [_("%(process)s (version %(version)s), step “%(step)s”", process=process_name(version, diagram),
               version=version.number, step=step_name(diagram, i))
             for version, _running, diagram, ids in _steps_using(key)
             if version.process_key in processes.NO_FILE_PROCESSES for i in ids]
    if steps:
        raise FormInUse(processes.no_files_message(names), steps, reissue_possible=False)


def check_save(key: str, definition: dict[str, Any], reissue: bool) -> None:
    """Refuse (FormInUse) a new version of form `key` that removes what running processes or waiting tasks use."""
    try:
        current = forms.active_form_version(key)
    except NotFound:
        return
    _refuse_files(key, definition)
    kept = _names(definition)
    removed = _names(json.loads(current.definition)) - kept
    readers = _readers(key, removed) if removed else []
    if readers:
        raise FormInUse(_("The form cannot be saved: running processes read data keys this version removes or "
                          "renames. Keep those keys, or change the steps first (deploy the changed diagram and "
                          "move the running hazards to it)."), readers, reissue_possible=False)
    holders = _holders(key, kept)
    if holders and not reissue:
        raise FormInUse(_("The form cannot be saved as it is: waiting tasks were given a version with data keys "
                          "this version removes or renames. Keep those keys, or choose to re-issue the waiting "
                          "tasks with the new version."), holders, reissue_possible=True)


def save_form(user: User, key: str, definition: Any, note: str | None = None, reissue: bool = False) -> FormVersion:
    """Save a new version of a form after checking it against the processes and tasks that use it; with `reissue`
    the form's waiting tasks are re-issued with the new version in the same transaction."""
    def guard(raw: dict[str, Any]) -> None:
        check_save(key, raw, reissue)

    def after(row: FormVersion) -> None:
        if reissue:
            _reissue_all(user, key, row.id)

    return forms.save_form(user.id, key, definition, note, guard=guard, after=after)


# ------------------------------------------------------------------------------------------- re-issue
def _reissue(user: User, task_id: int, version_id: int) -> bool:
    """Give one waiting task form version `version_id`, under its instance's lock, in the caller's transaction."""
    with instance_step(task_id=task_id, commit=False) as step:
        task = step.task
        if task is None or task.status != TaskStatus.open:
            raise Conflict(_("This task is no longer waiting; nothing was changed."))
        if task.form_version_id == version_id:
            return False
        before = forms.form_version(task.form_version_id).number if task.form_version_id else None
        task.form_version_id = version_id
        step.audit("task_reissued", actor_id=user.id, task_spec=task.spec_name, data={
            "task": task.title, "form": task.form_key, "from_version": before,
            "to_version": forms.form_version(version_id).number})
    return True


def _reissue_all(user: User, key: str, version_id: int) -> int:
    ids = list(db.session.scalars(select(HumanTask.id).where(
        HumanTask.form_key == key, HumanTask.status == TaskStatus.open,
        (HumanTask.form_version_id != version_id) | HumanTask.form_version_id.is_(None)).order_by(HumanTask.id)))
    return sum(_reissue(user, task_id, version_id) for task_id in ids)


def reissue_task(user: User, task_id: int) -> HumanTask:
    """Re-issue one waiting task with the current version of its form (administrators; audited)."""
    task = db.session.get(HumanTask, task_id) if 0 < task_id < 2**31 else None
    if task is None:
        raise NotFound(_("Task %(id)s was not found.", id=task_id))
    current = forms.active_form_version(task.form_key)
    try:
        _reissue(user, task_id, current.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return db.session.get(HumanTask, task_id)


def reissue_form(user: User, key: str) -> int:
    """Re-issue every waiting task of form `key` with its current version, all or nothing; how many moved."""
    current = forms.active_form_version(key)
    try:
        moved = _reissue_all(user, key, current.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return moved


# ------------------------------------------------------------------------------------ deadline texts
PLACEHOLDER = re.compile(r"\{(deadline_days|timer:([^{}]{1,200}))\}")
# "10日", "10 天", "10 days", "within 10 working days": a literal number of days in a text.
LITERAL_DAYS = re.compile(r"(\d{1,4})\s*(?:个)?(?:工作)?(?:日|天|(?:working\s+|calendar\s+)?days?\b)", re.IGNORECASE)


def _timers(diagram: Diagram, step_id: str) -> tuple[int | None, dict[str, int]]:
    """(days of the first duration timer on the step, days of every duration timer by id and by name)."""
    named: dict[str, int] = {}
    own = None
    for el in diagram.elements.values():
        days = timer_days(el)
        if days is None:
            continue
        named[el.id] = days
        if el.name:
            named.setdefault(" ".join(el.name.split()), days)
        if el.attached_to == step_id and own is None:
            own = days
    return own, named


def render_text(text: str, own: int | None, named: dict[str, int]) -> str:
    """`{deadline_days}` and `{timer:<id or name>}` replaced by their days; an unknown placeholder stays."""
    def value(match: re.Match) -> str:
        days = own if match.group(1) == "deadline_days" else named.get(match.group(2).strip())
        return str(days) if days is not None else match.group(0)

    return PLACEHOLDER.sub(value, text)


def _texts(definition: dict[str, Any]):
    """Every (where, labels dict) of a definition that people read."""
    yield _("the description"), definition.get("description") or {}
    for spec in definition.get("fields", []):
        if isinstance(spec, dict):
            yield _("the label of %(name)s", name=spec.get("name")), spec.get("label") or {}
            yield _("the help of %(name)s", name=spec.get("name")), spec.get("help") or {}


def for_task(form: forms.FormDefinition, task: HumanTask) -> forms.FormDefinition:
    """The form as `task` shows it: deadline placeholders rendered from the timers of its process version."""
    if not PLACEHOLDER.search(json.dumps([form.description, form.fields], ensure_ascii=False)):
        return form
    version = db.session.scalar(select(ProcessVersion).join(ProcessInstance, ProcessInstance.version_id ==
                                                            ProcessVersion.id).where(ProcessInstance.id == task.instance_id))
    return for_step(form, version, task.spec_name)


def for_step(form: forms.FormDefinition, version: ProcessVersion | None, step_id: str) -> forms.FormDefinition:
    """The form as the task of `step_id` shows it: deadline placeholders rendered from that version's timers."""
    diagram = diagram_of(version) if version is not None else None
    if diagram is None:
        return form
    own, named = _timers(diagram, step_id)

    def render(labels: Any) -> Any:
        if not isinstance(labels, dict):
            return labels
        return {lang: render_text(text, own, named) if isinstance(text, str) else text for lang, text in labels.items()}

    fields = copy.deepcopy(form.fields)
    for spec in fields:
        for part in ("label", "help"):
            if part in spec:
                spec[part] = render(spec[part])
    return replace(form, description=render(form.description), fields=fields)


def _text_problems(definition: dict[str, Any], diagram: Diagram, step_id: str, process: str) -> list[str]:
    """What the texts of a form shown at `step_id` say against that step's timers."""
    own, named = _timers(diagram, step_id)
    step = step_name(diagram, step_id)
    problems: list[str] = []
    for where, labels in _texts(definition):
        for text in (t for t in labels.values() if isinstance(t, str)):
            for match in PLACEHOLDER.finditer(text):
                known = own if match.group(1) == "deadline_days" else named.get(match.group(2).strip())
                if known is None:
                    problems.append(_("%(where)s uses %(placeholder)s, but step “%(step)s” of %(process)s has no "
                                      "such timer.", where=where, placeholder=match.group(0), step=step,
                                      process=process))
            if own is None:
                continue
            for match in LITERAL_DAYS.finditer(PLACEHOLDER.sub("", text)):
                if int(match.group(1)) != own:
                    problems.append(_("%(where)s says “%(text)s”, but the timer of step “%(step)s” of %(process)s "
                                      "is %(days)d days; write {deadline_days} to follow it.", where=where,
                                      text=match.group(0), step=step, days=own, process=process))
    return problems


def deadline_warnings(key: str, definition: dict[str, Any]) -> list[str]:
    """Texts of the form that name a number of days contradicting the timer of a step that uses the form (in the
    active versions), and placeholders that name no timer there."""
    warnings: list[str] = []
    for version, _running, diagram, ids in _steps_using(key):
        if version.active:
            for step_id in ids:
                warnings += _text_problems(definition, diagram, step_id, process_name(version, diagram))
    return list(dict.fromkeys(warnings))


def diagram_warnings(diagram: Diagram, process_key: str) -> list[dict[str, str | None]]:
    """For a diagram being validated: the forms of its user tasks whose texts contradict the tasks' timers (a
    changed timer, "within 10 days" still in the form), as {element_id, message}; they do not stop a deploy."""
    process = diagram.process_names.get(process_key) or process_key
    found = []
    for el in diagram.elements.values():
        if el.type not in USER_TASKS or not el.form_key:
            continue
        try:
            definition = forms.get_form(el.form_key).as_dict()
        except NotFound:
            continue  # validation reports the missing form
        found += [{"element_id": el.id, "message": m} for m in _text_problems(definition, diagram, el.id, process)]
    return found
