"""Plain-dict views of models, shared by the JSON API and pages that embed JSON."""
from __future__ import annotations

import json
from typing import Any

from app.models import Attachment, AuditEvent, Hazard, HumanTask


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def hazard_summary(h: Hazard) -> dict[str, Any]:
    return {
        "id": h.id, "number": h.number, "title": h.title, "status": h.status, "grade": h.grade,
        "enterprise_id": h.enterprise_id, "enterprise": h.enterprise.name if h.enterprise else None,
        "location": h.location, "current_step": h.current_step,
        "rectification_deadline": iso(h.rectification_deadline), "overdue": h.overdue, "listed": h.listed,
        "created_at": iso(h.created_at), "updated_at": iso(h.updated_at), "closed_at": iso(h.closed_at),
    }


def hazard_detail(h: Hazard, tasks: list[HumanTask], events: list[AuditEvent],
                  files: list[Attachment]) -> dict[str, Any]:
    out = hazard_summary(h)
    out.update({
        "description": h.description, "hazard_type": h.hazard_type, "source": h.source,
        "responsible_person": h.responsible_person, "notice_number": h.notice_number,
        "supervision_deadline": iso(h.supervision_deadline),
        "current_tasks": [task_summary(t) for t in tasks],
        "timeline": [event_view(e) for e in events],
        "attachments": [attachment_view(a) for a in files],
    })
    return out


def task_summary(t: HumanTask) -> dict[str, Any]:
    return {
        "id": t.id, "hazard_id": t.hazard_id, "name": t.spec_name, "title": t.title, "form": t.form_key,
        "role": t.role.value, "organisation_id": t.organisation_id, "assignee_id": t.assignee_id,
        "status": t.status.value, "due_at": iso(t.due_at), "created_at": iso(t.created_at),
        "completed_at": iso(t.completed_at),
    }


def event_view(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq, "action": e.action, "task": e.task_spec, "actor_id": e.actor_id,
        "actor": e.actor.display_name if e.actor else None, "at": iso(e.created_at), "data": json.loads(e.data),
    }


def attachment_view(a: Attachment) -> dict[str, Any]:
    return {"id": a.id, "name": a.original_name, "content_type": a.content_type, "kind": a.kind,
            "size": a.size, "sha256": a.sha256, "hazard_id": a.hazard_id, "created_at": iso(a.created_at)}
