"""Process versions: deploying diagrams and finding the version new hazards start on."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.clock import clock
from app.engine import ProcessRuntime, runtime_for
from app.engine.diagram import HUMAN_TASKS, DiagramCheck, Finding, check_names, validate_diagram
from app.engine.runtime import cached_runtime
from app.engine.specs import sha256_of
from app.extensions import db
from app.models import Position, ProcessRule, ProcessVersion
from app.services import audit, deadlines, forms, immutable, statuses
from app.services.dry_run import DryRun, dry_run
from app.services.errors import NotFound, ValidationFailed
from app.services.lifecycle import REPORT_PROCESS, START_DATA, TRIAGE_PROCESS, start_names
from app.services.policy import BUREAU_HEAD_LANES, region_chain, working_lane_names, working_lanes
from app.services.triage_forms import ANSWER, DECISIONS, FIRST_ANSWER, form_meaning

LIFECYCLE = "hazard_lifecycle"
DEFAULT_PROCESS = LIFECYCLE  # what a new hazard starts when no process rule matches


class DiagramInvalid(ValidationFailed):
    """A diagram that cannot be deployed; `problems` lists {element_id, message}, element_id None for the file."""

    def __init__(self, message: str, problems: list[dict[str, str | None]]):
        fields: dict[str, str] = {}
        for problem in problems:
            key = problem["element_id"] or "_diagram"
            fields[key] = f"{fields[key]} {problem['message']}" if key in fields else str(problem["message"])
        super().__init__(message, fields=fields)
        self.problems = problems


def _finding_message(finding: Finding) -> str:
    detail = finding.detail
    messages = {
        "xml": lambda: _("The file is not a safe, well-formed XML document: %(detail)s", detail=detail),
        "schema": lambda: _("This is not valid BPMN 2.0: %(detail)s", detail=detail),
        "parse": lambda: _("The workflow engine cannot read this element: %(detail)s", detail=detail),
        "no_process": lambda: _("The diagram has no process with the id %(key)s; keep the process id unchanged.",
                                key=detail),
        "condition": lambda: _("The condition cannot be used: %(detail)s", detail=detail),
        "script": lambda: _("The script cannot be used: %(detail)s", detail=detail),
        "pre_script": lambda: _("The script cannot be used: %(detail)s", detail=detail),
        "post_script": lambda: _("The script cannot be used: %(detail)s", detail=detail),
        "expression": lambda: _("The expression cannot be used: %(detail)s", detail=detail),
        "timer_empty": lambda: _("The timer has no date, duration or cycle."),
        "timer_unquoted": lambda: _('Timer expressions are Python: write "%(value)s" in quotes, or the name of '
                                    "a variable that holds it.", value=detail),
        "timer": lambda: _("The timer expression cannot be used: %(detail)s", detail=detail),
        "timer_format": lambda: _("%(value)s is not an ISO 8601 date, duration (P30D) or cycle (R3/P1D).",
                                  value=detail),
        "unreachable": lambda: _("Nothing leads to this element: connect it to the flow from the start event."),
        "dead_end": lambda: _("This element leads nowhere: connect it onwards to an end event."),
        "no_way_to_end": lambda: _("No path leads from this element to an end event."),
        "no_start": lambda: _("The process needs a start event."),
        "no_end": lambda: _("The process needs an end event."),
        "flow_ends": lambda: _("This flow is not connected at both ends."),
        "documentation_markup": lambda: _("Documentation must be plain text; remove the <%(tag)s> element inside it.",
                                          tag=detail),
        "service_task": lambda: _("Service tasks cannot run here: nothing calls outside systems. Use a user task "
                                  "for the person who does it, or a script task for a calculation."),
        "business_rule_task": lambda: _("DMN decision tables cannot run here. Decide with conditions on the "
                                        "outgoing flows of an exclusive gateway, or a script task."),
        "receive_task": lambda: _("Nothing in HazardLoop sends messages to a receive task, so the process would "
                                  "wait forever. Use a user task for the person who records what arrived."),
        "message_catch": lambda: _("Nothing in HazardLoop sends messages, so this event would wait forever. Use a "
                                   "user task for the person who records it, or a timer for a deadline."),
        "signal_catch": lambda: _("Nothing in HazardLoop sends signals, so this event would wait forever. Use a "
                                  "user task for the person who records it, or a timer for a deadline."),
        "foreign_expression": lambda: _("%(source)s is a Camunda-style expression; conditions and timers here "
                                        "are Python expressions: write approved == True, not ${approved}.",
                                        source=detail),
        "undefined_name": lambda: _("%(name)s is read here but nothing defines it: no form of this diagram has "
                                    "a field %(name)s, no script sets it, and a new hazard's data has only "
                                    "%(start)s.", name=detail, start=", ".join(START_DATA)),
        "timer_cron": lambda: _("%(source)s is a cron expression; timers are ISO 8601 in quotes: a date "
                                '"2026-01-31T09:00:00+08:00", a duration "P10D" or a cycle "R3/P1D".', source=detail),
    }
    return str(messages.get(finding.code, lambda: detail or finding.code)())


@dataclass
class Validation:
    """Validation's answer: every problem as {element_id, message} ([] = deployable), and what the dry run did
    (None when the static checks already refused the diagram)."""

    problems: list[dict[str, str | None]]
    check: DiagramCheck
    dry_run: DryRun | None = None
    # What does not stop a deploy but should be looked at (services/form_usage.diagram_warnings).
    warnings: list[dict[str, str | None]] = field(default_factory=list)

    def as_dict(self) -> dict:
        run = self.dry_run
        return {"problems": self.problems, "deployable": not self.problems, "warnings": self.warnings,
                "dry_run": None if run is None else {"completed_tasks": run.completed_tasks,
                                                      "finished": run.finished}}


def check_diagram(process_key: str, xml: str | bytes) -> Validation:
    """Every problem that stops a diagram from being deployed, each as {element_id, message}; when the static
    checks pass, the dry run (services/dry_run.py) starts it on a sample hazard and its failure is one more."""
    result = validate_diagram(xml, process_key)
    problems = [{"element_id": f.element_id, "message": _finding_message(f)} for f in result.findings]
    if result.diagram is None:
        return Validation(problems, result)
    known_forms = set(forms.form_keys())
    names = "、".join(working_lane_names())
    human = result.diagram.of_type(*HUMAN_TASKS)
    for task in human:
        if not task.form_key:
            problems.append({"element_id": task.id, "message": _("Choose the form this task shows (formKey).")})
        elif task.form_key not in known_forms:
            problems.append({"element_id": task.id,
                             "message": _("There is no form named %(key)s.", key=task.form_key)})
        if not task.lane:
            problems.append({"element_id": task.id, "message": _(
                "Put this task in a lane: the lane names the role that does it (%(lanes)s).", lanes=names)})
        elif task.lane in BUREAU_HEAD_LANES or task.lane in working_lanes():
            pass
        elif (position := _position_named(task.lane)) is None:
            problems.append({"element_id": task.id, "message": _(
                "The lane %(lane)s names no role that works on hazards; use one of %(lanes)s.",
                lane=task.lane, lanes=names)})
        elif not position.active:
            problems.append({"element_id": task.id, "message": _(
                "The lane %(lane)s names a retired position; bring it back under Administration → Positions or "
                "use one of %(lanes)s.", lane=task.lane, lanes=names)})
    problems += _four_eyes_problems(human)
    problems += subject_form_problems(process_key, human, known_forms, getattr(result, "parsed", None))
    allowed = statuses.keys()
    for element in result.diagram.elements.values():  # steps and end events name the hazard's status
        if element.status is not None and element.status not in allowed:
            problems.append({"element_id": element.id, "message": _(
                "The status %(status)s is not a hazard status; use one of %(allowed)s.",
                status=element.status, allowed=", ".join(allowed))})
    if getattr(result, "parsed", None) is not None:  # deadline timers: their reminder/escalation settings
        problems += [{"element_id": element, "message": _("Reminders and escalation: %(detail)s", detail=detail)}
                     for element, detail in deadlines.diagram_problems(result.parsed)]
    used_forms = {t.form_key for t in result.diagram.of_type(*HUMAN_TASKS) if t.form_key in known_forms}
    problems += [{"element_id": f.element_id, "message": _finding_message(f)}
                 for f in check_names(result.diagram, set(start_names(process_key)) | _form_fields(used_forms))]
    if problems or result.parsed is None:
        return Validation(problems, result)
    run = dry_run(result.parsed)
    if run.failure is not None:
        problems.append({"element_id": run.failure.element_id, "message": _(
            "A trial run on a sample hazard failed here: %(reason)s", reason=run.failure.reason)})
    elif run.stuck:
        problems.append({"element_id": None, "message": _(
            "A trial run on a sample hazard stopped with no task for anyone and no timer: the process would wait "
            "forever. Make sure every path reaches a user task, a timer or an end event.")})
    return Validation(problems, result, run)


def _position_named(name: str) -> Position | None:
    """The position a lane names: an active one first, else a retired one (so deploying can say it is retired)."""
    return db.session.scalars(select(Position).where(Position.name == name)
                              .order_by(Position.active.desc(), Position.id).limit(1)).first()


def _four_eyes_problems(human: list) -> list[dict[str, str | None]]:
    """A task's differentPersonFrom must name another user task of the diagram (by id or name)."""
    problems: list[dict[str, str | None]] = []
    by_ref = {t.id: t for t in human} | {t.name: t for t in human if t.name}
    for task in human:
        ref = dict(task.properties).get("differentPersonFrom", "").strip()
        if not ref:
            continue
        earlier = by_ref.get(ref)
        if earlier is None:
            problems.append({"element_id": task.id, "message": _(
                "This step must be done by a different person from %(ref)s, but there is no user task %(ref)s in "
                "the diagram; choose one of the steps before it.", ref=ref)})
        elif earlier.id == task.id:
            problems.append({"element_id": task.id, "message": _(
                "A step cannot have to be done by a different person from itself; choose an earlier step.")})
    return problems


