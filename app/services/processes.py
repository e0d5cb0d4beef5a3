"""Process versions: deploying diagrams and finding the version new hazards start on."""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.clock import clock
from app.engine import DiagramError, ProcessRuntime, parse_process, runtime_for
from app.engine.specs import sha256_of
from app.extensions import db
from app.models import ProcessVersion
from app.services import audit
from app.services.errors import NotFound, ValidationFailed

LIFECYCLE = "hazard_lifecycle"


def shipped_path(process_key: str) -> Path:
    return Path(current_app.config["BPMN_DIR"]) / f"{process_key}.bpmn"


def deploy(process_key: str, xml: str, deployed_by_id: int | None, note: str | None = None) -> ProcessVersion:
    """Validate and store a new active version; an identical diagram returns the existing version."""
    try:
        parse_process(xml, process_key, validate=True)
    except DiagramError as exc:
        raise ValidationFailed(_("The diagram cannot be deployed."),
                               fields={el or "_diagram": msg for el, msg in exc.problems}) from None
    digest = sha256_of(xml)
    existing = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == process_key, ProcessVersion.sha256 == digest))
    if existing is not None:
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


def active_version(process_key: str = LIFECYCLE) -> ProcessVersion:
    """The version new instances start on; the shipped diagram is deployed on first use."""
    version = db.session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_key == process_key, ProcessVersion.active.is_(True)))
    if version is not None:
        return version
    path = shipped_path(process_key)
    if not path.exists():
        raise NotFound(_("No process named %(key)s is deployed.", key=process_key))
    return deploy(process_key, path.read_text(encoding="utf-8"), None, note="shipped diagram")


def runtime(version: ProcessVersion) -> ProcessRuntime:
    return runtime_for(version.sha256, version.bpmn_xml, version.process_key, clock=clock.now)
