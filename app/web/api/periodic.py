"""The enterprises' quarterly and annual reports (services/periodic_reports.py) under /api/v1/reports/periodic:
the list and one report in the caller's scope (the /reports pages' scope), and the bureau's reminders."""
from __future__ import annotations

from typing import Any

from app.services import periodic_reports
from app.web.api import report_schemas as rs
from app.web.api.blueprint import bp
from app.web.api.routes import ID, Extended, caller, current_steps, errors


@bp.route("/reports/periodic", methods=["GET"])
@bp.arguments(rs.PeriodicReportQuery, location="query")
@bp.response(200, rs.PeriodicReportPage)
@errors(401)
@bp.doc(summary="The enterprises' quarterly and annual reports the caller may see, newest period first: a bureau's "
                "jurisdiction, an enterprise's own")
def list_periodic_reports(args: dict[str, Any]):
    filters = periodic_reports.ReportFilters(period=args.get("period"), status=args.get("status"),
                                             late=args.get("late"))
    return periodic_reports.list_reports(caller(), args["page"], args["per_page"], filters)


@bp.route(f"/reports/periodic/<{ID}:report_id>", methods=["GET"])
@bp.response(200, rs.PeriodicReportDetail)
@errors(401, 404)
@bp.doc(summary="A report: its period, due date, state, figures, remarks, return reason, and every step open "
                "now with who may act")
def get_periodic_report(report_id: int):
    user = caller()
    view = periodic_reports.report_view(user, report_id)
    return Extended(view.report, figures=view.figures, figures_recorded=bool(view.report.figures),
                    current_tasks=current_steps(user, view.open_tasks))


@bp.route(f"/reports/periodic/<{ID}:report_id>/remind", methods=["POST"])
@bp.response(200, rs.Reminded)
@errors(401, 403, 404, 409)
@bp.doc(summary="Remind the enterprise of its report (the supervising unit): its safety officers and principals "
                "are notified; audited")
def remind_periodic_report(report_id: int):
    return {"reminded": periodic_reports.remind(caller(), None, report_id)}


@bp.route("/reports/periodic/remind", methods=["POST"])
@bp.arguments(rs.RemindQuery, location="query")
@bp.response(200, rs.Reminded)
@errors(401, 403)
@bp.doc(summary="Remind every late enterprise of the period in the caller's jurisdiction (the supervising unit); "
                "all or none, each audited")
def remind_late_periodic_reports(args: dict[str, Any]):
    return {"reminded": periodic_reports.remind(caller(), args["period"])}