# The processes whose instance is not a hazard's: their steps are done on the report's page (/reports/<id>,
# /public-reports/<id>) and through the report's API, which take values, not files (an attachment belongs to a
# hazard or to the public's report, never to these steps): a form with a file field is refused for them.
NO_FILE_PROCESSES = (REPORT_PROCESS, TRIAGE_PROCESS)


def file_fields(fields: list) -> list[str]:
    """The names of the file (attachments) fields among a form's field specs."""
    return [f["name"] for f in fields
            if isinstance(f, dict) and f.get("widget") == "attachments" and isinstance(f.get("name"), str)]


def no_files_message(names: list[str]) -> str:
    return _("This step belongs to a periodic report or a public report, whose pages and API take no files; remove "
             "the file field %(fields)s from its form or choose a form without one.", fields="、".join(names))


def subject_form_problems(process_key: str, human: list, known_forms: set[str],
                          parsed) -> list[dict[str, str | None]]:
    """The forms a periodic report's or a public report's steps may show: no file field (NO_FILE_PROCESSES); and a
    triage's first-answer step (the task its `first_answer` deadline timer watches — at least one) shows a form with
    the answer's `decision` field (accept, merge, refer, reject), which is what makes it the answer."""
    if process_key not in NO_FILE_PROCESSES:
        return []
    problems: list[dict[str, str | None]] = []
    for task in human:
        if task.form_key in known_forms and (names := file_fields(forms.get_form(task.form_key).fields)):
            problems.append({"element_id": task.id, "message": no_files_message(names)})
    if process_key != TRIAGE_PROCESS or parsed is None:
        return problems
    answering = {meta.attached_to for meta in parsed.timer_events.values()
                 if meta.properties.get("deadline") == FIRST_ANSWER and meta.attached_to}
    must = _("The answer step's form must have the field “decision” with the values %(values)s (as the form "
             "public_triage, or a copy of it): that field is what opens a hazard, merges, refers or rejects the "
             "report.", values=", ".join(DECISIONS))
    for task in human:
        if task.id in answering and task.form_key in known_forms \
                and form_meaning(forms.get_form(task.form_key)) != ANSWER:
            problems.append({"element_id": task.id, "message": must})
    if not any(t.form_key in known_forms and form_meaning(forms.get_form(t.form_key)) == ANSWER for t in human):
        problems.append({"element_id": None, "message": _("No step answers the report.") + " " + must})
    return problems


