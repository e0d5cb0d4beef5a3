"""A hazard's timeline: each audit event as a phrase in the user's language, with the values submitted.

PHRASES has one entry per action the services write with `audit.record` (tests/test_detail_page.py checks
that none is missing), so the timeline never shows a raw action name.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from app.models import AuditEvent, HumanTask, TaskStatus
from app.services import evidence, forms, hazards
from app.services.documents import KINDS as DOCUMENT_KINDS
from app.services.errors import NotFound
from app.services.notifications import deadline_label
from app.web.pages.view import local_date, task_title


def _date(value: Any) -> str:
    """An ISO date or datetime from event data as a local date ("" when absent or unreadable)."""
    try:
        return local_date(datetime.fromisoformat(str(value)))
    except ValueError:
        return ""


def _days(data: dict[str, Any]) -> int:
    try:
        return abs(int(data.get("days") or 0))
    except (TypeError, ValueError):
        return 0



def _document_label(kind: Any) -> str:
    return str(DOCUMENT_KINDS[kind].label) if kind in DOCUMENT_KINDS else str(kind or "")

def _reminder(data: dict[str, Any], step: str) -> str:
    days = _days(data)
    return ngettext("sent a reminder: the %(deadline)s (%(date)s) is in %(num)s day",
                    "sent a reminder: the %(deadline)s (%(date)s) is in %(num)s days", days,
                    deadline=deadline_label(data.get("deadline")), date=_date(data.get("deadline_at")))


def _overdue(data: dict[str, Any], step: str) -> str:
    return _("flagged the hazard overdue: the %(deadline)s (%(date)s) has passed",
             deadline=deadline_label(data.get("deadline")), date=_date(data.get("deadline_at")))


def _escalated(data: dict[str, Any], step: str) -> str:
    days = _days(data)
    if data.get("audience") == "bureau_head":
        return ngettext("escalated to the head of the bureau: %(num)s day past the %(deadline)s",
                        "escalated to the head of the bureau: %(num)s days past the %(deadline)s", days,
                        deadline=deadline_label(data.get("deadline")))
    return ngettext("escalated to the supervising inspector: %(num)s day past the %(deadline)s",
                    "escalated to the supervising inspector: %(num)s days past the %(deadline)s", days,
                    deadline=deadline_label(data.get("deadline")))


Phrase = Callable[[dict[str, Any], str], str]
PHRASES: dict[str, Phrase] = {
    # A hazard's own chain: what its timeline shows.
    "hazard_reported": lambda d, s: _("reported the hazard"),
    # The system chain (never a hazard's timeline, which enterprises read): the identity of a public reporter read.
    "reporter_details_read": lambda d, s: _("read the identity of the reporter of public report %(code)s",
                                            code=d.get("tracking_code", "")),
    "public_report_answered": lambda d, s: _("answered public report %(code)s", code=d.get("tracking_code", "")),
    "public_reward_proposed": lambda d, s: _("proposed a reward for public report %(code)s",
                                             code=d.get("tracking_code", "")),
    "public_reward_decided": lambda d, s: _("decided the reward for public report %(code)s",
                                            code=d.get("tracking_code", "")),
    # A public report's triage chain (services/public_answers.py).
    "triage_started": lambda d, s: _("started the triage of public report %(code)s", code=d.get("tracking_code", "")),
    "public_reward_declined": lambda d, s: _("proposed no reward for public report %(code)s",
                                             code=d.get("tracking_code", "")),
    "task_completed": lambda d, s: _("completed “%(step)s”", step=s),
    "task_claimed": lambda d, s: _("claimed “%(step)s”", step=s),
    "task_released": lambda d, s: _("released “%(step)s”", step=s),
    "task_delegated": lambda d, s: _("handed “%(step)s” to %(name)s", step=s, name=d.get("to", "")),
    "timer_fired": lambda d, s: _("recorded that the %(deadline)s was reached", deadline=deadline_label(d.get("deadline"))),
    "timer_failed": lambda d, s: _("could not run a deadline timer (%(n)s attempts); an administrator is needed",
                                   n=d.get("attempts", "?")),
    "deadline_reminder": _reminder,
    "deadline_overdue": _overdue,
    "deadline_escalated": _escalated,
    "extension_requested": lambda d, s: _("asked to extend the deadline to %(date)s", date=d.get("requested", "")),
    "extension_approved": lambda d, s: _("extended the deadline to %(date)s", date=d.get("to", "")),
    "extension_refused": lambda d, s: _("refused to extend the deadline"),
    "instance_migrated": lambda d, s: _("moved the hazard to process version %(n)s", n=d.get("to_version", "")),
    "task_reissued": lambda d, s: _("re-issued “%(step)s” with version %(n)s of its form", step=s,
                                    n=d.get("to_version", "")),
    # A periodic report's chain (services/periodic_reports.py): its page lists these.
    "report_opened": lambda d, s: _("opened the hazard report for %(period)s, due by %(date)s",
                                    period=d.get("period", ""), date=_date(d.get("due_date"))),
    "report_late": lambda d, s: _("marked the report late: it was due by %(date)s", date=_date(d.get("due_date"))),
    "report_reminded": lambda d, s: _("reminded the enterprise to submit its report for %(period)s",
                                      period=d.get("period", "")),
    # The system chain (processes, forms, checklists): not on a hazard's timeline, phrased for audit views.
    "process_deployed": lambda d, s: _("deployed process version %(n)s", n=d.get("number", "")),
    "process_activated": lambda d, s: _("made process version %(n)s active again", n=d.get("number", "")),
    "process_rule_added": lambda d, s: _("added a rule: matching new hazards start %(key)s",
                                         key=d.get("process_key", "")),
    "process_rule_removed": lambda d, s: _("removed the rule for %(key)s", key=d.get("process_key", "")),
    "instances_migrated": lambda d, s: ngettext("moved %(num)s hazard to process version %(version)s",
                                                "moved %(num)s hazards to process version %(version)s",
                                                len(d.get("moved") or []), version=d.get("to_version", "")),
    "form_saved": lambda d, s: _("saved version %(n)s of the form “%(form)s”", n=d.get("number", ""),
                                 form=d.get("form", "")),
    "document_template_saved": lambda d, s: _("saved version %(n)s of the template of the %(kind)s",
                                              n=d.get("number", ""), kind=_document_label(d.get("kind"))),
    "document_template_restored": lambda d, s: _("restored the default template of the %(kind)s",
                                                 kind=_document_label(d.get("kind"))),
    "checklist_created": lambda d, s: _("created the checklist “%(title)s”", title=d.get("title", "")),
    "checklist_changed": lambda d, s: _("changed the checklist “%(title)s”", title=d.get("title", "")),
    "checklist_retired": lambda d, s: _("retired the checklist “%(title)s”", title=d.get("title", "")),
    "checklist_reactivated": lambda d, s: _("put the checklist “%(title)s” back into use", title=d.get("title", "")),
    "check_completed": lambda d, s: _("completed the check scheduled for %(date)s",
                                      date=_date(d.get("scheduled_for"))),
    "check_missed": lambda d, s: _("recorded a missed check (%(post)s, scheduled for %(date)s)",
                                   post=d.get("post", ""), date=_date(d.get("scheduled_for"))),
    # The organisation tree (services/orgs.py); supervision_moved is on the hazard's own timeline.
    "supervision_moved": lambda d, s: _("moved the supervision to %(unit)s (the enterprise moved to another region)",
                                        unit=d.get("to_unit_name", "")),
    "region_created": lambda d, s: _("added the region “%(name)s”", name=d.get("name", "")),
    "region_updated": lambda d, s: _("changed the region “%(name)s”", name=d.get("name", "")),
    "region_closed": lambda d, s: _("closed the region “%(name)s”", name=d.get("name", "")),
    "region_reopened": lambda d, s: _("reopened the region “%(name)s”", name=d.get("name", "")),
    "unit_created": lambda d, s: _("added the government unit “%(name)s”", name=d.get("name", "")),
    "unit_updated": lambda d, s: _("changed the government unit “%(name)s”", name=d.get("name", "")),
    "unit_closed": lambda d, s: _("closed the government unit “%(name)s”", name=d.get("name", "")),
    "unit_reopened": lambda d, s: _("reopened the government unit “%(name)s”", name=d.get("name", "")),
    "enterprise_created": lambda d, s: _("registered the enterprise “%(name)s”", name=d.get("name", "")),
    "enterprise_updated": lambda d, s: _("changed the record of the enterprise “%(name)s”", name=d.get("name", "")),
    "enterprise_closed": lambda d, s: _("closed the enterprise “%(name)s”", name=d.get("name", "")),
    "enterprise_reopened": lambda d, s: _("reopened the enterprise “%(name)s”", name=d.get("name", "")),
    # People (services/users.py): the account's user name is in the event; a password never is.
    "user_created": lambda d, s: _("created the account %(name)s", name=d.get("username", "")),
    "user_updated": lambda d, s: _("changed the account %(name)s", name=d.get("username", "")),
    "user_deactivated": lambda d, s: _("deactivated the account %(name)s", name=d.get("username", "")),
    "user_reactivated": lambda d, s: _("reactivated the account %(name)s", name=d.get("username", "")),
    "status_added": lambda d, s: _("added the hazard status “%(label)s”",
                                   label=f"{d.get('label_zh', '')} / {d.get('label_en', '')}"),
    # Positions (services/positions.py).
    "position_created": lambda d, s: _("added the position “%(name)s”", name=d.get("name", "")),
    "position_changed": lambda d, s: _("changed the position “%(name)s”", name=d.get("name", "")),
    "position_retired": lambda d, s: _("retired the position “%(name)s”", name=d.get("name", "")),
    "position_reactivated": lambda d, s: _("put the position “%(name)s” back into use", name=d.get("name", "")),
    "password_reset": lambda d, s: _("reset the password of %(name)s", name=d.get("username", "")),
    "password_changed": lambda d, s: _("changed their own password"),
    "profile_updated": lambda d, s: _("corrected their own contact details"),
    # Bulk onboarding (services/org_import.py): one event per import, and one per batch of records it created.
    "org_import": lambda d, s: _("imported the workbook %(file)s", file=d.get("file") or ""),
    "import_created": lambda d, s: _("created %(n)s records of the sheet %(sheet)s by import", n=d.get("count", 0),
                                     sheet=d.get("sheet", "")),
}


def summary(action: str, data: dict[str, Any], step: str | None = None) -> str:
    """What the actor did, as a phrase in the user's language (the actor's name goes before it)."""
    phrase = PHRASES.get(action)
    # An action added without a phrase still reads as words, never as an identifier.
    return phrase(data, step or "") if phrase else action.replace("_", " ")


def versions_used(events: list[AuditEvent], tasks: list[HumanTask]) -> dict[int, int | None]:
    """For each task_completed event (by id), the form version its task was given.

    New events carry `form_version_id`; older ones are matched to the task completed at that step,
    in order (the n-th completion of a step is the n-th completed task of that step).
    """
    done: dict[str, list[HumanTask]] = defaultdict(list)
    for task in sorted((t for t in tasks if t.status == TaskStatus.completed),
                       key=lambda t: (t.completed_at, t.id)):
        done[task.spec_name].append(task)
    used: dict[int, int | None] = {}
    for event in events:
        if event.action != "task_completed":
            continue
        queue = done.get(event.task_spec or "")
        task = queue.pop(0) if queue else None
        recorded = json.loads(event.data).get("form_version_id")
        used[event.id] = recorded if isinstance(recorded, int) else (task.form_version_id if task else None)
    return used


def _form(form_key: str | None, version_id: int | None) -> forms.FormDefinition | None:
    """The form version used for a submission; the active one when unknown; None when the form is gone."""
    if not form_key:
        return None
    if version_id is not None:
        try:
            return forms.form_version(version_id)
        except NotFound:
            pass
    try:
        return forms.get_form(form_key)
    except NotFound:
        return None


def submission_view(submission: evidence.Submission, titles: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A step's submission shown as evidence on a task page: its timeline entry, with only the fields asked for."""
    recorded = json.loads(submission.event.data).get("form_version_id")
    view = event_view(submission.event, titles, recorded if isinstance(recorded, int) else
                      (submission.task.form_version_id if submission.task else None))
    if submission.fields is not None:
        view["rows"] = [(spec, value) for spec, value in view["rows"] if spec["name"] in submission.fields]
    view["step"] = task_title(submission.task) if submission.task else view["summary"]
    return view


def event_view(event: AuditEvent, titles: dict[str, tuple[str, str]], version_id: int | None = None
               ) -> dict[str, Any]:
    """One timeline entry: who did what, when, and the submitted values labelled as the form read then."""
    data = json.loads(event.data)
    form_key, values, step = None, {}, None
    if event.action == "hazard_reported":
        form_key, values = hazards.REPORT_FORM, data
    elif event.action == "task_completed":
        form_key, values = data.get("form"), data.get("data") or {}
        step = task_title(title=data.get("task"), form_key=form_key)
    elif event.task_spec in titles:
        title, key = titles[event.task_spec]
        step = task_title(title=title, form_key=key)
    rows: list[tuple[dict[str, Any], Any]] = []
    if form_key:
        form = _form(form_key, version_id)
        specs = form.fields if form is not None else [{"name": k, "label": {}} for k in values]
        rows = [(spec, values[spec["name"]]) for spec in specs if spec["name"] in values]
    elif event.action == "extension_requested" and data.get("reason"):
        rows = [({"name": "reason", "label": {"en": "Reason", "zh": "理由"}}, data["reason"])]
    return {"event": event, "summary": summary(event.action, data, step), "rows": rows, "form_key": form_key}
