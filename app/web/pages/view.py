"""What templates need to show domain values: translated names, badge colours, local times, safe redirects."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.chinatime import china_time
from app.models import FINAL_STATUSES, HazardStatus, HumanTask, Role
from app.services import capabilities as caps
from app.services import checklists, forms, header, statuses, subjects, tasks
from app.services.errors import NotFound
from app.services.notifications import deadline_label

S = HazardStatus
STATUSES = {
    S.reported: _l("Newly reported"),
    S.assessing: _l("Assessing"),
    S.planning: _l("Planning"),
    S.approving: _l("Awaiting approval"),
    S.supervision_review: _l("Supervision review"),
    S.rectifying: _l("Rectifying"),
    S.reviewing: _l("Reviewing"),
    S.accepting: _l("Acceptance"),
    S.verifying: _l("Government verification"),
    S.writing_off: _l("Writing off"),
    S.closed: _l("Closed"),
    S.written_off: _l("Written off"),
    S.waiting: _l("Waiting"),
}
# The statuses a hazard with an open step can be in (the worklist's filter).
STEP_STATUSES = {s: label for s, label in STATUSES.items() if s not in FINAL_STATUSES | {S.reported, S.waiting}}
# Bootstrap colour per status: grey = not yet graded, blue = paperwork, amber = work on site, green = done.
STATUS_COLOURS = {
    S.reported: "secondary", S.assessing: "secondary", S.planning: "primary", S.approving: "primary",
    S.supervision_review: "info", S.rectifying: "warning", S.reviewing: "info", S.accepting: "info",
    S.verifying: "info", S.writing_off: "info", S.closed: "success", S.written_off: "success",
    S.waiting: "secondary",
}
GRADES = {"general": _l("General hazard"), "major": _l("Major hazard")}
GRADE_COLOURS = {"general": "secondary", "major": "danger"}
ROLES = {
    Role.officer: _l("Safety officer"),
    Role.principal: _l("Enterprise principal"),
    Role.inspector: _l("Inspector"),
    Role.admin: _l("Administrator"),
}
SORTS = {"created": _l("Newest first"), "-created": _l("Oldest first"), "deadline": _l("Deadline"),
         "number": _l("Number")}


def locale() -> str:
    return str(get_locale() or "zh")


def text_in(labels: dict[str, str] | None, fallback: str = "") -> str:
    """A {zh, en} label from a form definition, in the user's language."""
    if not labels:
        return fallback
    return labels.get(locale()) or labels.get("en") or fallback


def choice_label(form_key: str, field: str, value: Any) -> str:
    """The label of a choice from a form definition (hazard types, sources, ...), or the raw value."""
    try:
        spec = forms.get_form(form_key).field(field)
    except NotFound:
        spec = None
    return spec_choice_label(spec, value)


def spec_choice_label(spec: dict[str, Any] | None, value: Any) -> str:
    """The label of a choice in one field definition (of whichever form version), or the raw value."""
    for choice in (spec or {}).get("choices", []):
        if choice["value"] == value:
            return text_in(choice["label"], str(value))
    return "" if value is None else str(value)


def status_label(status: str | None) -> str:
    """A status in the user's language: a built-in one's translation, an added one's label (services/statuses)."""
    if status in STATUSES or not status:
        return str(STATUSES.get(status or "", ""))
    return statuses.label(status, locale()) or status


def status_choices(*, steps_only: bool = False) -> dict[str, str]:
    """The statuses a list filters by, in the user's language: the built-ins, then those administrators added.
    `steps_only`: what a hazard with an open step can be in (the worklist), else every one a hazard is shown in."""
    builtin = STEP_STATUSES if steps_only else {k: v for k, v in STATUSES.items() if k != S.waiting}
    added = {row.key: (row.label_en if locale() == "en" else row.label_zh) for row in statuses.custom()
             if not (steps_only and row.final)}
    return {str(k): str(v) for k, v in builtin.items()} | added


def grade_label(grade: str | None) -> str:
    return str(GRADES.get(grade or "", _("Not graded yet")))


def role_label(role: Role | str | None) -> str:
    try:
        return str(ROLES[Role(role)]) if role else ""
    except ValueError:
        return str(role)