def _form_fields(keys: set[str]) -> set[str]:
    """The names a person's submissions on these forms put into task data."""
    names: set[str] = set()
    for key in keys:
        form = forms.get_form(key)
        names.update(form.schema.get("properties", {}))
        names.update(f["name"] for f in form.fields if f.get("name"))
    return names


def new_version(process_key: str, xml: str, deployed_by_id: int | None, note: str | None = None) -> ProcessVersion:
    """Validate fully and add a new active version in the caller's transaction (flushed, not committed); an
    identical diagram re-activates its existing version.

    Refused diagrams raise DiagramInvalid and change nothing (no version row, no audit event).
    """
    problems = check_diagram(process_key, xml).problems
    if problems:
        raise DiagramInvalid(_("The diagram cannot be deployed: fix the problems marked on it."), problems)
    digest = sha256_of(xml)
    existing = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == process_key, ProcessVersion.sha256 == digest))
    if existing is not None:
        if not existing.active:
            db.session.execute(update(ProcessVersion).where(ProcessVersion.process_key == process_key)
                               .values(active=False))
            existing.active = True
            audit.record("process_activated", actor_id=deployed_by_id,
                         data={"process_key": process_key, "number": existing.number, "sha256": digest})
        return existing
    number = (db.session.scalar(select(func.max(ProcessVersion.number))
                                .where(ProcessVersion.process_key == process_key)) or 0) + 1
    db.session.execute(update(ProcessVersion).where(ProcessVersion.process_key == process_key)
                       .values(active=False))
    version = ProcessVersion(process_key=process_key, number=number, bpmn_xml=xml, sha256=digest, active=True,
                             deployed_by_id=deployed_by_id, deployed_at=clock.now(), note=note)
    db.session.add(version)
    db.session.flush()
    audit.record("process_deployed", actor_id=deployed_by_id,
                 data={"process_key": process_key, "number": number, "sha256": digest})
    return version


