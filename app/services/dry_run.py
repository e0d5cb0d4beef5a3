"""The dry run: a diagram proves it runs before it is deployed.

Validation starts the diagram on a sample hazard (a sample public report for the public report's triage) through the real engine and the real assignment code
(lifecycle.apply_snapshot: human tasks to roles in organisations, timers, the read model) and completes
each task it opens with sample data from the task's form, inside a SAVEPOINT that is always rolled back:
nothing of it stays, whatever the caller's transaction holds.  What would fail for the first real hazard
(a condition reading a name no form fills, a script that raises, a lane nobody can be given) fails here
instead, pinned to its element.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.chinatime import today
from app.clock import clock
from app.engine import EngineError, ParsedProcess, ProcessRuntime, Snapshot
from app.extensions import db, transaction_memo
from app.models import (
    Hazard,
    HazardStatus,
    Organisation,
    OrgKind,
    ProcessVersion,
    PublicReport,
    PublicReportStatus,
    Region,
    RegionKind,
)
from app.services import forms, lifecycle, subjects
from app.services.errors import NotFound

# Enough for every task of a realistic process and a loop or two; a longer run is not an error.
MAX_STEPS = 40


@dataclass(frozen=True)
class DryRunFailure:
    element_id: str | None
    reason: str


@dataclass
class DryRun:
    """What the dry run saw: the tasks it completed, whether it finished, and the failure that stopped it."""

    completed_tasks: list[str]
    finished: bool
    failure: DryRunFailure | None = None
    stuck: bool = False  # started, but waits for nothing a person or a timer can give


def sample_value(spec: dict[str, Any]) -> Any:
    """A plausible value for one JSON-schema property (the first choice of an enum)."""
    if spec.get("enum"):
        return spec["enum"][0]
    if "const" in spec:
        return spec["const"]
    kind = spec.get("type")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if kind == "string":
        if spec.get("format") == "date":
            return (today() + timedelta(days=7)).isoformat()
        return "示例"
    if kind in ("integer", "number"):
        return max(1, spec.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return "示例"


def sample_data(form_key: str | None) -> dict[str, Any]:
    """What a person might submit on the form: a value for every property of its schema."""
    if not form_key:
        return {}
    try:
        form = forms.get_form(form_key)
    except NotFound:
        return {}
    return {name: sample_value(spec) for name, spec in form.schema.get("properties", {}).items()}


def _sample_hazard(process_key: str) -> tuple[Hazard, ProcessVersion]:
    """An enterprise, its supervising unit, a hazard and a version row for the instance to point to."""
    now = clock.now()
    unit = Organisation(kind=OrgKind.government, name="dry run unit")
    db.session.add(unit)
    db.session.flush()
    enterprise = Organisation(kind=OrgKind.enterprise, name="dry run enterprise", supervising_unit_id=unit.id)
    version = ProcessVersion(process_key=process_key[:100], number=0, bpmn_xml="", sha256="0" * 64, active=False,
                             deployed_at=now, note="dry run")
    db.session.add_all([enterprise, version])
    db.session.flush()
    hazard = Hazard(number=f"DRY{now:%Y%m%d%H%M%S%f}"[:30], title="示例隐患", description="示例", location="示例",
                    hazard_type="unsafe_condition", source="self_check", enterprise_id=enterprise.id,
                    supervising_unit_id=unit.id, status=HazardStatus.reported, created_at=now, updated_at=now,
                    audit_seq=0)
    db.session.add(hazard)
    db.session.flush()
    return hazard, version


def _sample_public_report(hazard: Hazard) -> PublicReport:
    """A public report to the sample hazard's unit (a triage's subject: services/subjects.py)."""
    now = clock.now()
    region = Region(code=f"DRY{now:%Y%m%d%H%M%S%f}"[:40], name="dry run region", kind=RegionKind.district)
    db.session.add(region)
    db.session.flush()
    report = PublicReport(tracking_code="DRYRUN0000", pin_hash="0" * 64, description="示例", region_id=region.id,
                          enterprise_id=hazard.enterprise_id, supervising_unit_id=hazard.supervising_unit_id,
                          seen_on=now.date(), status=PublicReportStatus.received, reporter_contact="sealed",
                          challenge_signature=f"dry-run-{now.timestamp()}", created_at=now, updated_at=now)
    db.session.add(report)
    db.session.flush()
    return report


def dry_run(parsed: ParsedProcess) -> DryRun:
    """Start the process on a sample subject — a hazard, or a public report for the triage — and complete its tasks
    with sample data; nothing is kept."""
    runtime = ProcessRuntime(parsed, clock=clock.now)
    done: list[str] = []
    savepoint = db.session.begin_nested()
    try:
        hazard, version = _sample_hazard(parsed.process_key)
        subject = _sample_public_report(hazard) if parsed.process_key == lifecycle.TRIAGE_PROCESS else hazard
        snapshot = runtime.start(lifecycle.sample_start_data(parsed.process_key, hazard))
        instance = lifecycle.new_instance(version.id, snapshot)
        subject.instance_id = instance.id
        applier = lifecycle.SNAPSHOT_APPLIERS[subjects.kind_of(subject).name]
        completed_uuid = None
        for _step in range(MAX_STEPS):
            applier(instance, subject, snapshot, parsed=parsed, open_rows=None, completed_task_uuid=completed_uuid)
            db.session.flush()
            if snapshot.completed or not snapshot.ready_tasks:
                break
            task = snapshot.ready_tasks[0]
            snapshot = runtime.complete(snapshot.state, task.uuid, sample_data(task.form_key))
            completed_uuid = task.uuid
            done.append(task.name)
        return DryRun(done, snapshot.completed, stuck=_stuck(snapshot))
    except EngineError as exc:
        return DryRun(done, False, DryRunFailure(exc.element_id, str(exc)))
    finally:
        savepoint.rollback()
        transaction_memo().clear()  # what the run cached about its sample rows is gone with them


def _stuck(snapshot: Snapshot) -> bool:
    return not snapshot.completed and not snapshot.ready_tasks and not snapshot.timers