def task_title(task: HumanTask | None = None, *, title: str | None = None, form_key: str | None = None) -> str:
    """A step's name in the user's language: the diagram names steps in Chinese, forms name them in both."""
    title = task.title if task is not None else title
    form_key = task.form_key if task is not None else form_key
    if locale() == "zh" or not form_key:
        return title or ""
    try:
        return text_in(forms.get_form(form_key).title, title or "")
    except NotFound:
        return title or ""


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC and shown in China Standard Time, where the users are."""
    return china_time(value, fmt) if value else ""


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_dt(value, "%Y-%m-%d")
    return value.isoformat()


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def money(value: Any) -> str:
    try:
        return f"¥{float(value):,.2f}".replace(".00", "")
    except (TypeError, ValueError):
        return str(value)


def can_act(task: HumanTask) -> bool:
    """Whether the signed-in user may work on this open task (asks the access rules, never guesses)."""
    return tasks.may_act(current_user, task)


def safe_next(target: str | None, fallback: str) -> str:
    """Only redirect to a path on this site (never to another host given in ?next=)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def schedule_text(schedule: str) -> str:
    """A checklist's crontab rule in words, in the user's language."""
    return checklists.describe_schedule(schedule, locale())


def urgency(task: HumanTask) -> str | None:
    return tasks.urgency(task, task.hazard)


def task_link(task: HumanTask) -> str:
    """Where a task on My work is done: its hazard's task page, or its periodic report's or public report's page."""
    return subjects.task_subject_link(task)


def evidence_kind_label(kind: str) -> str:
    """The name of a kind of evidence (forms.EVIDENCE_KINDS) in the user's language."""
    labels = {"photo_before": _("Photos when reported"), "photo_after": _("Photos after rectification"),
              "acceptance_report": _("Acceptance report"), "plan_document": _("Plan documents"),
              "notice": _("Notices"), "document": _("Documents")}
    return labels.get(kind, _("Documents"))


def init_app(app: Flask) -> None:
    filters = {"status_label": status_label, "grade_label": grade_label, "role_label": role_label,
               "local_dt": local_dt, "local_date": local_date, "file_size": file_size, "money": money,
               "schedule_text": schedule_text}
    app.jinja_env.filters.update(filters)
    app.jinja_env.globals.update(
        status_colour=lambda s: STATUS_COLOURS.get(s or "", "secondary"),
        grade_colour=lambda g: GRADE_COLOURS.get(g or "", "light"),
        text_in=text_in, choice_label=choice_label, spec_choice_label=spec_choice_label, task_title=task_title,
        can_act=can_act, status_choices=status_choices, lane_name=tasks.lane_name, why_waiting=tasks.why_waiting, urgency=urgency, task_link=task_link, evidence_kind_label=evidence_kind_label, deadline_label=deadline_label, STATUSES=STATUSES, STEP_STATUSES=STEP_STATUSES, GRADES=GRADES, SORTS=SORTS)

    @app.context_processor
    def page_context() -> dict[str, Any]:
        context: dict[str, Any] = {"locale": locale(), "unread_notifications": 0, "can": capabilities()}
        if request.blueprint not in (None, "api", "static") and current_user.is_authenticated:
            counts = header_counts()
            context.update(nav_counts=counts.tasks, unread_notifications=counts.unread_notifications,
                           open_checks_count=counts.open_checks,
                           extension_decisions_count=counts.extension_decisions)
        return context


def capabilities() -> caps.Capabilities:
    """What the signed-in user may do (`can.see_statistics` in templates), worked out once per request: the menus
    and buttons ask these, and the routes behind them refuse by the same rules (services/capabilities.py)."""
    if "capabilities" not in g:
        g.capabilities = caps.of(current_user)
    return g.capabilities


def header_counts() -> header.HeaderCounts:
    """The header's counts for the signed-in user, read once per request (in one statement).

    The worklist has counted its tasks exactly already (g.task_counts); other pages count the badge up to 99+.
    """
    if "header_counts" not in g:
        g.header_counts = header.header_counts(current_user, known_tasks=g.get("task_counts"))
    return g.header_counts