def deploy(process_key: str, xml: str, deployed_by_id: int | None, note: str | None = None) -> ProcessVersion:
    """Deploy a diagram as the new active version of its process, in a transaction of its own."""
    try:
        version = new_version(process_key, xml, deployed_by_id, note)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return version


SHIPPED_NOTE = "shipped diagram"


def install_shipped(process_key: str, xml: str) -> str:
    """Install bpmn/<process_key>.bpmn in the caller's transaction; says what it did.

    The first install deploys it as version 1; a changed file (an upgrade of HazardLoop) is deployed as a new
    version while the active one is still a shipped one; an administrator's version is never replaced.
    """
    active = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == process_key, ProcessVersion.active.is_(True)))
    if active is not None and active.sha256 == sha256_of(xml):
        return f"process {process_key}: version {active.number} is up to date"
    if active is not None and active.note != SHIPPED_NOTE:
        return (f"process {process_key}: kept version {active.number}, deployed by an administrator "
                "(open the shipped diagram in the designer to adopt it)")
    version = new_version(process_key, xml, None, note=SHIPPED_NOTE)
    return f"process {process_key}: installed version {version.number}"


# ------------------------------------------------------------------------------ which process a hazard starts
def rules() -> list[ProcessRule]:
    """The rules choosing a new hazard's process, in the order they are tried."""
    return list(db.session.scalars(select(ProcessRule).order_by(ProcessRule.position, ProcessRule.id)))


def rule_matches(rule: ProcessRule, source: str | None, industry: str | None, regions: list[int]) -> bool:
    """A rule's industry is a GB/T 4754 section or division: "C" covers "C26" and "C2614", "C26" covers "C2614"."""
    return ((rule.source is None or rule.source == source)
            and (rule.industry is None or (industry or "").startswith(rule.industry))
            and (rule.region_id is None or rule.region_id in regions))


def process_for(source: str | None, industry: str | None, region_id: int | None) -> str:
    """The process a new hazard starts, by what is known when it is reported: the first matching rule whose
    process has an active version, else the default (the shipped lifecycle)."""
    candidates = rules()
    if not candidates:
        return DEFAULT_PROCESS
    regions = region_chain(region_id)
    deployed = set(db.session.scalars(select(ProcessVersion.process_key).where(ProcessVersion.active.is_(True))))
    for rule in candidates:
        if rule.process_key in deployed and rule_matches(rule, source, industry, regions):
            return rule.process_key
    return DEFAULT_PROCESS


def active_version(process_key: str = LIFECYCLE) -> ProcessVersion:
    """The version new instances start on (a read: shipped diagrams are installed by `flask shipped install`)."""
    version = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == process_key, ProcessVersion.active.is_(True)))
    if version is None:
        raise NotFound(_("No version of the process %(key)s is deployed; an administrator deploys one in the "
                         "designer (or installs the shipped diagrams with `flask shipped install`).",
                         key=process_key))
    return version


def runtime(version: ProcessVersion) -> ProcessRuntime:
    return runtime_for(version.sha256, version.bpmn_xml, version.process_key, clock=clock.now)


def runtime_for_version(version_id: int) -> ProcessRuntime:
    """The runtime of a version by id, reading its XML only when this process has not parsed it yet."""
    sha = immutable.lookup("process_sha256", version_id, lambda: db.session.scalar(
        select(ProcessVersion.sha256).where(ProcessVersion.id == version_id)))
    return cached_runtime(sha) or runtime(db.session.get(ProcessVersion, version_id))
