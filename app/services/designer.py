"""The process designer: the library of processes and versions, drafts, validation, deploys and diffs.

Administrators only: every function takes the acting user and checks the role first.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from app.clock import clock
from app.engine import DiagramError
from app.engine.diagram import DiagramDiff, adopt_process_id, compare, read_diagram
from app.engine.specs import MAX_BPMN_BYTES, check_xml_is_safe, sha256_of
from app.extensions import db
from app.models import (
    HumanTask,
    InstanceStatus,
    ProcessDraft,
    ProcessInstance,
    ProcessRule,
    ProcessVersion,
    Region,
    Role,
    StepFailure,
    TaskStatus,
    Timer,
    TimerStatus,
    User,
)
from app.services import audit, form_usage, forms, org_codes, processes, subjects
from app.services.capabilities import may_administer
from app.services.errors import Forbidden, NotFound, ValidationFailed
from app.services.hazards import REPORT_FORM
from app.services.policy import BUREAU_HEAD_LANES, POSITION_ROLE, active_positions, working_lanes
from app.services.process_changes import ChangeLine, summarize


def require_admin(user: User | None) -> User:
    """The user, if an administrator; otherwise Forbidden."""
    if user is None or not getattr(user, "is_authenticated", False) or not may_administer(user):
        raise Forbidden(_("Only administrators can design and deploy processes."))
    return user


def _check_key(process_key: str) -> str:
    if not process_key or len(process_key) > 100 or not all(c.isalnum() or c in "_-" for c in process_key):
        raise NotFound(_("No process named %(key)s is deployed.", key=process_key))
    return process_key


@dataclass
class VersionRow:
    version: ProcessVersion
    deployed_by: str | None
    running: int
    finished: int


@dataclass
class FailingInstance:
    """An instance the engine keeps refusing — a hazard's, a periodic report's or a public report's: a timer that
    failed (or is failing), or a refused completion, and why."""

    subject: subjects.SubjectRef  # what the instance is about, with its page
    version: int
    element: str
    gave_up: bool
    attempts: int
    reason: str
    refused_completion: bool = False  # a person's completion the engine refused (else a timer)
    element_id: str | None = None     # for the page's data attributes; the step is named by `element`


@dataclass
class ProcessSummary:
    process_key: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)
    drafts: list[ProcessDraft] = field(default_factory=list)
    failing: list[FailingInstance] = field(default_factory=list)

    @property
    def active(self) -> VersionRow | None:
        return next((v for v in self.versions if v.version.active), None)


def _process_name(xml: str, process_key: str) -> str:
    try:
        diagram = read_diagram(xml)
    except DiagramError:
        return process_key
    return diagram.process_names.get(process_key) or process_key


def library(user: User) -> list[ProcessSummary]:
    """Every process with its versions (who deployed, when, running and finished instances) and drafts."""
    require_admin(user)
    counts = {row.version_id: (row.running, row.finished) for row in db.session.execute(
        select(ProcessInstance.version_id,
               func.count(case((ProcessInstance.status == InstanceStatus.running, 1))).label("running"),
               func.count(case((ProcessInstance.status == InstanceStatus.completed, 1))).label("finished"))
        .group_by(ProcessInstance.version_id))}
    people = dict(db.session.execute(select(User.id, User.display_name)).all())
    summaries: dict[str, ProcessSummary] = {}
    versions = db.session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_key,
                                                                  ProcessVersion.number.desc()))
    for version in versions:
        summary = summaries.get(version.process_key)
        if summary is None:
            summary = summaries[version.process_key] = ProcessSummary(version.process_key, version.process_key)
        if version.active or summary.name == version.process_key:
            summary.name = _process_name(version.bpmn_xml, version.process_key)
        running, finished = counts.get(version.id, (0, 0))
        summary.versions.append(VersionRow(version, people.get(version.deployed_by_id), running, finished))
    for draft in db.session.scalars(select(ProcessDraft).order_by(ProcessDraft.updated_at.desc())):
        summary = summaries.setdefault(draft.process_key, ProcessSummary(draft.process_key, draft.process_key))
        summary.drafts.append(draft)
    for process_key, failing in _failing_instances().items():
        if process_key in summaries:
            summaries[process_key].failing = failing
    return list(summaries.values())


FAILING_SHOWN = 100


def _failing_instances() -> dict[str, list[FailingInstance]]:
    """By process: the instances whose timers failed when fired (given up, or still being retried), and the
    waiting tasks whose completion the engine refused (unit_of_work records them); each names the step and what the
    instance is about (a hazard, a periodic report, a public report: services/subjects.py)."""
    width = 2 * len(subjects.KINDS)
    rows = db.session.execute(subjects.join_subjects(
        select(ProcessVersion, Timer)
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id), ProcessInstance.id)
        .where(Timer.last_error.is_not(None), Timer.status.in_([TimerStatus.failed, TimerStatus.pending]))
        .order_by(Timer.id.desc()).limit(FAILING_SHOWN))
    found: dict[str, list[FailingInstance]] = {}
    for row in rows:
        version, timer, ref = row[0], row[1], subjects.subject_of_row(row[-width:])
        if ref is None:
            continue
        found.setdefault(version.process_key, []).append(FailingInstance(
            ref, version.number, _named(version, timer.spec_name),
            timer.status == TimerStatus.failed, timer.attempts, timer.last_error or "", element_id=timer.spec_name))
    refused = db.session.execute(subjects.join_subjects(
        select(ProcessVersion, HumanTask.title, StepFailure)
        .join(HumanTask, HumanTask.id == StepFailure.task_id)
        .join(ProcessInstance, ProcessInstance.id == StepFailure.instance_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id), ProcessInstance.id)
        .where(HumanTask.status == TaskStatus.open)
        .order_by(StepFailure.last_at.desc()).limit(FAILING_SHOWN))
    for row in refused:
        version, title, failure, ref = row[0], row[1], row[2], subjects.subject_of_row(row[-width:])
        if ref is None:
            continue
        where = _named(version, failure.element_id) if failure.element_id else title
        step = title if where == title else _("%(task)s, at %(where)s", task=title, where=where)
        found.setdefault(version.process_key, []).append(FailingInstance(
            ref, version.number, step, False, failure.attempts, failure.reason,
            refused_completion=True, element_id=failure.element_id))
    return found


def _named(version: ProcessVersion, element_id: str) -> str:
    """An element of a deployed version by its name (form_usage.step_name), not its id."""
    diagram = form_usage.diagram_of(version)
    return form_usage.step_name(diagram, element_id) if diagram is not None else element_id


def get_version(user: User, process_key: str, number: int) -> ProcessVersion:
    """One deployed version of a process."""
    require_admin(user)
    version = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == _check_key(process_key), ProcessVersion.number == number))
    if version is None:
        raise NotFound(_("Version %(n)s of %(key)s does not exist.", n=number, key=process_key))
    return version


def versions_of(user: User, process_key: str) -> list[ProcessVersion]:
    """Every deployed version of a process, newest first."""
    require_admin(user)
    return list(db.session.scalars(select(ProcessVersion).where(
        ProcessVersion.process_key == _check_key(process_key)).order_by(ProcessVersion.number.desc())))


def active_or_shipped(user: User, process_key: str) -> ProcessVersion:
    """The active version (deploying the shipped diagram if there is none yet)."""
    require_admin(user)
    version = processes.active_version(_check_key(process_key))
    db.session.commit()
    return version


# ------------------------------------------------------------------------------------------------ drafts
def _readable_xml(xml: str) -> None:
    """Drafts may be unfinished, but they are stored only when they are safe, well-formed XML."""
    if not isinstance(xml, str) or not xml.strip():
        raise ValidationFailed(_("The diagram is empty."), fields={"_diagram": _("The diagram is empty.")})
    try:
        check_xml_is_safe(xml.encode("utf-8"))
        read_diagram(xml)
    except DiagramError as exc:
        problems = [{"element_id": el, "message": _("The file is not a safe, well-formed XML document: "
                                                    "%(detail)s", detail=msg)} for el, msg in exc.problems]
        raise processes.DiagramInvalid(_("The diagram cannot be saved."), problems) from None


def list_drafts(user: User, process_key: str) -> list[ProcessDraft]:
    """The drafts of a process, most recently saved first."""
    require_admin(user)
    return list(db.session.scalars(select(ProcessDraft).where(ProcessDraft.process_key == _check_key(process_key))
                                   .order_by(ProcessDraft.updated_at.desc())))


def get_draft(user: User, process_key: str, draft_id: int) -> ProcessDraft:
    """One draft of a process."""
    require_admin(user)
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None or draft.process_key != process_key:
        raise NotFound(_("This draft does not exist (it may have been deployed or deleted)."))
    return draft


def save_draft(user: User, process_key: str, xml: str, name: str | None = None, draft_id: int | None = None,
               base_version_id: int | None = None) -> ProcessDraft:
    """Save the diagram being edited as a new draft, or over an existing one."""
    require_admin(user)
    _check_key(process_key)
    _readable_xml(xml)
    now = clock.now()
    name = (name or "").strip()[:200] or _("Draft of %(when)s", when=now.strftime("%Y-%m-%d %H:%M"))
    if draft_id is not None:
        draft = get_draft(user, process_key, draft_id)
        draft.bpmn_xml, draft.sha256, draft.name = xml, sha256_of(xml), name
        draft.updated_by_id, draft.updated_at = user.id, now
    else:
        if base_version_id is not None:
            base = db.session.get(ProcessVersion, base_version_id)
            base_version_id = base.id if base is not None and base.process_key == process_key else None
        draft = ProcessDraft(process_key=process_key, name=name, bpmn_xml=xml, sha256=sha256_of(xml),
                             base_version_id=base_version_id, created_by_id=user.id, created_at=now,
                             updated_by_id=user.id, updated_at=now)
        db.session.add(draft)
    db.session.commit()
    return draft


def delete_draft(user: User, process_key: str, draft_id: int) -> None:
    """Throw a draft away."""
    draft = get_draft(user, process_key, draft_id)
    db.session.delete(draft)
    db.session.commit()


# ------------------------------------------------------------------------------------- validate, deploy
def _adopted(process_key: str, xml: str) -> str:
    """An imported diagram runs as this process whatever its own process id: its main process adopts the key
    (engine.diagram.adopt_process_id). A document that cannot be read is left for validation to explain."""
    try:
        return adopt_process_id(xml, process_key)
    except DiagramError:
        return xml


def validate(user: User, process_key: str, xml: str) -> processes.Validation:
    """Every problem that would stop this diagram from being deployed (none: it can be), and its dry run."""
    require_admin(user)
    validation = processes.check_diagram(_check_key(process_key), _adopted(process_key, xml))
    if validation.check.diagram is not None:
        validation.warnings = form_usage.diagram_warnings(validation.check.diagram, process_key)
    return validation


def deploy(user: User, process_key: str, xml: str, note: str | None = None,
           draft_id: int | None = None) -> ProcessVersion:
    """Validate and deploy the diagram as the new active version; the draft it came from is removed."""
    require_admin(user)
    _check_key(process_key)
    if len(xml.encode("utf-8")) > MAX_BPMN_BYTES:
        raise processes.DiagramInvalid(_("The diagram cannot be deployed: fix the problems marked on it."), [{
            "element_id": None, "message": _("The diagram is larger than %(n)d KB.", n=MAX_BPMN_BYTES // 1024)}])
    draft = get_draft(user, process_key, draft_id) if draft_id is not None else None
    xml = _adopted(process_key, xml)
    try:
        version = processes.new_version(process_key, xml, user.id, note=(note or "").strip()[:500] or None)
        if draft is not None:
            db.session.delete(draft)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return version


# ------------------------------------------------------------------------------------------------- diffs
@dataclass
class VersionDiff:
    before: ProcessVersion
    after: ProcessVersion
    diff: DiagramDiff
    summary: list[ChangeLine] = field(default_factory=list)


def diff_versions(user: User, process_key: str, before: int, after: int,
                  status_label: Callable[[str | None], str] | None = None) -> VersionDiff:
    """What changed from one version to another: added, removed and changed elements, and in sentences."""
    old, new = get_version(user, process_key, before), get_version(user, process_key, after)
    old_diagram, new_diagram = read_diagram(old.bpmn_xml), read_diagram(new.bpmn_xml)
    diff = compare(old_diagram, new_diagram)
    return VersionDiff(old, new, diff, summarize(old_diagram, new_diagram, diff, status_label))


def diff_against(user: User, process_key: str, before: int, xml: str,
                 status_label: Callable[[str | None], str] | None = None) -> tuple[DiagramDiff, list[ChangeLine]]:
    """What a diagram being edited changes compared with a deployed version, and in sentences."""
    old = get_version(user, process_key, before)
    _readable_xml(xml)
    old_diagram, new_diagram = read_diagram(old.bpmn_xml), read_diagram(xml)
    diff = compare(old_diagram, new_diagram)
    return diff, summarize(old_diagram, new_diagram, diff, status_label)


# ------------------------------------------------------------------------------------------------- forms
def designer_options(user: User) -> dict:
    """What the properties panel offers: the forms a user task can show and the lanes that name roles."""
    require_admin(user)
    choices = []
    for key in forms.form_keys():
        try:
            form = forms.get_form(key)
        except NotFound:
            continue
        choices.append({"key": key, "title": form.title})
    db.session.commit()  # keep the form versions seeded from forms/*.json
    lanes = working_lanes()
    offered = [{"name": lane, "role": role.value} for lane, role in lanes.items() if not lane.isascii()]
    offered.append({"name": BUREAU_HEAD_LANES[0], "role": Role.inspector.value, "bureau_head": True})
    offered += [{"name": p.name, "role": POSITION_ROLE[p.kind].value, "position": p.kind.value}
                for p in active_positions() if p.name not in {lane["name"] for lane in offered}]
    return {"forms": choices, "lanes": offered}


def list_forms(user: User) -> list[forms.FormDefinition]:
    """Every form, active versions (seeding those not yet stored from forms/*.json)."""
    require_admin(user)
    listed = []
    for key in forms.form_keys():
        try:
            listed.append(forms.get_form(key))
        except NotFound:
            continue
    db.session.commit()
    return listed


def save_form(user: User, key: str, definition: object, note: str | None = None, reissue: bool = False):
    """Save an edited form definition as its new active version, unless it removes what running processes or
    waiting tasks use (form_usage.check_save); `reissue`: give the waiting tasks the new version too."""
    require_admin(user)
    return form_usage.save_form(user, key, definition, note, reissue=reissue)


def form_usage_of(user: User, key: str) -> form_usage.Usage:
    """The steps that use a form, the tasks waiting on each of its versions, and deadline texts to check."""
    require_admin(user)
    return form_usage.usage(key) if forms.valid_key(key) else form_usage.Usage()


def reissue_task(user: User, task_id: int):
    """Re-issue one waiting task with the current version of its form."""
    require_admin(user)
    return form_usage.reissue_task(user, task_id)


def reissue_form(user: User, key: str) -> int:
    """Re-issue every waiting task of a form with its current version; how many were re-issued."""
    require_admin(user)
    return form_usage.reissue_form(user, key)


def new_form_key(user: User, title: str) -> str:
    """A form name for a new form: the title itself when it is a free, valid name; else one made from the title's
    Latin letters and digits (or "form"), numbered until it is free. A Chinese title stays the form's title."""
    require_admin(user)
    title = (title or "").strip()
    taken = set(forms.form_keys())
    if forms.valid_key(title) and title not in taken:
        return title
    words = "".join(c.lower() if c.isascii() and c.isalnum() else " " for c in title).split()
    base = "_".join(words)[:60].strip("_") or "form"
    if base[0].isdigit():
        base = f"form_{base}"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


def form_history(user: User, key: str) -> list:
    """Every version of a form, newest first ([] for a form that does not exist yet)."""
    require_admin(user)
    if not forms.valid_key(key):
        raise NotFound(_("There is no form named %(key)s.", key=key))
    if key not in forms.form_keys():
        return []
    history = forms.form_versions(key)
    db.session.commit()
    return history



# ------------------------------------------------------------------------------------- more than one process
def create_process(user: User, process_key: str, name: str, template_key: str) -> ProcessVersion:
    """A new process in the library: version 1 is a copy of the template process's active version, with the
    new key as its process id and the new name."""
    require_admin(user)
    name = (name or "").strip()
    problems: dict[str, str] = {}
    if not process_key or len(process_key) > 100 or not all(c.isalnum() or c == "_" for c in process_key) \
            or not process_key[0].isalpha():
        problems["process_key"] = _("Use letters, digits and underscores, starting with a letter (at most 100).")
    elif db.session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_key == process_key).limit(1)):
        problems["process_key"] = _("A process with the key %(key)s exists already.", key=process_key)
    if not name or len(name) > 200:
        problems["name"] = _("Give the process a name (at most 200 characters).")
    template = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == template_key, ProcessVersion.active.is_(True))) if template_key else None
    if template is None:
        problems["template"] = _("Choose the process to start from.")
    if problems:
        raise ValidationFailed(_("The process cannot be created: fix the fields marked."), fields=problems)
    xml = adopt_process_id(template.bpmn_xml, process_key, source_id=template_key, name=name)
    return processes.deploy(process_key, xml, user.id, note=_("Created from %(template)s", template=template_key))


@dataclass
class RuleChoices:
    """What a process rule can test: report sources, the enterprises' industries and regions; the processes."""

    source_field: dict   # the report form's `source` field (its choices' labels)
    sources: list[str]
    industries: list[str]
    regions: list[tuple[int, str]]
    processes: list[str]


def rule_choices(user: User) -> RuleChoices:
    require_admin(user)
    field = forms.get_form(REPORT_FORM).field("source") or {}
    sources = [c["value"] for c in field.get("choices", [])]
    industries = list(org_codes.industries())  # GB/T 4754-2017 sections and divisions, in the standard's order
    regions = [(r.id, r.name) for r in db.session.scalars(select(Region).order_by(Region.code))]
    deployed = list(db.session.scalars(select(ProcessVersion.process_key).where(ProcessVersion.active.is_(True))
                                       .order_by(ProcessVersion.process_key)))
    return RuleChoices(field, sources, industries, regions, deployed)


def process_rules(user: User) -> list[ProcessRule]:
    require_admin(user)
    return processes.rules()


def add_rule(user: User, process_key: str, source: str | None = None, industry: str | None = None,
             region_id: int | None = None) -> ProcessRule:
    """A rule tried after the existing ones: hazards matching every condition given start `process_key`."""
    choices = rule_choices(user)
    problems: dict[str, str] = {}
    if process_key not in choices.processes:
        problems["process_key"] = _("Choose a process that has a deployed version.")
    source, industry = (source or None), (industry or "").strip() or None
    if source is not None and source not in choices.sources:
        problems["source"] = _("Choose one of the report sources.")
    if industry is not None:
        code = org_codes.normalise_industry(industry)
        if code is None or len(code) > 3:
            problems["industry"] = _("Choose an industry section (A–T) or division (e.g. C26) of GB/T 4754-2017.")
        industry = code
    if region_id is not None and db.session.get(Region, region_id) is None:
        problems["region_id"] = _("Choose one of the regions.")
    if problems:
        raise ValidationFailed(_("The rule cannot be added: fix the fields marked."), fields=problems)
    last = db.session.scalar(select(func.max(ProcessRule.position))) or 0
    rule = ProcessRule(position=last + 1, process_key=process_key, source=source, industry=industry,
                       region_id=region_id, created_by_id=user.id, created_at=clock.now())
    db.session.add(rule)
    db.session.flush()
    audit.record("process_rule_added", actor_id=user.id, data={
        "rule": rule.id, "process_key": process_key, "source": source, "industry": industry, "region_id": region_id})
    db.session.commit()
    return rule


def delete_rule(user: User, rule_id: int) -> None:
    require_admin(user)
    rule = db.session.get(ProcessRule, rule_id)
    if rule is None:
        raise NotFound(_("This rule was not found; it may have been removed already."))
    audit.record("process_rule_removed", actor_id=user.id, data={"rule": rule.id, "process_key": rule.process_key})
    db.session.delete(rule)
    db.session.commit()
