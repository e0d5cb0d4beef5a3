"""The enterprises' quarterly and annual hazard reports (issue 14): an enterprise's reports and their figures, one
report's page with its open step, and the supervising unit's overview of a period with its reminders."""
from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.services import forms, periodic_reports
from app.services.capabilities import may_oversee_reports
from app.services.errors import Conflict, Forbidden, ValidationFailed
from app.web.inputs import int_arg
from app.web.pages import timeline
from app.web.pages.formview import step_views, typed_values

bp = Blueprint("reports", __name__)


def _is_bureau() -> bool:
    return may_oversee_reports(current_user)


@bp.get("/reports")
@login_required
def index():
    page = max(int_arg("page") or 1, 1)
    if _is_bureau():
        show = request.args.get("show") or None
        found = periodic_reports.overview(current_user, request.args.get("period") or None, show, page)
        return render_template("reports/overview.html", overview=found)
    return render_template("reports/index.html", page=periodic_reports.list_reports(current_user, page))


def _render(report_id: int, values=None, errors=None, status=200, refused=None, step_id: int | None = None):
    view = periodic_reports.report_view(current_user, report_id)
    steps = step_views(current_user, view.open_tasks, step_id, values, errors, refused)
    titles = {t.spec_name: t.title for t in view.steps}
    events = [(e, timeline.summary(e.action, json.loads(e.data or "{}"), titles.get(e.task_spec or "", "")))
              for e in reversed(view.events)]
    lost = refused if step_id not in {t.id for t in view.open_tasks} else None  # the step is gone: say so on top
    return render_template("reports/detail.html", view=view, report=view.report, steps=steps, errors=errors or {},
                           refused=lost, events=events, bureau=_is_bureau(),
                           records_figures=periodic_reports.records_figures), status


@bp.get("/reports/<int:report_id>")
@login_required
def detail(report_id: int):
    return _render(report_id)


@bp.post("/reports/<int:report_id>/steps/<int(max=2147483647):task_id>")
@login_required
def complete(report_id: int, task_id: int):
    """One open step of the report (every open step has its form on the page), as on the public report's page."""
    view = periodic_reports.report_view(current_user, report_id)
    task = next((t for t in view.open_tasks if t.id == task_id), None)
    if task is None:
        return _render(report_id, status=409, refused=_("This step is no longer open; nothing was changed."),
                       step_id=task_id)
    values = typed_values(forms.task_form(task))
    try:
        report = periodic_reports.complete_step(current_user, report_id, values, task_id)
    except ValidationFailed as exc:
        return _render(report_id, values, exc.fields or {"_form": exc.message}, 422, step_id=task_id)
    except (Conflict, Forbidden) as exc:
        return _render(report_id, values, status=exc.status, refused=exc.message, step_id=task_id)
    flash(_("Done. The report for %(period)s is now: %(status)s.", period=report.period,
            status=status_label(report.status.value)), "success")
    return redirect(url_for("reports.detail", report_id=report_id))


@bp.post("/reports/remind")
@login_required
def remind():
    period = request.form.get("period") or ""
    report_id = int_arg("report_id", request.form)
    count = periodic_reports.remind(current_user, period, report_id)
    flash(ngettext("Reminder sent to %(num)s enterprise.", "Reminder sent to %(num)s enterprises.", count) if count else
          _("No enterprise is late for this period: nobody was reminded."), "success" if count else "info")
    return redirect(url_for("reports.index", period=period or None))


def status_label(value: str) -> str:
    return {"preparing": _("being prepared"), "signing": _("waiting for the principal's signature"),
            "submitted": _("submitted")}.get(value, value)
