"""Import jobs: an uploaded workbook becomes a row of import_job, run by a background thread of the web process,
whose progress the upload page polls.

Why a thread of the web process and not the scheduler: the import starts at once (the scheduler ticks every
SCHEDULER_INTERVAL_SECONDS and may run elsewhere, without the uploaded file), and it needs nothing the request
holds — the job row names the file, the importer and their language. Closing the page changes nothing; the
job runs on. The whole workbook is one transaction (services/org_import.py): if the process dies midway, the
database rolls it back, nothing of the file stays, and the page shows the job as interrupted once its heartbeat
is older than STALE (it is never written by a read).

Progress: on PostgreSQL the job writes its row (processed rows, heartbeat) over a second connection, so that any
web worker can answer the page's poll while the import's own transaction is still open. SQLite allows one writer
at a time, so there the progress lives in this process's memory (the embedded default is one process anyway).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.clock import clock
from app.extensions import db
from app.models import ImportJob, ImportStatus, Role, User
from app.services import org_import
from app.services.errors import NotFound, ValidationFailed
from app.services.orgs import require_admin

log = logging.getLogger(__name__)
STALE = timedelta(minutes=5)
PUBLISH_EVERY = 0.5  # seconds between two progress writes
_LIVE: dict[int, tuple[int, int]] = {}  # job id → (processed, total), for jobs running in this process
_LOCK = threading.Lock()


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def create_job(actor: User, stream, filename: str | None, *, language: str | None, dry_run: bool = False) -> ImportJob:
    """Keep the uploaded workbook and queue its import (administrators only)."""
    require_admin(actor)
    name = " ".join((filename or "").split())[:200]
    if not name:
        message = _("Choose the Excel workbook (.xlsx) to import.")
        raise ValidationFailed(message, fields={"file": message})
    if not name.lower().endswith((".xlsx", ".xlsm")):
        message = _("Upload an Excel workbook saved as .xlsx (this file is %(name)s).", name=name)
        raise ValidationFailed(message, fields={"file": message})
    path = _folder() / f"{uuid.uuid4().hex}.xlsx"
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        message = _("The file is empty; choose the workbook again.")
        raise ValidationFailed(message, fields={"file": message})
    job = ImportJob(created_by=actor.id, created_at=clock.now(), status=ImportStatus.queued, dry_run=dry_run,
                    filename=name, path=str(path), language=(language or "")[:5] or None)
    db.session.add(job)
    db.session.commit()
    return job


def launch(app: Flask, job_id: int) -> threading.Thread:
    """Run the job in a background thread of this process."""
    thread = threading.Thread(target=_in_thread, args=(app, job_id), name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread


def _in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run_job(job_id)
        except Exception:
            log.exception("import job %s failed", job_id)
        finally:
            db.session.remove()


class _Publisher:
    """Counts the rows done; tells the page (memory, and the job row over a second connection on PostgreSQL)."""

    def __init__(self, job_id: int, total: int) -> None:
        self.job_id, self.total, self.done, self.last = job_id, total, 0, 0.0
        self.own_row = db.engine.dialect.name == "postgresql"
        _LIVE[job_id] = (0, total)

    def __call__(self, n: int) -> None:
        self.done += n
        self.total = max(self.total, self.done)
        with _LOCK:
            _LIVE[self.job_id] = (self.done, self.total)
        now = time.monotonic()
        if self.own_row and now - self.last >= PUBLISH_EVERY:
            self.last = now
            with db.engine.connect() as conn:
                conn.execute(update(ImportJob).where(ImportJob.id == self.job_id).values(
                    processed_rows=self.done, total_rows=self.total, heartbeat_at=clock.now()))
                conn.commit()


def run_job(job_id: int) -> ImportJob | None:
    """Run a queued job to its end (done or failed); the rows and the job's answer are committed together."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status != ImportStatus.queued:
        return job
    actor = db.session.get(User, job.created_by)
    path, language, dry_run, filename = Path(job.path), job.language, job.dry_run, job.filename
    total = org_import.count_rows(path)
    job.status, job.started_at, job.heartbeat_at, job.total_rows = ImportStatus.running, clock.now(), clock.now(), total
    db.session.commit()
    publisher = _Publisher(job_id, total)

    def finish(outcome: org_import.Outcome) -> None:
        row = db.session.get(ImportJob, job_id)
        row.counts, row.problems = org_import.outcome_json(outcome)
        row.status, row.finished_at, row.bad_rows = ImportStatus.done, clock.now(), outcome.bad_rows
        row.processed_rows = row.total_rows = max(publisher.done, outcome.rows)

    try:
        with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
            try:
                if actor is None or not actor.active:
                    raise org_import.ImportFailed(_("The account that started this import is no longer active."))
                org_import.import_workbook(actor, path, dry_run=dry_run, progress=publisher, filename=filename,
                                           finish=finish,
                                           batch=int(current_app.config.get("IMPORT_BATCH", org_import.BATCH)))
            except org_import.ImportFailed as exc:
                _failed(job_id, exc.message)
            except Exception:
                _failed(job_id, _("The import stopped on an unexpected error; nothing of the file was imported."))
                raise
    finally:
        with _LOCK:
            _LIVE.pop(job_id, None)
        path.unlink(missing_ok=True)
    return db.session.get(ImportJob, job_id)


def _failed(job_id: int, message: str) -> None:
    db.session.rollback()
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
        status=ImportStatus.failed, finished_at=clock.now(), message=message))
    db.session.commit()


# ----------------------------------------------------------------------------------------------- reading
def visible_job(actor: User, job_id: int) -> ImportJob:
    """A job this administrator started (a system administrator sees every job); NotFound otherwise."""
    require_admin(actor)
    job = db.session.get(ImportJob, job_id)
    if job is None or (job.created_by != actor.id and not (actor.role == Role.admin
                                                             and actor.organisation_id is None)):
        raise NotFound(_("Import %(id)s was not found.", id=job_id))
    return job


def recent_jobs(actor: User, limit: int = 10) -> list[ImportJob]:
    require_admin(actor)
    return list(db.session.scalars(select(ImportJob).where(ImportJob.created_by == actor.id)
                                   .order_by(ImportJob.id.desc()).limit(limit)))


@dataclass
class JobView:
    id: int
    status: str
    filename: str
    dry_run: bool
    processed: int
    total: int
    percent: int
    finished: bool
    bad_rows: int
    counts: dict[str, dict[str, int]]
    problems: list[dict[str, Any]]
    message: str | None
    created_at: Any

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "processed": self.processed, "total": self.total,
                "percent": self.percent, "finished": self.finished, "bad_rows": self.bad_rows,
                "message": self.message}


def view(job: ImportJob) -> JobView:
    """What the page shows of a job, with the live progress of a job running in this process."""
    processed, total = job.processed_rows, job.total_rows
    status, message = job.status.value, job.message
    with _LOCK:
        live = _LIVE.get(job.id)
    if job.status == ImportStatus.running and live is not None:
        processed, total = live
    elif job.status == ImportStatus.running and (job.heartbeat_at is None or clock.now() - job.heartbeat_at > STALE):
        status = "interrupted"
        message = _("This import was interrupted (the server stopped); nothing of the file was imported. Upload it "
                    "again.")
    finished = status in ("done", "failed", "interrupted")
    if job.status == ImportStatus.done:
        processed = total = max(total, processed)
    percent = 100 if job.status == ImportStatus.done else (min(99, processed * 100 // total) if total else 0)
    return JobView(job.id, status, job.filename, job.dry_run, processed, total, percent, finished, job.bad_rows,
                   json.loads(job.counts) if job.counts else {}, json.loads(job.problems) if job.problems else [],
                   message, job.created_at)
